"""What tf.data's live model of a running iterator says about the pipeline's stages.

`tf.data.experimental.get_model_proto(iterator)` describes the iterator as a
chain of nodes (Root ← Prefetch ← Map ← ...), each with `buffered_elements`
and a cumulative `num_elements`. Nodes carry tf.data's own type names, never
the `name=` given to a transformation (checked with TensorFlow 2.21), and
graph rewrites rename and fuse them (map + batch become `MapAndBatch`,
consecutive maps become one `ParallelMapV2`), so nodes are matched to stages
by an order-preserving alignment on kind-compatible names (`stage_nodes`); a
stage fused into a neighbour shares that neighbour's node. The same model
names the stage a stalled run is stuck in (`stuck_stage`).

"No figures yet" and "no figures ever" differ: when tf.data can never give
this iterator's live model, `known_reasons`, `failure_reason` (and, for the
summary, `stage_figures_unavailable`) say why in a sentence. The cases, from
TensorFlow's source (2.21):
- autotune off: `IteratorGetModelProto` fails with NotFound ("Cannot find this
  iterator's analytical model");
- the iterator on a GPU: `prefetch_to_device(/GPU:0)` makes the iterator from a
  GeneratorDataset placed on the GPU (`_CopyToDeviceDataset`), so the iterator
  resource lives there, and `IteratorGetModelProto` has a CPU kernel only;
- prefetch_to_device on the CPU: the model exists but holds only Prefetch ←
  Generator; the stages before it run in a host iterator the generator makes
  inside a remote function, whose handle Python never sees, so there is no
  host-side model to read instead. A kind says so as a fact of its own
  (`Kind.hides_stages_before`): only it and the stages after it have figures.
The run's probes (`core.engine.probes`) read it on their own thread; no Qt.
"""
from __future__ import annotations

import re
import sys
from typing import Optional

from core.engine.tf_runtime import tensorflow
from core.spec.catalog import Batching
from core.spec.kinds import STAGES
from core.spec.pipeline import last_buffer_index

# The tf_data feeder counts produced elements with a map just before the last buffer.
_PROBE = ("", "map")


def node_base_name(name: str) -> str:
    return re.sub(r"V\d+$", "", name).lower()


def compatible(kind: str, node_name: str) -> bool:
    """Whether a stage of `kind` may be this node (the catalog's node names; "" is the feeder's probe)."""
    names = STAGES.get(kind, "kind").node_names if kind in STAGES else ()
    return node_base_name(node_name) in names


def node_chain(model) -> list:
    """The model's nodes from the source to the sink, following each node's first input."""
    nodes = model.nodes
    chain, node_id, seen = [], model.output, set()
    while node_id is not None and node_id in nodes and node_id not in seen:
        seen.add(node_id)
        node = nodes[node_id]
        if node.name != "Root":
            chain.append(node)
        node_id = node.inputs[0] if node.inputs else None
    chain.reverse()
    return chain


def _hiding_stage(spec) -> Optional[int]:
    """The index of the last stage whose kind hides the stages before it from the live model, or None."""
    hiding = [index for index, stage in enumerate(spec.stages)
              if stage.kind in STAGES and STAGES.get(stage.kind, "kind").hides_stages_before]
    return hiding[-1] if hiding else None


def _expected_stages(spec) -> list[tuple[str, str]]:
    """(stage id, kind) in order, with the feeder's counting map where it inserts it."""
    expected = [(stage.id, stage.kind) for stage in spec.stages]
    if spec.feeder.kind == "tf_data":
        index = last_buffer_index(spec)
        expected.insert(len(expected) if index is None else index, _PROBE)
    hiding = _hiding_stage(spec)
    if hiding is not None:  # the stages before it are out of the model's sight
        return expected[expected.index((spec.stages[hiding].id, spec.stages[hiding].kind)):]
    return expected


def match_weight(expected_id: str, kind: str, node_name: str) -> int:
    """2 for a node this kind plainly becomes, 1 for a fused node it may hide in, 0 for no match."""
    if not compatible(kind, node_name):
        return 0
    if kind == _PROBE[1] and expected_id == _PROBE[0]:
        return 3  # the feeder's own counting map is certainly there: anchor on it
    # A map is only the junior partner of MapAndBatch: the node is the batch's.
    fused = node_base_name(node_name) == "mapandbatch"
    return 1 if fused and STAGES.get(kind, "kind").batching is Batching.KEEPS else 2


def align(expected: list[tuple[str, str]], chain: list) -> dict[str, int]:
    """Stage id → index in `chain`: the order-preserving matching with the best total weight.

    Ties go to nodes nearer the sink: the source's own nodes sit at the start of the chain.
    """
    m, n = len(expected), len(chain)
    best = [[0] * (n + 1) for _ in range(m + 1)]
    weight = [[match_weight(stage_id, kind, node.name) * 1_000_000 + j + 1 if compatible(kind, node.name) else 0
               for j, node in enumerate(chain)] for stage_id, kind in expected]
    for i in range(m - 1, -1, -1):
        for j in range(n - 1, -1, -1):
            match = best[i + 1][j + 1] + weight[i][j] if weight[i][j] else 0
            best[i][j] = max(best[i + 1][j], best[i][j + 1], match)
    matched, i, j = {}, 0, 0
    while i < m and j < n:
        if weight[i][j] and best[i][j] == best[i + 1][j + 1] + weight[i][j]:
            matched[expected[i][0]] = j
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    matched.pop(_PROBE[0], None)
    return matched


def _fused_partner(index: int, expected, matched: dict, chain) -> Optional[str]:
    """The nearest matched neighbour whose node this unmatched stage may have been fused into."""
    kind = expected[index][1]
    for step in (1, -1):
        other = index + step
        while 0 <= other < len(expected):
            stage_id = expected[other][0]
            if stage_id in matched:
                if compatible(kind, chain[matched[stage_id]].name):
                    return stage_id
                break
            other += step
    return None


# ---------------------------------------------------------------- when there is no live model

LIVE_MODEL_OP = "IteratorGetModelProto"


def iterator_device(iterator) -> Optional[str]:
    """The device the iterator's resource lives on (`/job:…/device:GPU:0`), or None when unknown."""
    inner = getattr(iterator, "_iterator", iterator)  # a NumpyIterator wraps the OwnedIterator
    resource = getattr(inner, "_iterator_resource", None)
    try:
        return getattr(resource, "device", None) or None
    except Exception:  # a resource of another kind: the device is unknown, not an error
        return None


def short_device(device: str) -> str:
    """`/job:localhost/replica:0/task:0/device:GPU:0` → `/GPU:0`."""
    match = re.search(r"(?:device:)?([A-Za-z_]+):(\d+)$", device)
    return f"/{match.group(1).upper()}:{match.group(2)}" if match else device


def _on_cpu(device: str) -> bool:
    return short_device(device).startswith("/CPU:")


def _autotune_off(spec) -> bool:
    return spec.feeder.kind == "tf_data" and spec.feeder.params.get("autotune") is False


def _autotune_reason() -> str:
    return "autotune is off (feeder.autotune: false), and tf.data keeps its live model only while it autotunes"


def _device_reason(device: str, spec) -> str:
    last = spec.stages[-1] if spec.stages else None
    how = f" (stage '{last.id}', prefetch_to_device)" if last is not None and last.kind == "prefetch_to_device" else ""
    return (f"the iterator runs on {short_device(device)}{how} and tf.data's live model "
            f"({LIVE_MODEL_OP}) only runs on the CPU")


def _hidden_stages_reason(spec) -> str:
    index = _hiding_stage(spec)
    hiding = spec.stages[index]
    shown = "', '".join(stage.id for stage in spec.stages[index:])
    where = STAGES.get(hiding.kind, "kind").hides_stages_before
    return (f"only '{shown}' {'has' if shown == hiding.id else 'have'} figures: the stages before "
            f"'{hiding.id}' {where}, which tf.data's live model does not see into")


def stage_figures_unavailable(iterator, spec, device: Optional[str] = None) -> Optional[str]:
    """Why this run can have no (or only some) per-stage figures, in one sentence; None when it can.

    Known without asking TensorFlow, so it is cheap and safe to call from any thread, before,
    during or after the run: autotune off, an iterator on a GPU (`device` overrides the iterator's
    own, for tests), or a prefetch_to_device that hides the stages before it. For summary.json's
    `stages_unavailable`.
    """
    no_model = _no_model_reason(spec, device or iterator_device(iterator))
    if no_model is None and _hiding_stage(spec) is not None:
        return _hidden_stages_reason(spec)
    return no_model


def _no_model_reason(spec, device: Optional[str]) -> Optional[str]:
    if _autotune_off(spec):
        return _autotune_reason()
    if device is not None and not _on_cpu(device):
        return _device_reason(device, spec)
    return None


def _reason_for_failure(error: BaseException, device: Optional[str], spec) -> Optional[str]:
    """Why reading the live model failed for good, or None when the failure may pass."""
    text = str(error)
    if "analytical model" in text:  # NotFound: the iterator was made with autotune off
        return _autotune_reason()
    if device is not None and not _on_cpu(device):
        return _device_reason(device, spec)
    if LIVE_MODEL_OP in text and ("kernel" in text.lower() or "device" in text.lower()):
        return _device_reason(device or "a device other than the CPU", spec)
    if isinstance(error, ValueError):  # graph mode, or not a tf.data iterator
        return f"tf.data's live model cannot be read for this iterator ({_first_line(text)})"
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def read_model_proto(iterator):
    """tf.data's live model of the iterator (a ModelProto); raises where there is none."""
    tf = tensorflow()

    return tf.data.experimental.get_model_proto(iterator)


def known_reasons(spec, device: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(unavailable, partial) for an iterator that has just been made: why it can never have
    figures, or why only some stages will, each None when not so."""
    unavailable = _no_model_reason(spec, device)
    hidden = unavailable is None and _hiding_stage(spec) is not None
    return unavailable, _hidden_stages_reason(spec) if hidden else None


def failure_reason(error: BaseException, device: Optional[str], spec, give_up: bool) -> Optional[str]:
    """Why reading the live model failed for good; None while it may pass, unless `give_up`."""
    reason = _reason_for_failure(error, device, spec)
    if reason is None and give_up:
        reason = f"tf.data's live model could not be read ({_first_line(str(error))})"
    return reason


def stage_nodes(model, spec) -> dict:
    """Stage id → (its node in the model, the stage whose node it was fused into or None)."""
    chain = node_chain(model)
    expected = _expected_stages(spec)
    matched = align(expected, chain)
    nodes = {stage_id: (chain[index], None) for stage_id, index in matched.items()}
    for index, (stage_id, _) in enumerate(expected):
        if stage_id and stage_id not in matched:
            partner = _fused_partner(index, expected, matched, chain)
            if partner is not None:
                nodes[stage_id] = (chain[matched[partner]], partner)
    return nodes


def stuck_stage(iterator, spec, waited_s: float = 0.0) -> Optional[str]:
    """The stage holding the element the consumer waits for: a stage id, "source", or None (unknown).

    Walking from the consumer towards the source, the first one-to-one node
    (map, prefetch, …) whose input has handed it more elements than it has
    produced or buffered is working on the missing element. Nodes that group
    or split elements (batch, unbatch) hold partial work by design and are
    passed over. tf.data's sleep waits before it pulls its input, so it holds
    nothing while it waits (one at a time directly, several at once each in a
    dataset of its own inside a parallel interleave, which the walk passes over
    too): a latency stage whose wait outlasts `waited_s` is the one. Otherwise
    the source is producing the element.
    """
    if iterator is None or "tensorflow" not in sys.modules:
        return None
    if _hiding_stage(spec) is not None or stage_figures_unavailable(iterator, spec) is not None:
        return None  # no live model, or the stages it could be stuck in are hidden from it
    try:
        chain = node_chain(read_model_proto(iterator))
    except Exception:  # no model for this iterator (graph mode) or an unexpected proto
        return None
    stage_at = {index: stage_id for stage_id, index in align(_expected_stages(spec), chain).items()}
    for j in range(len(chain) - 1, 0, -1):
        node, upstream = chain[j], chain[j - 1]
        if node.ratio == 1.0 and upstream.num_elements > node.num_elements + node.buffered_elements:
            return _stage_owning(j, stage_at)
    return _sleeping_stage(spec, waited_s) or "source"


_SLEEP_SLACK_S = 0.5


def _sleeping_stage(spec, waited_s: float) -> Optional[str]:
    """The last latency stage whose wait per element covers `waited_s`."""
    for stage in reversed(spec.stages):
        if stage.kind == "latency" and stage.params["ms"] / 1000.0 + _SLEEP_SLACK_S >= waited_s:
            return stage.id
    return None


def _stage_owning(index: int, stage_at: dict[int, str]) -> str:
    """The stage a node belongs to: matched to it, or the nearest matched stage before it."""
    owners = [i for i in stage_at if i <= index]
    return stage_at[max(owners)] if owners else "source"
