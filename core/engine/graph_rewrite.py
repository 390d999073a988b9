"""Changing a watched script's pipeline while it trains (`watch`, issue 16 §6).

The script's dataset is serialized to its graph, the constant behind a parameter is replaced
(num_parallel_calls, buffer_size, cycle_length, block_length, a batch's parallelism), and the
dataset is made again from the graph (`DatasetFromGraph`, `from_variant` with the old element
spec) with the script's options applied again, without which autotune's live model is lost. A
plain `.map(fn)` or `.batch(n)` has no parallelism to change: given calls, its node becomes the
parallel op (`ParallelMapDatasetV2`, `ParallelBatchDataset`). Stages are found from the sink:
the description's last stage is the graph's last dataset node, and so on back, past tf.data's
own wrappers (options); a node that is not of the stage's kind is refused by name.

`continue_from(old_iterator, dataset)` makes the new iterator go on where the old one was, through
a checkpoint of the old iterator; a pipeline that cannot be checkpointed (a `py_function` is
stateful) raises `DataRestartNeeded`, and the caller decides whether starting the data again is
allowed.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from core.spec.params import AUTOTUNE

_DATASET_SUFFIXES = ("Dataset", "DatasetV2", "DatasetV3", "DatasetV4")
_WRAPPER_OPS = frozenset({"OptionsDataset", "ModelDataset", "OptimizeDatasetV2", "OptimizeDataset",
                          "FinalizeDataset"})
# Per stage kind, the graph ops it may be and, for a parameter the plain op lacks, the op it becomes.
_KIND_OPS = {
    "map": {"MapDataset", "ParallelMapDataset", "ParallelMapDatasetV2"},
    "batch": {"BatchDataset", "BatchDatasetV2", "ParallelBatchDataset"},
    "prefetch": {"PrefetchDataset"},
    "shuffle": {"ShuffleDataset", "ShuffleDatasetV2", "ShuffleDatasetV3"},
    "interleave": {"InterleaveDataset", "ParallelInterleaveDatasetV2", "ParallelInterleaveDatasetV3",
                   "ParallelInterleaveDatasetV4"},
}
_MADE_PARALLEL = {("MapDataset", "num_parallel_calls"): "ParallelMapDatasetV2",
                  ("BatchDatasetV2", "num_parallel_calls"): "ParallelBatchDataset"}
_NEW_ATTR_DEFAULTS = {"deterministic": "default", "use_unbounded_threadpool": False, "parallel_copy": False}


class RewriteRefused(Exception):
    """The change cannot be placed in the graph: said in one line, and the job trains on."""


class DataRestartNeeded(Exception):
    """The old iterator cannot be checkpointed (a stateful op, such as a py_function): the rebuilt
    pipeline would start its data again."""


@dataclass(frozen=True)
class Setting:
    """A parameter of the stage `index_from_end` places before the pipeline's end (0: its last stage)."""

    index_from_end: int
    stage_kind: str
    param: str
    value: Any  # AUTOTUNE allowed


def rewritten(dataset, settings: list[Setting]):
    """`dataset` made again, once, with each of `settings` in its graph."""
    import tensorflow as tf
    graph = _graph_of(dataset)
    chain = _stage_chain(graph)
    for setting in settings:
        _set_param(graph, _stage_node(chain, setting.index_from_end, setting.stage_kind), setting.param,
                   setting.value)
    variant = tf.raw_ops.DatasetFromGraph(graph_def=graph.SerializeToString())
    remade = tf.data.experimental.from_variant(variant, structure=dataset.element_spec)
    return remade.with_options(dataset.options())


def _graph_of(dataset):
    import tensorflow as tf
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(dataset._as_serialized_graph(external_state_policy=_ignore_state()).numpy())
    return graph


_NOT_CHECKPOINTABLE_OPS = frozenset({"EagerPyFunc", "PyFunc", "PyFuncStateless"})  # py_function, numpy_function


def position_carried_over(dataset) -> bool:
    """Whether an iterator over `dataset` can be checkpointed, so that a rebuilt pipeline goes on where
    it was: not when it runs Python (py_function, numpy_function, from_generator)."""
    graph = _graph_of(dataset)
    ops = {node.op for node in graph.node}
    ops.update(node.op for function in graph.library.function for node in function.node_def)
    return not ops & _NOT_CHECKPOINTABLE_OPS


def continue_from(old_iterator, dataset, allow_data_restart: bool = False):
    """A new iterator over `dataset` at the old one's position (its checkpoint restored)."""
    import tensorflow as tf
    new_iterator = iter(dataset)
    folder = tempfile.mkdtemp(prefix="pipescope-position-")
    try:
        try:
            path = tf.train.Checkpoint(iterator=old_iterator).write(f"{folder}/position")
        except Exception as error:  # FailedPrecondition: "… is stateful" (py_function, numpy_function)
            if not allow_data_restart:
                raise DataRestartNeeded(_first_line(str(error))) from None
            return new_iterator
        tf.train.Checkpoint(iterator=new_iterator).read(path).assert_consumed()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return new_iterator


def _ignore_state():
    import tensorflow as tf
    return tf.data.experimental.ExternalStatePolicy.IGNORE


def _stage_chain(graph) -> list:
    """The graph's dataset nodes from the sink back along each one's first input, tf.data's wrappers left out."""
    nodes = {node.name: node for node in graph.node}
    sink = next(node for node in graph.node if node.op == "_Retval")
    chain, name = [], sink.input[0]
    while name:
        node = nodes[name.split(":")[0].lstrip("^")]
        if node.op not in _WRAPPER_OPS:
            chain.append(node)
        name = node.input[0] if node.input and node.op.endswith(_DATASET_SUFFIXES) else ""
    return chain


def _stage_node(chain: list, stage_index_from_end: int, stage_kind: str):
    if stage_index_from_end >= len(chain):
        raise RewriteRefused("the stage is not in the pipeline's graph")
    node = chain[stage_index_from_end]
    if node.op not in _KIND_OPS.get(stage_kind, ()):
        raise RewriteRefused(f"the stage is a {node.op} in the pipeline's graph, not a {stage_kind}")
    return node


def _set_param(graph, node, param: str, value: Any) -> None:
    from tensorflow.python.framework import op_def_registry
    becomes = _MADE_PARALLEL.get((node.op, param))
    if becomes is not None:
        _make_parallel(node, op_def_registry.get(becomes), param, graph, value)
        return
    op_def = op_def_registry.get(node.op)
    position = _input_position(node, op_def, param)
    if position is None:
        raise RewriteRefused(f"{node.op} has no {param}")
    node.input[position] = _constant(graph, node.name, param, value, _input_dtype(op_def, param))


def _make_parallel(node, op_def, param: str, graph, value: Any) -> None:
    """The plain op as its parallel twin: the same inputs and function, `param` added where the op
    takes it, the attributes the new op knows (defaults for those the old one lacked)."""
    from tensorflow.core.framework import attr_value_pb2
    old_inputs = list(node.input)
    node.op = op_def.name
    for name in [name for name in node.attr if name not in {attr.name for attr in op_def.attr}]:
        del node.attr[name]
    for attr in op_def.attr:
        if attr.name not in node.attr and attr.name in _NEW_ATTR_DEFAULTS:
            default = _NEW_ATTR_DEFAULTS[attr.name]
            node.attr[attr.name].CopyFrom(attr_value_pb2.AttrValue(s=default.encode()) if isinstance(default, str)
                                          else attr_value_pb2.AttrValue(b=default))
    position = _input_position(node, op_def, param)
    old_inputs.insert(position, _constant(graph, node.name, param, value, _input_dtype(op_def, param)))
    del node.input[:]
    node.input.extend(old_inputs)


def _input_position(node, op_def, param: str):
    """The flat index of the input `param` (list inputs, a function's captured arguments, counted)."""
    position = 0
    for argument in op_def.input_arg:
        if argument.name == param:
            return position
        if argument.type_list_attr:
            position += len(node.attr[argument.type_list_attr].list.type)
        elif argument.number_attr:
            position += node.attr[argument.number_attr].i
        else:
            position += 1
    return None


def _input_dtype(op_def, param: str):
    from tensorflow.python.framework import dtypes
    argument = next(argument for argument in op_def.input_arg if argument.name == param)
    return dtypes.as_dtype(argument.type)


def _constant(graph, consumer: str, param: str, value: Any, dtype) -> str:
    """A new Const node holding `value` for `consumer`'s `param`; its name."""
    from tensorflow.python.framework import tensor_util
    name = f"{consumer}/pipescope_{param}"
    existing = [node for node in graph.node if node.name == name]
    node = existing[0] if existing else graph.node.add()
    node.name, node.op = name, "Const"
    node.attr["dtype"].type = dtype.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(-1 if value == AUTOTUNE else value, dtype))
    return name


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
