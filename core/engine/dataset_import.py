"""A watched script's dataset as a pipeline description (`watch`, issue 16 §4).

The dataset a script iterates is walked from the end back to its source through tf.data's own
Python objects (`_inputs()`), following the main input. Known transformations become the
catalog's kinds with their parameters (num_parallel_calls, buffer_size, AUTOTUNE included); the
script's own function goes into the kind's function parameter by name; what is not known becomes
a `from_script` source or stage named by its tf.data class. Each stage keeps where the script
made it (`origin`: file, line, the call's text), as `record_origins` marked it when it was made.
"""
from __future__ import annotations

import linecache
import os
import sys
from typing import Any, Callable, Optional

from core.spec.kinds import FROM_SCRIPT
from core.spec.kinds.from_script import script_placeholder
from core.spec.params import AUTOTUNE
from core.spec.pipeline import is_stage_id

ORIGIN_ATTRIBUTE = "_pipescope_origin"
# tf.data wrappers that add options or hand-over, not a transformation the user wrote.
_WRAPPERS = frozenset({"_OptionsDataset", "_ModelDataset", "_OptimizeDataset", "_FinalizeDataset",
                       "DatasetV1Adapter", "_AutoShardDataset", "_MapDataset_debug"})
# Made by one call of the user's that tf.data builds from several datasets: the call is the source.
_COMPOSITE_SOURCES = {"from_generator(": "generator", "list_files(": "files"}
_STANDARD_LIBRARY = os.path.dirname(os.__file__)


# ---------------------------------------------------------------- where each dataset was made

def record_origins(dataset_class, on_made: Callable[[], None]) -> Callable[[], None]:
    """Mark every dataset made from now on with the script's line that made it, and tell `on_made`;
    returns the undo."""
    original_init = dataset_class.__init__

    def init_and_mark(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if getattr(self, ORIGIN_ATTRIBUTE, None) is None:
            setattr(self, ORIGIN_ATTRIBUTE, _callers_line())
            on_made()

    dataset_class.__init__ = init_and_mark
    return lambda: setattr(dataset_class, "__init__", original_init)


def _callers_line() -> Optional[dict]:
    """The first frame outside TensorFlow, Keras, Python's own library and Pipescope: the script's line."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_library(filename):
            line = frame.f_lineno
            return {"file": filename, "line": line, "call": linecache.getline(filename, line).strip()}
        frame = frame.f_back
    return None


_LIBRARY_MARKERS = (f"{os.sep}tensorflow{os.sep}", f"{os.sep}keras{os.sep}", f"{os.sep}tf_keras{os.sep}",
                    f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}", "<frozen ")
_PIPESCOPE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _is_library(filename: str) -> bool:
    return (any(marker in filename for marker in _LIBRARY_MARKERS) or filename.startswith(_STANDARD_LIBRARY)
            or filename.startswith(os.path.join(_PIPESCOPE, "core") + os.sep))


# ---------------------------------------------------------------- the description

def import_pipeline(dataset, name: str) -> dict:
    """The description (as a pipeline file's data) of the pipeline that ends in `dataset`."""
    chain = _main_chain(dataset)
    source_node, stage_nodes = chain[0], chain[1:]
    stages, used_ids = [], set()
    for node in stage_nodes:
        stage = _stage_of(node)
        stage["id"] = _free_id(_stage_id_for(stage), used_ids)
        stages.append(stage)
    return script_placeholder(name) | {"source": _source_of(source_node), "stages": stages}


def _main_chain(dataset) -> list:
    """The datasets from the source to `dataset`, wrappers left out; a composite source ends the walk."""
    chain, node = [], dataset
    while node is not None:
        if type(node).__name__ not in _WRAPPERS:
            chain.append(node)
            if _composite_source(node) or type(node).__name__.startswith("TFRecordDataset"):
                break
        inputs = _inputs(node)
        node = inputs[0] if inputs else None
    return list(reversed(chain)) or [dataset]


def _inputs(node) -> list:
    try:
        return list(node._inputs())
    except (NotImplementedError, AttributeError):
        return []


def _origin(node) -> Optional[dict]:
    return getattr(node, ORIGIN_ATTRIBUTE, None)


def _composite_source(node) -> Optional[str]:
    call = (_origin(node) or {}).get("call", "")
    return next((kind for marker, kind in _COMPOSITE_SOURCES.items() if marker in call), None)


def _source_of(node) -> dict:
    kind = _composite_source(node)
    class_name = type(node).__name__
    if kind == "generator":
        source = {"kind": "generator", "count": _cardinality(node)}
    elif kind == "files":
        source = {"kind": "files"}
    elif class_name == "_RangeDataset":
        source = {"kind": "range", "count": max(1, _cardinality(node))}
    elif class_name == "_TensorSliceDataset" and _cardinality(node) > 0:
        source = {"kind": "tensors", "count": _cardinality(node), "shape": _first_shape(node)}
    elif class_name.startswith("TFRecordDataset"):
        source = {"kind": "tfrecord", "path": _first_filename(node)}
    else:
        source = {"kind": FROM_SCRIPT, "op": _op_name(node)}
    return source


def _stage_of(node) -> dict:
    build = _STAGE_READERS.get(type(node).__name__)
    stage = build(node) if build else {"kind": FROM_SCRIPT, "op": _op_name(node)}
    function = _function_name(node)
    origin = dict(_origin(node) or {})
    if function and stage["kind"] != FROM_SCRIPT:
        origin["function"] = function
    if origin:
        stage["origin"] = origin
    return stage


def _map(node) -> dict:
    return {"kind": "map", "num_parallel_calls": _calls(node)}


def _batch(node) -> dict:
    return {"kind": "batch", "batch_size": _integer(node._batch_size), "drop_remainder": _boolean(node._drop_remainder),
            **({"num_parallel_calls": _calls(node)} if hasattr(node, "_num_parallel_calls") else {})}


def _interleave(node) -> dict:
    return {"kind": "interleave", "cycle_length": _integer(node._cycle_length, autotune=True),
            "block_length": _integer(node._block_length), "num_parallel_calls": _calls(node)}


_STAGE_READERS: dict[str, Callable[[Any], dict]] = {
    "_MapDataset": _map,
    "_ParallelMapDataset": _map,
    "_BatchDataset": _batch,
    "_ParallelBatchDataset": _batch,
    "_PaddedBatchDataset": lambda node: {"kind": "padded_batch", "batch_size": _integer(node._batch_size),
                                         "drop_remainder": _boolean(node._drop_remainder)},
    "_PrefetchDataset": lambda node: {"kind": "prefetch", "buffer_size": _integer(node._buffer_size, autotune=True)},
    "_ShuffleDataset": lambda node: {"kind": "shuffle", "buffer_size": _integer(node._buffer_size),
                                     "reshuffle_each_iteration": bool(node._reshuffle_each_iteration)},
    "CacheDataset": lambda node: {"kind": "cache", "filename": _text(node._filename)},
    "_RepeatDataset": lambda node: {"kind": "repeat", "count": _integer(node._count)},
    "_FilterDataset": lambda node: {"kind": "filter"},
    "_InterleaveDataset": _interleave,
    "_ParallelInterleaveDataset": _interleave,
    "_UnbatchDataset": lambda node: {"kind": "flat_map", "fn": "unbatch"},
    "_FlatMapDataset": lambda node: {"kind": "flat_map"},
    "_ShardDataset": lambda node: {"kind": "shard", "num_shards": _integer(node._num_shards),
                                   "index": _integer(node._index)},
}


def _calls(node) -> int:
    return _integer(node._num_parallel_calls, autotune=True) if hasattr(node, "_num_parallel_calls") else 1


def _integer(tensor, autotune: bool = False) -> int:
    value = int(_value(tensor))
    return AUTOTUNE if autotune and value == -1 else value


def _boolean(tensor) -> bool:
    return bool(_value(tensor))


def _text(tensor) -> str:
    value = _value(tensor)
    return value.decode() if isinstance(value, bytes) else str(value)


def _value(tensor):
    return tensor.numpy() if hasattr(tensor, "numpy") else tensor


def _cardinality(node) -> int:
    try:
        return int(node.cardinality().numpy())  # −1: infinite; −2: unknown
    except Exception:  # a dataset whose cardinality cannot be read eagerly
        return -2


def _first_shape(node) -> list[int]:
    from core.engine.tf_runtime import tensorflow
    spec = tensorflow().nest.flatten(node.element_spec)[0]
    return [dimension if dimension is not None else 1 for dimension in spec.shape.as_list()] or [1]


def _first_filename(node) -> str:
    try:
        names = _value(node._filenames)
        first = names.flat[0] if hasattr(names, "flat") else names
        return first.decode() if isinstance(first, bytes) else str(first)
    except Exception:  # a file list that is not a constant
        return ""


def _function_name(node) -> Optional[str]:
    wrapper = getattr(node, "_map_func", None) or getattr(node, "_predicate", None)
    function = getattr(wrapper, "_func", None)
    name = getattr(function, "__name__", None)
    return None if not name or name == "<lambda>" else name


def _op_name(node) -> str:
    return type(node).__name__.strip("_").replace("DatasetV2", "Dataset")


def _stage_id_for(stage: dict) -> str:
    function = stage.get("origin", {}).get("function")
    if function and is_stage_id(function):
        return function
    return stage["op"].removesuffix("Dataset").lower() if stage["kind"] == FROM_SCRIPT else stage["kind"]


def _free_id(wanted: str, used: set) -> str:
    stage_id, index = wanted, 2
    while stage_id in used or stage_id in ("source", "feeder"):
        stage_id, index = f"{wanted}_{index}", index + 1
    used.add(stage_id)
    return stage_id
