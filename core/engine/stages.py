"""How each stage kind becomes tf.data: one builder per kind the catalog declares.

Elements flowing between stages are `(features, label)` pairs. A stage's
functions run in a name scope of its id, so failures name the stage. The
transformations are not given `name=`: tf.data's live model names its nodes by
type whatever the name (TensorFlow 2.21), so it would not help to find a
stage's node there (see `core.engine.live_model`).
"""
from __future__ import annotations

import functools
import time

import numpy as np
from dataclasses import dataclass
from typing import Callable, Optional

from core.engine.builders import Builders
from core.engine.precise_time import PreciseSleeper
from core.engine.sources import parse_image_example, unreadable_files
from core.engine.service import BuildResources, ship_to_service
from core.engine.tf_runtime import tensorflow
from core.spec.kinds.stages import STAGES
from core.spec.params import AUTOTUNE, SpecError
from core.spec.pipeline import Branch

STAGE_BUILDERS = Builders(STAGES)
builds = STAGE_BUILDERS.builds


@dataclass
class BuildContext:
    """What a stage needs to know beyond its own parameters."""

    stage_id: str
    seed: int
    serial: bool  # feed_dict: produce each batch strictly before it is fed
    build_branch: Callable  # Branch -> tf.data.Dataset
    # What the built pipeline holds beyond the dataset (servers, processes): a stage enters it here, and
    # closing the feeder closes it, when the run ends or a what-if change rebuilds the pipeline. None where
    # the dataset is built for a moment only (analysis, tests): a stage that needs one says so.
    resources: Optional[BuildResources] = None
    upstream: Optional[Branch] = None  # the source and the stages before this one, as described


def _parallelism(value, ctx: BuildContext):
    tf = tensorflow()

    if ctx.serial or value == 1:
        return None  # a "parallel" map of 1 still computes one element ahead: 1 means one at a time
    return tf.data.AUTOTUNE if value == AUTOTUNE else value


def _buffer(value):
    tf = tensorflow()

    return tf.data.AUTOTUNE if value == AUTOTUNE else value


# ---------------------------------------------------------------- map functions


def _read_file(x, params):
    tf = tensorflow()

    return tf.io.read_file(x)


def _decode_tf(x, params):
    tf = tensorflow()

    image = tf.io.decode_image(x, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


# The Python that tf.numpy_function runs is defined at module level: a function defined inside a map's
# function is converted by AutoGraph along with it, and then every call it makes goes through AutoGraph's
# converted_call, holding the GIL (in images_cv2, py-spy put half the pipeline threads' GIL time there).


def _cv2_decoded(encoded: bytes) -> np.ndarray:
    import cv2  # deferred: OpenCV loads only for pipelines that use it

    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("OpenCV cannot decode this image (corrupt or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _cv2_resized(image: np.ndarray, size: int) -> np.ndarray:
    import cv2  # deferred: OpenCV loads only for pipelines that use it

    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _decode_cv2(x, params):
    tf = tensorflow()

    image = tf.numpy_function(_cv2_decoded, [x], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image


def _resize(x, params):
    tf = tensorflow()

    size = params["size"]
    resized = tf.image.resize(x, [size, size])
    return tf.saturate_cast(tf.round(resized), x.dtype) if x.dtype.is_integer else resized  # same dtype as OpenCV


def _resize_cv2(x, params):
    tf = tensorflow()

    size = params["size"]
    image = tf.numpy_function(functools.partial(_cv2_resized, size=size), [x], x.dtype, stateful=False)
    image.set_shape([size, size, 3])
    return image


def _normalize(x, params):
    tf = tensorflow()

    scale = 1.0 / 255.0 if x.dtype == tf.uint8 else 1.0
    return tf.cast(x, tf.float32) * scale


def _random_flip(x, params):
    tf = tensorflow()

    return tf.image.random_flip_left_right(x)


def _random_crop(x, params):
    tf = tensorflow()

    size = params["size"]
    return tf.image.random_crop(x, [size, size, tf.shape(x)[-1]])


MAP_FUNCTIONS = {
    "read_file": _read_file,
    "decode_tf": _decode_tf,
    "decode_cv2": _decode_cv2,
    "resize": _resize,
    "resize_cv2": _resize_cv2,
    "normalize": _normalize,
    "random_flip": _random_flip,
    "random_crop": _random_crop,
}


def _named(ctx: BuildContext, fn):
    """Wrap a (x, y) function so its ops carry the stage id, which failures then name."""
    tf = tensorflow()

    def wrapped(x, y):
        with tf.name_scope(ctx.stage_id):
            return fn(x, y)

    return wrapped


def _name_unreadable_files(params, spec) -> Optional[str]:
    """After this stage failed: the source's files its function cannot read, for the message."""
    shown = 3
    files = unreadable_files(spec, params["fn"], limit=shown + 1)
    if not files:
        return None
    more = " and more" if len(files) > shown else ""
    return f"unreadable: {', '.join(files[:shown])}{more} (skip_corrupt skips such files)"


@builds("map", failure_detail=_name_unreadable_files)
def _build_map(ds, params, ctx):
    fn = MAP_FUNCTIONS[params["fn"]]
    mapped = ds.map(_named(ctx, lambda x, y: (fn(x, params), y)),
                    num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))
    return mapped.ignore_errors() if params["skip_corrupt"] else mapped


@builds("batch")
def _build_batch(ds, params, ctx):
    calls = params["num_parallel_calls"]
    return ds.batch(params["batch_size"], drop_remainder=params["drop_remainder"],
                    num_parallel_calls=None if calls is None else _parallelism(calls, ctx))


@builds("padded_batch")
def _build_padded_batch(ds, params, ctx):
    return ds.padded_batch(params["batch_size"], drop_remainder=params["drop_remainder"])


@builds("shuffle")
def _build_shuffle(ds, params, ctx):
    return ds.shuffle(params["buffer_size"], seed=ctx.seed,
                      reshuffle_each_iteration=params["reshuffle_each_iteration"])


def _keep_label_positive(x, y):
    tf = tensorflow()

    return tf.reduce_all(tf.cast(y, tf.float32) > 0)


def _keep_finite(x, y):
    tf = tensorflow()

    return tf.reduce_all(tf.math.is_finite(tf.cast(x, tf.float32)))


FILTER_PREDICATES = {"label_positive": _keep_label_positive, "finite": _keep_finite}


@builds("filter")
def _build_filter(ds, params, ctx):
    return ds.filter(_named(ctx, FILTER_PREDICATES[params["predicate"]]))


@builds("repeat")
def _build_repeat(ds, params, ctx):
    return ds.repeat(None if params["count"] == -1 else params["count"])


@builds("cache")
def _build_cache(ds, params, ctx):
    return ds.cache(params["filename"])


def _read_one_file(x, y):
    tf = tensorflow()

    return tf.data.Dataset.from_tensors((tf.io.read_file(x), y))


def _read_tfrecord_file(x, y):
    tf = tensorflow()

    return tf.data.TFRecordDataset(x).map(parse_image_example)


INTERLEAVE_FUNCTIONS = {"read_file": _read_one_file, "tfrecord_file": _read_tfrecord_file}


@builds("interleave")
def _build_interleave(ds, params, ctx):
    cycle = params["cycle_length"]
    cycle = 1 if ctx.serial else _buffer(cycle)
    return ds.interleave(_named(ctx, INTERLEAVE_FUNCTIONS[params["fn"]]), cycle_length=cycle,
                         block_length=params["block_length"],
                         num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))


@builds("flat_map")
def _build_flat_map(ds, params, ctx):
    tf = tensorflow()

    if params["fn"] == "unbatch":
        return ds.flat_map(lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)))
    copies = params["n"]
    return ds.flat_map(lambda x, y: tf.data.Dataset.from_tensors((x, y)).repeat(copies))


@builds("shard")
def _build_shard(ds, params, ctx):
    return ds.shard(params["num_shards"], params["index"])


def _combine_with_branch(ds, params, ctx, what: str, combine):
    """`combine(main, branch)`; shapes or types that do not fit name the stage's branch."""
    tf = tensorflow()

    branch = ctx.build_branch(params["branch"])
    try:
        return combine(ds, branch)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
        raise SpecError(f"stages.{ctx.stage_id}.branch: cannot {what} with the main pipeline ({error})") from None


def _zip_concatenating_features(main, branch):
    tf = tensorflow()

    def merge(a, b):
        return tf.concat([tf.cast(a[0], tf.float32), tf.cast(b[0], tf.float32)], -1), a[1]

    return tf.data.Dataset.zip((main, branch)).map(merge)


@builds("zip")
def _build_zip(ds, params, ctx):
    return _combine_with_branch(ds, params, ctx, "zip", _zip_concatenating_features)


@builds("concatenate")
def _build_concatenate(ds, params, ctx):
    return _combine_with_branch(ds, params, ctx, "concatenate", lambda main, branch: main.concatenate(branch))


@builds("prefetch")
def _build_prefetch(ds, params, ctx):
    if ctx.serial:
        return ds
    return ds.prefetch(_buffer(params["buffer_size"]))


@builds("tf_data_service")
def _build_tf_data_service(ds, params, ctx):
    return ship_to_service(ds, params, ctx)


@builds("prefetch_to_device")
def _build_prefetch_to_device(ds, params, ctx):
    tf = tensorflow()

    if ctx.serial:
        return ds  # validation keeps it from feed_dict's own stages; a side branch's is left out
    device = params["device"]
    if device == "auto":
        device = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    return ds.apply(tf.data.experimental.prefetch_to_device(device, params["buffer_size"]))


# ---------------------------------------------------------------- simulated cost


def _wait_then_pass(token, seconds: float, sleeper: PreciseSleeper):
    sleeper.sleep(seconds)  # waits with the GIL released; only its last few µs spin
    return token


def _sleep_op(ms: float, sleeper: PreciseSleeper):
    """A tensor that, when computed, waits `ms` without using the CPU (as I/O does).

    Used where several elements wait at once; one at a time, `_build_latency` uses
    tf.data's own sleep, which needs no hop into Python."""
    tf = tensorflow()

    wait = functools.partial(_wait_then_pass, seconds=ms / 1000.0, sleeper=sleeper)
    return tf.numpy_function(wait, [tf.constant(0, tf.int32)], tf.int32, stateful=True)


def _pass_through_after(ds, params, ctx, make_cost):
    """Elements unchanged, each only once the op from `make_cost()` has run (a simulated cost)."""
    tf = tensorflow()

    if params["ms"] <= 0:
        return ds

    def delayed(x, y):
        with tf.control_dependencies([make_cost()]):
            return tf.identity(x), tf.identity(y)

    return ds.map(_named(ctx, delayed), num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))


@builds("latency")
def _build_latency(ds, params, ctx):
    if params["ms"] > 0:
        calls = _parallelism(params["num_parallel_calls"], ctx)
        sleeping = _sleep_each_element(ds, params["ms"]) if calls is None else \
            _sleep_elements_at_once(ds, params["ms"], calls)
        if sleeping is not None:
            return sleeping
    sleeper = PreciseSleeper()
    return _pass_through_after(ds, params, ctx, lambda: _sleep_op(params["ms"], sleeper))


def _sleep_elements_at_once(ds, ms: float, calls):
    """`calls` elements waiting at once, each in a one-element dataset of tf.data's own sleep, run side by
    side by a parallel interleave: the waits happen in C++ threads, never in Python, so they take no GIL
    from the model's thread and no CPU (a Python sleep per element cost both: measured, whatif's io at
    8 ms with 8 calls in flight reached 194 steps/s against 225 this way). None without the sleep."""
    tf = tensorflow()

    sleep = _tf_data_sleep()
    if sleep is None:
        return None
    microseconds = int(round(ms * 1000))
    return ds.interleave(lambda x, y: tf.data.Dataset.from_tensors((x, y)).apply(sleep(microseconds)),
                         cycle_length=calls, block_length=1, num_parallel_calls=calls, deterministic=True)


def _sleep_each_element(ds, ms: float):
    """tf.data's sleep transformation: the wait happens in C++, without the GIL or a Python call;
    None where this TensorFlow lacks it."""
    sleep = _tf_data_sleep()
    return None if sleep is None else ds.apply(sleep(int(round(ms * 1000))))


def _tf_data_sleep():
    """tf.data's sleep transformation (private to TensorFlow, though there since 2.0), or None."""
    try:
        from tensorflow.python.data.experimental.ops.testing import sleep  # deferred, as tensorflow() is
    except ImportError:
        return None
    return sleep


_BURN_WIDTH = 256


def _burn_loop(iterations):
    """Busy CPU work: `iterations` rounds of a small vector computation."""
    tf = tensorflow()

    values = tf.linspace(0.0, 1.0, _BURN_WIDTH)

    def body(i, acc):
        return i + 1, acc + tf.reduce_sum(tf.sin(values + tf.cast(i, tf.float32)))

    _, acc = tf.while_loop(lambda i, acc: i < iterations, body, (tf.constant(0), tf.constant(0.0)))
    return acc


@functools.lru_cache(maxsize=1)
def burn_iterations_per_ms() -> float:
    """Calibrate the busy loop once per process on this machine, where it will run: inside tf.data."""
    tf = tensorflow()

    iterations, rounds = 2000, 4
    options = tf.data.Options()
    options.autotune.enabled = False
    burns = tf.data.Dataset.range(rounds + 1).map(lambda _: _burn_loop(tf.constant(iterations))).with_options(options)
    best = float("inf")
    with tf.device("/CPU:0"):  # where tf.data runs it, even when a GPU is present
        elements = iter(burns)
        next(elements)  # the first element pays for starting the iterator
        for _ in range(rounds):
            start = time.perf_counter()
            next(elements)
            best = min(best, time.perf_counter() - start)
    return iterations / (best * 1000.0)


@builds("cpu_work")
def _build_cpu_work(ds, params, ctx):
    tf = tensorflow()

    if params["ms"] <= 0:
        return ds
    iterations = max(1, round(params["ms"] * burn_iterations_per_ms()))

    def worked(x, y):
        # The work's result must reach the element: a map that returns its input unchanged is pruned as
        # dead code, loop and all. A tf.Variable to sink it into would keep it too, but a dataset with
        # state of its own cannot be shipped to tf.data service workers. The total is never NaN, which
        # no optimizer can know, and the branch not taken costs nothing.
        total = _burn_loop(tf.constant(iterations))
        return tf.cond(tf.math.is_nan(total), lambda: tf.zeros_like(x), lambda: tf.identity(x)), y

    return ds.map(_named(ctx, worked), num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))
