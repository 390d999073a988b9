"""The ONE registry of stage kinds.

Each kind declares its typed parameters (type, default, range, help) and how it
becomes tf.data (`build`) and a short block label (`label`). Validation, the
pipeline builder, and the editor's palette and inspector all read `STAGES`.
Elements flowing between stages are `(features, label)` pairs.

TensorFlow is imported inside the build functions so that reading the registry
(the GUI at start-up, validation) stays fast.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable, Optional

from core.params import AUTOTUNE, Param, Registry, SpecError
from core.precise_time import PreciseSleeper

STAGES = Registry("stage")


@dataclass
class BuildContext:
    """What a stage needs to know beyond its own parameters."""

    stage_id: str
    seed: int
    serial: bool  # feed_dict: produce each batch strictly before it is fed
    build_branch: Callable  # Branch -> tf.data.Dataset


def _parallelism(value, ctx: BuildContext):
    import tensorflow as tf

    if ctx.serial or value == 1:
        return None  # a "parallel" map of 1 still computes one element ahead: 1 means one at a time
    return tf.data.AUTOTUNE if value == AUTOTUNE else value


def _buffer(value):
    import tensorflow as tf

    return tf.data.AUTOTUNE if value == AUTOTUNE else value


def _parallel_calls(default=AUTOTUNE) -> Param:
    return Param(
        "num_parallel_calls", "int", default,
        "Elements processed at once (AUTOTUNE lets tf.data choose; feed_dict runs everything serially).",
        min=1, max=256, autotune=True,
    )


def _label_parallel(params: dict) -> str:
    calls = params.get("num_parallel_calls")
    return "" if calls in (None, 1) else f" ×{'auto' if calls == AUTOTUNE else calls}"


stage_kind = STAGES.declare


# ---------------------------------------------------------------- map functions


def _read_file(x, params):
    import tensorflow as tf

    return tf.io.read_file(x)


def _decode_tf(x, params):
    import tensorflow as tf

    image = tf.io.decode_image(x, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _decode_cv2(x, params):
    import tensorflow as tf

    def decode(encoded: bytes):
        import cv2
        import numpy as np

        image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("OpenCV cannot decode this image (corrupt or not an image)")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    image = tf.numpy_function(decode, [x], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image


def _resize(x, params):
    import tensorflow as tf

    size = params["size"]
    resized = tf.image.resize(x, [size, size])
    return tf.saturate_cast(tf.round(resized), x.dtype) if x.dtype.is_integer else resized  # same dtype as OpenCV


def _resize_cv2(x, params):
    import tensorflow as tf

    size = params["size"]

    def resize(image):
        import cv2

        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)

    image = tf.numpy_function(resize, [x], x.dtype, stateful=False)
    image.set_shape([size, size, 3])
    return image


def _normalize(x, params):
    import tensorflow as tf

    scale = 1.0 / 255.0 if x.dtype == tf.uint8 else 1.0
    return tf.cast(x, tf.float32) * scale


def _random_flip(x, params):
    import tensorflow as tf

    return tf.image.random_flip_left_right(x)


def _random_crop(x, params):
    import tensorflow as tf

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
    import tensorflow as tf

    def wrapped(x, y):
        with tf.name_scope(ctx.stage_id):
            return fn(x, y)

    return wrapped


_READING_FUNCTIONS = ("read_file", "decode_tf", "decode_cv2")  # those skip_corrupt applies to


def _check_map(params, path):
    if params["skip_corrupt"] and params["fn"] not in _READING_FUNCTIONS:
        raise SpecError(f"{path}.skip_corrupt: only for {', '.join(_READING_FUNCTIONS)}, not {params['fn']}")


def _name_unreadable_files(params, spec) -> Optional[str]:
    """After this stage failed: the source's files its function cannot read, for the message."""
    from core.sources import unreadable_files

    shown = 3
    files = unreadable_files(spec, params["fn"], limit=shown + 1)
    if not files:
        return None
    more = " and more" if len(files) > shown else ""
    return f"unreadable: {', '.join(files[:shown])}{more} (skip_corrupt skips such files)"


@stage_kind(
    "map", "Apply a function to every element's features.",
    (
        Param("fn", "choice", "normalize", "The function: read a file, decode (tf.image or OpenCV), resize, "
              "normalise to [0, 1], random flip or crop.", choices=tuple(MAP_FUNCTIONS)),
        Param("size", "int", 64, "Output side length in pixels for resize and random_crop.", min=1, max=4096),
        _parallel_calls(),
        Param("skip_corrupt", "bool", False, "read_file and decode: skip files that cannot be read or decoded "
              "(counted in the summary as skipped_files) instead of failing the run."),
    ),
    label=lambda p: f"map {p['fn']}{_label_parallel(p)}{' skip' if p['skip_corrupt'] else ''}",
    check=_check_map,
    failure_detail=_name_unreadable_files,
)
def _build_map(ds, params, ctx):
    fn = MAP_FUNCTIONS[params["fn"]]
    mapped = ds.map(_named(ctx, lambda x, y: (fn(x, params), y)),
                    num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))
    return mapped.ignore_errors() if params["skip_corrupt"] else mapped


def _batch_params(what: str) -> tuple:
    return (
        Param("batch_size", "int", 32, "Elements per batch.", min=1, max=1_000_000),
        Param("drop_remainder", "bool", True, f"Drop a last, smaller batch ({what})."),
    )


@stage_kind(
    "batch", "Group consecutive elements into batches.",
    (*_batch_params("keeps shapes static"),
     Param("num_parallel_calls", "int", None, "Batches assembled at once (empty: one at a time).",
           min=1, max=256, autotune=True, optional=True)),
    label=lambda p: f"batch {p['batch_size']}{_label_parallel(p)}",
)
def _build_batch(ds, params, ctx):
    calls = params["num_parallel_calls"]
    return ds.batch(params["batch_size"], drop_remainder=params["drop_remainder"],
                    num_parallel_calls=None if calls is None else _parallelism(calls, ctx))


@stage_kind(
    "padded_batch", "Batch elements of different shapes, padding each to the largest.",
    _batch_params("the padding is then uniform"),
    label=lambda p: f"padded_batch {p['batch_size']}",
)
def _build_padded_batch(ds, params, ctx):
    return ds.padded_batch(params["batch_size"], drop_remainder=params["drop_remainder"])


@stage_kind(
    "shuffle", "Shuffle elements through a buffer.",
    (
        Param("buffer_size", "int", 1024, "Elements held and sampled from.", min=1, max=10_000_000),
        Param("reshuffle_each_iteration", "bool", True, "A new order on every pass over the data."),
    ),
    label=lambda p: f"shuffle {p['buffer_size']}",
)
def _build_shuffle(ds, params, ctx):
    return ds.shuffle(params["buffer_size"], seed=ctx.seed,
                      reshuffle_each_iteration=params["reshuffle_each_iteration"])


def _keep_label_positive(x, y):
    import tensorflow as tf

    return tf.reduce_all(tf.cast(y, tf.float32) > 0)


def _keep_finite(x, y):
    import tensorflow as tf

    return tf.reduce_all(tf.math.is_finite(tf.cast(x, tf.float32)))


FILTER_PREDICATES = {"label_positive": _keep_label_positive, "finite": _keep_finite}


@stage_kind(
    "filter", "Keep only the elements that satisfy a predicate.",
    (Param("predicate", "choice", "finite", "Keep elements whose label is positive, or whose features "
           "are all finite.", choices=tuple(FILTER_PREDICATES)),),
    label=lambda p: f"filter {p['predicate']}",
)
def _build_filter(ds, params, ctx):
    return ds.filter(_named(ctx, FILTER_PREDICATES[params["predicate"]]))


@stage_kind(
    "repeat", "Repeat the data set (−1: forever).",
    (Param("count", "int", -1, "Passes over the data; −1 repeats forever.", min=-1),),
    label=lambda p: "repeat" if p["count"] == -1 else f"repeat {p['count']}",
)
def _build_repeat(ds, params, ctx):
    return ds.repeat(None if params["count"] == -1 else params["count"])


@stage_kind(
    "cache", "Cache elements in memory (empty filename) or in a file after the first pass.",
    (Param("filename", "str", "", "Cache file path prefix; empty caches in memory."),),
    label=lambda p: "cache" + (" (file)" if p["filename"] else " (memory)"),
)
def _build_cache(ds, params, ctx):
    return ds.cache(params["filename"])


def _read_one_file(x, y):
    import tensorflow as tf

    return tf.data.Dataset.from_tensors((tf.io.read_file(x), y))


def _read_tfrecord_file(x, y):
    import tensorflow as tf

    from core.sources import parse_image_example

    return tf.data.TFRecordDataset(x).map(parse_image_example)


INTERLEAVE_FUNCTIONS = {"read_file": _read_one_file, "tfrecord_file": _read_tfrecord_file}


@stage_kind(
    "interleave", "Read several files at once: each element names a file whose contents are interleaved.",
    (
        Param("fn", "choice", "read_file", "read_file: an image file's bytes; tfrecord_file: the records "
              "of a TFRecord file.", choices=tuple(INTERLEAVE_FUNCTIONS)),
        Param("cycle_length", "int", AUTOTUNE, "Files open at once.", min=1, max=1024, autotune=True),
        Param("block_length", "int", 1, "Consecutive elements taken from each file.", min=1),
        _parallel_calls(),
    ),
    label=lambda p: f"interleave {p['fn']}{_label_parallel(p)}",
)
def _build_interleave(ds, params, ctx):
    cycle = params["cycle_length"]
    cycle = 1 if ctx.serial else _buffer(cycle)
    return ds.interleave(_named(ctx, INTERLEAVE_FUNCTIONS[params["fn"]]), cycle_length=cycle,
                         block_length=params["block_length"],
                         num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))


@stage_kind(
    "flat_map", "Turn each element into several: split its first axis (unbatch) or repeat it n times.",
    (
        Param("fn", "choice", "unbatch", "unbatch: one element per row; repeat_element: n copies.",
              choices=("unbatch", "repeat_element")),
        Param("n", "int", 2, "Copies per element for repeat_element.", min=1, max=100_000),
    ),
    label=lambda p: f"flat_map {p['fn']}",
)
def _build_flat_map(ds, params, ctx):
    import tensorflow as tf

    if params["fn"] == "unbatch":
        return ds.flat_map(lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)))
    copies = params["n"]
    return ds.flat_map(lambda x, y: tf.data.Dataset.from_tensors((x, y)).repeat(copies))


def _check_shard(params, path):
    if params["index"] >= params["num_shards"]:
        raise SpecError(f"{path}.index: must be < num_shards ({params['num_shards']}), got {params['index']}")


@stage_kind(
    "shard", "Keep every num_shards-th element, starting at index (one worker's share).",
    (
        Param("num_shards", "int", 2, "Number of shards.", min=1),
        Param("index", "int", 0, "Which shard this pipeline reads.", min=0),
    ),
    label=lambda p: f"shard {p['index']}/{p['num_shards']}",
    check=_check_shard,
)
def _build_shard(ds, params, ctx):
    return ds.shard(params["num_shards"], params["index"])


_DEFAULT_BRANCH = {"source": {"kind": "synthetic"}, "stages": []}


def _branch_param() -> Param:
    return Param("branch", "branch", _DEFAULT_BRANCH, "A second input: a source with its own stages.")


def _combine_with_branch(ds, params, ctx, what: str, combine):
    """`combine(main, branch)`; shapes or types that do not fit name the stage's branch."""
    import tensorflow as tf

    branch = ctx.build_branch(params["branch"])
    try:
        return combine(ds, branch)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
        raise SpecError(f"stages.{ctx.stage_id}.branch: cannot {what} with the main pipeline ({error})") from None


def _zip_concatenating_features(main, branch):
    import tensorflow as tf

    def merge(a, b):
        return tf.concat([tf.cast(a[0], tf.float32), tf.cast(b[0], tf.float32)], -1), a[1]

    return tf.data.Dataset.zip((main, branch)).map(merge)


@stage_kind(
    "zip", "Pair each element with one from a side branch; features are concatenated on the last axis.",
    (_branch_param(),),
    label=lambda p: "zip",
)
def _build_zip(ds, params, ctx):
    return _combine_with_branch(ds, params, ctx, "zip", _zip_concatenating_features)


@stage_kind(
    "concatenate", "Append the side branch's elements after the main pipeline's.",
    (_branch_param(),),
    label=lambda p: "concatenate",
)
def _build_concatenate(ds, params, ctx):
    return _combine_with_branch(ds, params, ctx, "concatenate", lambda main, branch: main.concatenate(branch))


@stage_kind(
    "prefetch", "Produce elements ahead of the consumer into a buffer (the overlap of input and compute).",
    (Param("buffer_size", "int", AUTOTUNE, "Elements buffered ahead.", min=0, max=100_000, autotune=True),),
    label=lambda p: f"prefetch {'auto' if p['buffer_size'] == AUTOTUNE else p['buffer_size']}",
)
def _build_prefetch(ds, params, ctx):
    if ctx.serial:
        return ds
    return ds.prefetch(_buffer(params["buffer_size"]))


def _must_be_last(index: int, count: int) -> Optional[str]:
    return None if index == count - 1 else "prefetch_to_device must be the last stage"


_WHY_NOT_WITH = {
    "feed_dict": "feed_dict feeds each batch from the host, made strictly before it is fed: nothing would be "
                 "prefetched",
    "queue_runner": "queue_runner's queue holds batches on the host: every batch would be copied to the device, "
                    "back, and to the device again",
}


def _needs_tf_data_feeder(feeder_kind: str) -> Optional[str]:
    """Only the tf_data feeder hands the model what the pipeline put on the device."""
    if feeder_kind == "tf_data":
        return None
    why = _WHY_NOT_WITH.get(feeder_kind, f"{feeder_kind} takes batches on the host")
    return f"prefetch_to_device needs the tf_data feeder, not {feeder_kind} ({why}); use prefetch instead"


@stage_kind(
    "prefetch_to_device", "Prefetch batches straight onto the accelerator (the last stage; tf_data feeder only).",
    (
        Param("buffer_size", "int", 2, "Batches buffered on the device.", min=1, max=1000),
        Param("device", "str", "auto", "Target device; auto is the model's device (/GPU:0, else /CPU:0)."),
    ),
    label=lambda p: f"to device {p['buffer_size']}",
    check_position=_must_be_last,
    check_feeder=_needs_tf_data_feeder,
)
def _build_prefetch_to_device(ds, params, ctx):
    import tensorflow as tf

    if ctx.serial:
        return ds  # validation keeps it from feed_dict's own stages; a side branch's is left out
    device = params["device"]
    if device == "auto":
        device = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    return ds.apply(tf.data.experimental.prefetch_to_device(device, params["buffer_size"]))


# ---------------------------------------------------------------- simulated cost


def _sleep_op(ms: float, sleeper: PreciseSleeper):
    """A tensor that, when computed, waits `ms` without using the CPU (as I/O does).

    Used where several elements wait at once; one at a time, `_build_latency` uses
    tf.data's own sleep, which needs no hop into Python."""
    import tensorflow as tf

    seconds = ms / 1000.0

    def wait(token):
        sleeper.sleep(seconds)  # waits with the GIL released; only its last few µs spin
        return token

    return tf.numpy_function(wait, [tf.constant(0, tf.int32)], tf.int32, stateful=True)


def _cost_params(help: str) -> tuple:
    return (Param("ms", "float", 5.0, help, min=0.0, max=60_000.0), _parallel_calls(1))


def _pass_through_after(ds, params, ctx, make_cost):
    """Elements unchanged, each only once the op from `make_cost()` has run (a simulated cost)."""
    import tensorflow as tf

    if params["ms"] <= 0:
        return ds

    def delayed(x, y):
        with tf.control_dependencies([make_cost()]):
            return tf.identity(x), tf.identity(y)

    return ds.map(_named(ctx, delayed), num_parallel_calls=_parallelism(params["num_parallel_calls"], ctx))


@stage_kind(
    "latency", "Simulated I/O: wait ms per element without using the CPU.",
    _cost_params("Milliseconds of waiting per element."),
    label=lambda p: f"latency {p['ms']:g} ms{_label_parallel(p)}",
)
def _build_latency(ds, params, ctx):
    if params["ms"] > 0 and _parallelism(params["num_parallel_calls"], ctx) is None:
        sleeping = _sleep_each_element(ds, params["ms"])
        if sleeping is not None:
            return sleeping
    sleeper = PreciseSleeper()
    return _pass_through_after(ds, params, ctx, lambda: _sleep_op(params["ms"], sleeper))


def _sleep_each_element(ds, ms: float):
    """tf.data's sleep transformation: the wait happens in C++, without the GIL or a Python call;
    None where this TensorFlow lacks it (it is private to TensorFlow, though there since 2.0)."""
    try:
        from tensorflow.python.data.experimental.ops.testing import sleep
    except ImportError:
        return None
    return ds.apply(sleep(int(round(ms * 1000))))


_BURN_WIDTH = 256


def _burn_loop(iterations):
    """Busy CPU work: `iterations` rounds of a small vector computation."""
    import tensorflow as tf

    values = tf.linspace(0.0, 1.0, _BURN_WIDTH)

    def body(i, acc):
        return i + 1, acc + tf.reduce_sum(tf.sin(values + tf.cast(i, tf.float32)))

    _, acc = tf.while_loop(lambda i, acc: i < iterations, body, (tf.constant(0), tf.constant(0.0)))
    return acc


@functools.lru_cache(maxsize=1)
def burn_iterations_per_ms() -> float:
    """Calibrate the busy loop once per process on this machine, where it will run: inside tf.data."""
    import tensorflow as tf

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


@stage_kind(
    "cpu_work", "Simulated CPU cost: ms of busy computation per element (calibrated on this machine).",
    _cost_params("Milliseconds of CPU work per element on an idle core."),
    label=lambda p: f"cpu {p['ms']:g} ms{_label_parallel(p)}",
)
def _build_cpu_work(ds, params, ctx):
    import tensorflow as tf

    iterations = max(1, round(params["ms"] * burn_iterations_per_ms())) if params["ms"] > 0 else 0
    with tf.device("/CPU:0"):
        # The work's result must reach something stateful: otherwise tf.data sees a map that
        # returns its input unchanged, prunes the loop as dead code and drops the whole stage.
        sink = tf.Variable(0.0, trainable=False)
    return _pass_through_after(ds, params, ctx, lambda: sink.assign_add(_burn_loop(tf.constant(iterations))))


def stage_label(stage) -> str:
    return STAGES.get(stage.kind, "kind").hooks["label"](stage.params)
