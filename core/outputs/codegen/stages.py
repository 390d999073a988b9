"""Each stage kind as code: `ds = ds.…` lines that do what `core.engine.stages` builds.

A stage's function becomes a module-level definition named as the stage's function is (`decode_cv2`,
`resize`); the map calls it on the features and passes the label through.
"""
from __future__ import annotations

from core.outputs.codegen.emitters import Code, Emitters, StageContext, call, literal, parallel_calls
from core.outputs.codegen.sources import PARSE_IMAGE_EXAMPLE
from core.spec.kinds.stages import STAGES

STAGE_EMITTERS = Emitters(STAGES)
emits = STAGE_EMITTERS.emits

# The functions a map applies to the features, as the engine's MAP_FUNCTIONS do; (source, imports, sized).
MAP_FUNCTIONS = {
    "read_file": ('''\
def read_file(path):
    return tf.io.read_file(path)
''', (), False),
    "decode_tf": ('''\
def decode_tf(encoded):
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image
''', (), False),
    "decode_cv2": ('''\
def cv2_decoded(data):
    """OpenCV's decode, run by tf.numpy_function (the GIL is held while it runs). Defined out here, not
    inside decode_cv2: AutoGraph would convert it with decode_cv2 and slow every call it makes."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("OpenCV cannot decode this image (corrupt or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def decode_cv2(encoded):
    image = tf.numpy_function(cv2_decoded, [encoded], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image
''', ("import cv2", "import numpy as np"), False),
    "resize": ('''\
def resize(image, size):
    """tf.image's resize, rounded back to the image's own dtype as OpenCV's is."""
    resized = tf.image.resize(image, [size, size])
    return tf.saturate_cast(tf.round(resized), image.dtype) if image.dtype.is_integer else resized
''', (), True),
    "resize_cv2": ('''\
def cv2_resized(image, size):
    """OpenCV's resize, run by tf.numpy_function (out here, as cv2_decoded is)."""
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def resize_cv2(image, size):
    resized = tf.numpy_function(functools.partial(cv2_resized, size=size), [image], image.dtype, stateful=False)
    resized.set_shape([size, size, 3])
    return resized
''', ("import cv2", "import functools"), True),
    "normalize": ('''\
def normalize(x):
    """Features as float32; images' bytes scaled to [0, 1]."""
    return tf.cast(x, tf.float32) * (1.0 / 255.0 if x.dtype == tf.uint8 else 1.0)
''', (), False),
    "random_flip": ('''\
def random_flip(image):
    return tf.image.random_flip_left_right(image)
''', (), False),
    "random_crop": ('''\
def random_crop(image, size):
    return tf.image.random_crop(image, [size, size, tf.shape(image)[-1]])
''', (), True),
}

FILTER_PREDICATES = {
    "label_positive": '''\
def label_positive(x, y):
    return tf.reduce_all(tf.cast(y, tf.float32) > 0)
''',
    "finite": '''\
def finite(x, y):
    return tf.reduce_all(tf.math.is_finite(tf.cast(x, tf.float32)))
''',
}

INTERLEAVE_FUNCTIONS = {
    "read_file": ('read_one_file', '''\
def read_one_file(path, label):
    return tf.data.Dataset.from_tensors((tf.io.read_file(path), label))
''', ()),
    "tfrecord_file": ('read_tfrecord_file', '''\
def read_tfrecord_file(path, label):
    return tf.data.TFRecordDataset(path).map(parse_image_example)
''', (PARSE_IMAGE_EXAMPLE,)),
}

CONCATENATE_FEATURES = '''\
def concatenate_features(a, b):
    """Zipped elements as one: both features side by side, the first's label."""
    return tf.concat([tf.cast(a[0], tf.float32), tf.cast(b[0], tf.float32)], -1), a[1]
'''

SIMULATED_LATENCY = '''\
def simulated_latency(ds, ms, calls=None):
    """Each element waits `ms` as I/O would, using no CPU: tf.data's own sleep, in C++ threads with no
    GIL; `calls` elements wait at once, side by side in a parallel interleave."""
    from tensorflow.python.data.experimental.ops.testing import sleep  # tf.data's own (private) sleep

    microseconds = int(round(ms * 1000))
    if calls is None:
        return ds.apply(sleep(microseconds))
    return ds.interleave(lambda x, y: tf.data.Dataset.from_tensors((x, y)).apply(sleep(microseconds)),
                         cycle_length=calls, block_length=1, num_parallel_calls=calls, deterministic=True)
'''

CPU_WORK = '''\
def burn(iterations):
    """Busy CPU work: `iterations` rounds of a small vector computation."""
    values = tf.linspace(0.0, 1.0, 256)

    def body(i, total):
        return i + 1, total + tf.reduce_sum(tf.sin(values + tf.cast(i, tf.float32)))

    return tf.while_loop(lambda i, total: i < iterations, body, (tf.constant(0), tf.constant(0.0)))[1]


@functools.lru_cache(maxsize=1)
def burn_iterations_per_ms():
    """How many rounds of `burn` take a millisecond here, inside tf.data where they will run."""
    iterations, rounds = 2000, 4
    options = tf.data.Options()
    options.autotune.enabled = False
    elements = iter(tf.data.Dataset.range(rounds + 1).map(lambda _: burn(tf.constant(iterations)))
                    .with_options(options))
    next(elements)  # the first element pays for starting the iterator
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        next(elements)
        best = min(best, time.perf_counter() - start)
    return iterations / (best * 1000.0)


def cpu_work(ds, ms, calls=None):
    """Each element costs `ms` of busy CPU work first."""
    iterations = max(1, round(ms * burn_iterations_per_ms()))

    def work(x, y):
        # The work's result must reach the element, or tf.data prunes the loop as dead code: the total
        # is never NaN, which no optimizer can know.
        total = burn(tf.constant(iterations))
        return tf.cond(tf.math.is_nan(total), lambda: tf.zeros_like(x), lambda: tf.identity(x)), y

    return ds.map(work, num_parallel_calls=calls)
'''


@emits("map")
def _map(params, ctx: StageContext) -> Code:
    name = params["fn"]
    source, imports, sized = MAP_FUNCTIONS[name]
    applied = f"{name}(x, {params['size']})" if sized else f"{name}(x)"
    lines = [call("map", f"lambda x, y: ({applied}, y)",
                  num_parallel_calls=parallel_calls(params["num_parallel_calls"], ctx))]
    if params["skip_corrupt"]:
        lines.append("ds = ds.ignore_errors()  # skip elements whose file cannot be read or decoded")
    return Code(tuple(lines), (source,), imports)


@emits("batch")
def _batch(params, ctx: StageContext) -> Code:
    calls = params["num_parallel_calls"]
    return Code((call("batch", str(params["batch_size"]), drop_remainder=str(params["drop_remainder"]),
                      num_parallel_calls=None if calls is None else parallel_calls(calls, ctx)),))


@emits("padded_batch")
def _padded_batch(params, ctx: StageContext) -> Code:
    return Code((call("padded_batch", str(params["batch_size"]), drop_remainder=str(params["drop_remainder"])),))


@emits("shuffle")
def _shuffle(params, ctx: StageContext) -> Code:
    return Code((call("shuffle", str(params["buffer_size"]), seed=ctx.seed,
                      reshuffle_each_iteration=str(params["reshuffle_each_iteration"])),))


@emits("filter")
def _filter(params, ctx: StageContext) -> Code:
    predicate = params["predicate"]
    return Code((call("filter", predicate),), (FILTER_PREDICATES[predicate],))


@emits("repeat")
def _repeat(params, ctx: StageContext) -> Code:
    return Code((call("repeat", *(() if params["count"] == -1 else (str(params["count"]),))),))


@emits("cache")
def _cache(params, ctx: StageContext) -> Code:
    return Code((call("cache", *((repr(params["filename"]),) if params["filename"] else ())),))


@emits("interleave")
def _interleave(params, ctx: StageContext) -> Code:
    name, source, more = INTERLEAVE_FUNCTIONS[params["fn"]]
    return Code((call("interleave", name, cycle_length="1" if ctx.serial else literal(params["cycle_length"]),
                      block_length=str(params["block_length"]),
                      num_parallel_calls=parallel_calls(params["num_parallel_calls"], ctx)),), (*more, source))


@emits("flat_map")
def _flat_map(params, ctx: StageContext) -> Code:
    if params["fn"] == "unbatch":
        return Code((call("flat_map", "lambda x, y: tf.data.Dataset.from_tensor_slices((x, y))"),))
    return Code((call("flat_map", f"lambda x, y: tf.data.Dataset.from_tensors((x, y)).repeat({params['n']})"),))


@emits("shard")
def _shard(params, ctx: StageContext) -> Code:
    return Code((call("shard", str(params["num_shards"]), str(params["index"])),))


@emits("zip")
def _zip(params, ctx: StageContext) -> Code:
    name, branch = ctx.emit_branch(params["branch"], ctx.stage_id)
    return branch + Code((f"ds = tf.data.Dataset.zip((ds, {name}())).map(concatenate_features)",),
                         (CONCATENATE_FEATURES,))


@emits("concatenate")
def _concatenate(params, ctx: StageContext) -> Code:
    name, branch = ctx.emit_branch(params["branch"], ctx.stage_id)
    return branch + Code((call("concatenate", f"{name}()"),))


@emits("prefetch")
def _prefetch(params, ctx: StageContext) -> Code:
    if ctx.serial:
        return Code(("# prefetch left out: fed as with feed_dict, nothing is made ahead",))
    return Code((call("prefetch", literal(params["buffer_size"])),))


@emits("prefetch_to_device")
def _prefetch_to_device(params, ctx: StageContext) -> Code:
    if ctx.serial:
        return Code(("# prefetch_to_device left out: fed as with feed_dict, nothing is made ahead",))
    device = params["device"]
    where = '"/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"' if device == "auto" else repr(device)
    return Code((f"ds = ds.apply(tf.data.experimental.prefetch_to_device({where}, {params['buffer_size']}))",))


LOCAL_SERVICE = '''\
SERVERS = []  # tf.data service's servers stop when their objects go: kept for the script's length


def start_service_workers(workers, dispatcher=None):
    """`workers` tf.data service workers in this process, with a dispatcher of their own unless one is
    given; returns the dispatcher's address. They listen on every interface, without authentication."""
    service = tf.data.experimental.service
    if dispatcher is None:
        SERVERS.append(service.DispatchServer())
        dispatcher = SERVERS[-1].target
    for _ in range(workers):
        SERVERS.append(service.WorkerServer(service.WorkerConfig(dispatcher_address=dispatcher.split("://")[1])))
    return dispatcher
'''


# Python's own exit tears down tf.data service servers of its process that still run Python functions, and
# that aborts (std::terminate); stopping them first can hang. The script is done by then: it leaves at once.
LEAVE_AT_ONCE = ("# the in-process tf.data service servers could abort Python's exit: all is said, leave now",
                 "sys.stdout.flush()", "os._exit(0)")


@emits("tf_data_service")
def _tf_data_service(params, ctx: StageContext) -> Code:
    """In the script, the workers share its process (Pipescope starts each in a process of its own)."""
    dispatcher, workers = params["dispatcher"], params["workers"]
    if dispatcher and not workers:
        start = f"service = {dispatcher!r}"
    else:
        start = f"service = start_service_workers({workers}{', ' + repr(dispatcher) if dispatcher else ''})"
    policy = f"tf.data.experimental.service.ShardingPolicy.{params['processing_mode'].upper()}"
    distribute = (f"ds = ds.apply(tf.data.experimental.service.distribute(processing_mode={policy}, "
                  "service=service))")
    if not workers:
        return Code((start, distribute))
    return Code((start, distribute), (LOCAL_SERVICE,), ("import os", "import sys"), LEAVE_AT_ONCE)


def _simulated_cost(function: str, source: str, imports: tuple, params, ctx: StageContext) -> Code:
    if params["ms"] <= 0:
        return Code((f"# {ctx.stage_id}: {function} of 0 ms, nothing to do",))
    calls = parallel_calls(params["num_parallel_calls"], ctx)
    arguments = f"ds, {params['ms']}" + (f", calls={calls}" if calls else "")
    return Code((f"ds = {function}({arguments})",), (source,), imports)


@emits("latency")
def _latency(params, ctx: StageContext) -> Code:
    return _simulated_cost("simulated_latency", SIMULATED_LATENCY, (), params, ctx)


@emits("cpu_work")
def _cpu_work(params, ctx: StageContext) -> Code:
    return _simulated_cost("cpu_work", CPU_WORK, ("import functools", "import time"), params, ctx)
