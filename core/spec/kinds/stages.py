"""Stage kinds: the transformations between a source and the feeder.

Elements flowing between stages are `(features, label)` pairs. Node names are
those tf.data gives the transformation in its live model, lower-case and
without a `V2`-style version; graph rewrites fuse some (map + batch become
`MapAndBatch`), so a kind lists every node it may become or hide in.
"""
from __future__ import annotations

from typing import Optional

from core.spec.catalog import Batching, Kind, Registry, Work
from core.spec.params import AUTOTUNE, Param, SpecError

STAGES = Registry("stage")

MAP_FUNCTIONS = ("read_file", "decode_tf", "decode_cv2", "resize", "resize_cv2", "normalize", "random_flip",
                 "random_crop")
READING_FUNCTIONS = ("read_file", "decode_tf", "decode_cv2")  # those skip_corrupt applies to
FILTER_PREDICATES = ("label_positive", "finite")
INTERLEAVE_FUNCTIONS = ("read_file", "tfrecord_file")
_MAP_NODES = frozenset({"map", "parallelmap", "mapandbatch"})
_DEFAULT_BRANCH = {"source": {"kind": "synthetic"}, "stages": []}


def _parallel_calls(default=AUTOTUNE) -> Param:
    return Param(
        "num_parallel_calls", "int", default,
        "Elements processed at once (AUTOTUNE lets tf.data choose; feed_dict runs everything serially).",
        min=1, max=256, autotune=True,
    )


def _label_parallel(params: dict) -> str:
    calls = params.get("num_parallel_calls")
    return "" if calls in (None, 1) else f" ×{'auto' if calls == AUTOTUNE else calls}"


def _check_map(params, path):
    if params["skip_corrupt"] and params["fn"] not in READING_FUNCTIONS:
        raise SpecError(f"{path}.skip_corrupt: only for {', '.join(READING_FUNCTIONS)}, not {params['fn']}")


STAGES.add(Kind(
    "map", "Apply a function to every element's features.",
    (
        Param("fn", "choice", "normalize", "The function: read a file, decode (tf.image or OpenCV), resize, "
              "normalise to [0, 1], random flip or crop.", choices=MAP_FUNCTIONS),
        Param("size", "int", 64, "Output side length in pixels for resize and random_crop.", min=1, max=4096),
        _parallel_calls(),
        Param("skip_corrupt", "bool", False, "read_file and decode: skip files that cannot be read or decoded "
              "(counted in the summary as skipped_files) instead of failing the run."),
    ),
    label=lambda p: f"map {p['fn']}{_label_parallel(p)}{' skip' if p['skip_corrupt'] else ''}",
    check=_check_map,
    parallel_param="num_parallel_calls",
    node_names=_MAP_NODES,
    function_param="fn",
))


def _batch_params(what: str) -> tuple:
    return (
        Param("batch_size", "int", 32, "Elements per batch.", min=1, max=1_000_000),
        Param("drop_remainder", "bool", True, f"Drop a last, smaller batch ({what})."),
    )


STAGES.add(Kind(
    "batch", "Group consecutive elements into batches.",
    (*_batch_params("keeps shapes static"),
     Param("num_parallel_calls", "int", None, "Batches assembled at once (empty: one at a time).",
           min=1, max=256, autotune=True, optional=True)),
    label=lambda p: f"batch {p['batch_size']}{_label_parallel(p)}",
    batching=Batching.MAKES,
    parallel_param="num_parallel_calls",
    node_names=frozenset({"batch", "parallelbatch", "mapandbatch"}),
))

STAGES.add(Kind(
    "padded_batch", "Batch elements of different shapes, padding each to the largest.",
    _batch_params("the padding is then uniform"),
    label=lambda p: f"padded_batch {p['batch_size']}",
    batching=Batching.MAKES,
    node_names=frozenset({"paddedbatch"}),
))

STAGES.add(Kind(
    "shuffle", "Shuffle elements through a buffer.",
    (
        Param("buffer_size", "int", 1024, "Elements held and sampled from.", min=1, max=10_000_000),
        Param("reshuffle_each_iteration", "bool", True, "A new order on every pass over the data."),
    ),
    label=lambda p: f"shuffle {p['buffer_size']}",
    node_names=frozenset({"shuffle", "shuffleandrepeat"}),
))

STAGES.add(Kind(
    "filter", "Keep only the elements that satisfy a predicate.",
    (Param("predicate", "choice", "finite", "Keep elements whose label is positive, or whose features "
           "are all finite.", choices=FILTER_PREDICATES),),
    label=lambda p: f"filter {p['predicate']}",
    node_names=frozenset({"filter", "parallelfilter"}),
    function_param="predicate",
))

STAGES.add(Kind(
    "repeat", "Repeat the data set (−1: forever).",
    (Param("count", "int", -1, "Passes over the data; −1 repeats forever.", min=-1),),
    label=lambda p: "repeat" if p["count"] == -1 else f"repeat {p['count']}",
    node_names=frozenset({"repeat", "shuffleandrepeat"}),
))

STAGES.add(Kind(
    "cache", "Cache elements in memory (empty filename) or in a file after the first pass.",
    (Param("filename", "str", "", "Cache file path prefix; empty caches in memory."),),
    label=lambda p: "cache" + (" (file)" if p["filename"] else " (memory)"),
    node_names=frozenset({"cache", "memorycache"}),
))

STAGES.add(Kind(
    "interleave", "Read several files at once: each element names a file whose contents are interleaved.",
    (
        Param("fn", "choice", "read_file", "read_file: an image file's bytes; tfrecord_file: the records "
              "of a TFRecord file.", choices=INTERLEAVE_FUNCTIONS),
        Param("cycle_length", "int", AUTOTUNE, "Files open at once.", min=1, max=1024, autotune=True),
        Param("block_length", "int", 1, "Consecutive elements taken from each file.", min=1),
        _parallel_calls(),
    ),
    label=lambda p: f"interleave {p['fn']}{_label_parallel(p)}",
    parallel_param="num_parallel_calls",
    work=Work.WAITS,  # opening and reading files: mostly waiting on storage
    node_names=frozenset({"interleave", "parallelinterleave", "legacyparallelinterleave"}),
    function_param="fn",
))

STAGES.add(Kind(
    "flat_map", "Turn each element into several: split its first axis (unbatch) or repeat it n times.",
    (
        Param("fn", "choice", "unbatch", "unbatch: one element per row; repeat_element: n copies.",
              choices=("unbatch", "repeat_element")),
        Param("n", "int", 2, "Copies per element for repeat_element.", min=1, max=100_000),
    ),
    label=lambda p: f"flat_map {p['fn']}",
    batching=lambda p: Batching.UNMAKES if p["fn"] == "unbatch" else Batching.KEEPS,
    node_names=frozenset({"flatmap"}),
    function_param="fn",
))


def _check_shard(params, path):
    if params["index"] >= params["num_shards"]:
        raise SpecError(f"{path}.index: must be < num_shards ({params['num_shards']}), got {params['index']}")


STAGES.add(Kind(
    "shard", "Keep every num_shards-th element, starting at index (one worker's share).",
    (
        Param("num_shards", "int", 2, "Number of shards.", min=1),
        Param("index", "int", 0, "Which shard this pipeline reads.", min=0),
    ),
    label=lambda p: f"shard {p['index']}/{p['num_shards']}",
    check=_check_shard,
    node_names=frozenset({"shard"}),
))


def _branch_param() -> Param:
    return Param("branch", "branch", _DEFAULT_BRANCH, "A second input: a source with its own stages.")


STAGES.add(Kind(
    "zip", "Pair each element with one from a side branch; features are concatenated on the last axis.",
    (_branch_param(),),
    label=lambda p: "zip",
    node_names=frozenset({"zip"}),
))

STAGES.add(Kind(
    "concatenate", "Append the side branch's elements after the main pipeline's.",
    (_branch_param(),),
    label=lambda p: "concatenate",
    node_names=frozenset({"concatenate"}),
))

STAGES.add(Kind(
    "prefetch", "Produce elements ahead of the consumer into a buffer (the overlap of input and compute).",
    (Param("buffer_size", "int", AUTOTUNE, "Elements buffered ahead.", min=0, max=100_000, autotune=True),),
    label=lambda p: f"prefetch {'auto' if p['buffer_size'] == AUTOTUNE else p['buffer_size']}",
    buffer_param="buffer_size",
    node_names=frozenset({"prefetch"}),
))


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


STAGES.add(Kind(
    "prefetch_to_device", "Prefetch batches straight onto the accelerator (the last stage; tf_data feeder only).",
    (
        Param("buffer_size", "int", 2, "Batches buffered on the device.", min=1, max=1000),
        Param("device", "str", "auto", "Target device; auto is the model's device (/GPU:0, else /CPU:0)."),
    ),
    label=lambda p: f"to device {p['buffer_size']}",
    check_position=_must_be_last,
    check_feeder=_needs_tf_data_feeder,
    buffer_param="buffer_size",
    node_names=frozenset({"prefetch"}),
    hides_stages_before="run inside prefetch_to_device's copy iterator",
))


SERVICE_PROCESSING_MODES = ("off", "dynamic", "file", "data", "file_or_data", "hint")  # tf.data's ShardingPolicy
# tf.data service's servers take no address to bind to: TensorFlow 2.21 listens on 0.0.0.0:<port>.
SERVICE_SECURITY = ("tf.data service listens on every IPv4 interface of the machine, with no authentication "
                    "(TensorFlow offers no way to bind to loopback only): anyone who can reach its ports can "
                    "read the data and make the workers run pipelines. Use it on a trusted network, or behind "
                    "a firewall; Pipescope's own servers live only as long as the run.")


def _check_service(params, path):
    if params["workers"] == 0 and not params["dispatcher"] and not params["port"]:
        raise SpecError(f"{path}.workers: a service needs workers: at least 1 local worker, a fixed port for "
                        "workers on other machines to join, or the dispatcher of a running service "
                        "(dispatcher: grpc://HOST:PORT)")
    address = params["dispatcher"]
    if address and not address.startswith("grpc://"):
        raise SpecError(f"{path}.dispatcher: must be grpc://HOST:PORT, or empty to start one here, got {address!r}")


def _service_label(params: dict) -> str:
    where = params["dispatcher"].removeprefix("grpc://") if params["dispatcher"] else "local"
    workers = f" +{params['workers']}" if params["dispatcher"] else f" ×{params['workers']}"
    return f"service {where}{workers if params['workers'] else ''}"


STAGES.add(Kind(
    "tf_data_service", "Run every stage before this one on tf.data service workers, out of the training "
                       "process: N local worker processes (and a dispatcher) that live as long as the run, or a "
                       "running service's dispatcher. " + SERVICE_SECURITY,
    (
        Param("workers", "int", 2, "Worker processes to start on this machine (with a dispatcher, unless one "
              "is given).", min=0, max=64),
        Param("dispatcher", "str", "", "grpc://HOST:PORT of a running service's dispatcher; empty: start one "
              "here. Add workers on other machines with: python main.py service-worker --dispatcher "
              "grpc://HOST:PORT."),
        Param("port", "int", 0, "The port of the dispatcher started here (0: one the system picks). Fix it "
              "to let workers on other machines join the run's service.", min=0, max=65535),
        Param("processing_mode", "choice", "off", "How the workers share the data: off (each worker makes the "
              "whole dataset, in its own order), dynamic (the dispatcher hands out parts of the source), or a "
              "static sharding by file or data.", choices=SERVICE_PROCESSING_MODES),
    ),
    label=_service_label,
    check=_check_service,
    node_names=frozenset({"dataservice"}),
    hides_stages_before="run on tf.data service workers, out of the training process",
    moves_stages_before="on service",
))

def _cost_params(help: str) -> tuple:
    return (Param("ms", "float", 5.0, help, min=0.0, max=60_000.0), _parallel_calls(1))


STAGES.add(Kind(
    "latency", "Simulated I/O: wait ms per element without using the CPU.",
    _cost_params("Milliseconds of waiting per element."),
    label=lambda p: f"latency {p['ms']:g} ms{_label_parallel(p)}",
    parallel_param="num_parallel_calls",
    work=Work.WAITS,
    # One at a time it is tf.data's own sleep; several at once, a parallel interleave of sleeps.
    node_names=_MAP_NODES | {"sleep", "parallelinterleave"},
))

STAGES.add(Kind(
    "cpu_work", "Simulated CPU cost: ms of busy computation per element (calibrated on this machine).",
    _cost_params("Milliseconds of CPU work per element on an idle core."),
    label=lambda p: f"cpu {p['ms']:g} ms{_label_parallel(p)}",
    parallel_param="num_parallel_calls",
    node_names=_MAP_NODES,
))


def moved_stages(kinds: list[str]) -> dict[int, str]:
    """Index → where it runs, of each stage that a later stage moves out of the training process; the
    source, which moves with them, is index -1."""
    moved = {}
    for index, kind in enumerate(kinds):
        where = STAGES.get(kind, "kind").moves_stages_before if kind in STAGES else None
        if where:
            moved.update(dict.fromkeys(range(-1, index), where))
    return moved


def stage_label(stage) -> str:
    return STAGES.get(stage.kind, "kind").label_for(stage.params)
