"""Which of a pipeline's parameters the what-if panel offers, read from the kind catalog, and where a cache may go.

A knob is a numeric parameter of a block (a stage, the feeder, the model) whose name is one of the
settings that decide where the accelerator waits: parallelism, buffer and batch sizes, queue threads
and capacity, simulated costs, the simulated step. Whether a block has one, its type, its range and
whether it takes AUTOTUNE come from the block's Kind, so a new kind with such a parameter gets a
knob without this module knowing it. Slider ranges are the parameter's own, clipped to a span a
slider can be dragged across (the number beside it still takes the full range).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.spec.catalog import Kind
from core.spec.edits import data_ends
from core.spec.kinds import STAGES
from core.spec.params import Param
from gui.document import FEEDER, MODEL, PipelineDocument, stage_key

# The knobs, by parameter name, with the largest value their slider reaches unless the value is larger.
SLIDER_MAXIMA = {
    "num_parallel_calls": 16,
    "buffer_size": 64,
    "batch_size": 512,
    "threads": 16,
    "capacity": 64,
    "ms": 100.0,
    "step_ms": 100.0,
}
CACHE_KIND = "cache"


@dataclass(frozen=True)
class Knob:
    key: str  # the document's block key: `stages.io`, `feeder`, `model`
    owner: str  # what the user calls the block: the stage's id, "feeder", "model"
    param: Param

    @property
    def label(self) -> str:
        return f"{self.owner} · {self.param.name}"

    @property
    def is_float(self) -> bool:
        return self.param.type == "float"

    def slider_span(self, value=None) -> tuple[float, float]:
        """From the parameter's minimum to the slider's maximum, stretched to show `value`."""
        low = self.param.min if self.param.min is not None else 0
        high = SLIDER_MAXIMA[self.param.name]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            high = max(high, value)
        if self.param.max is not None:
            high = min(high, self.param.max)
        return low, high


def is_knob(param: Param) -> bool:
    # An optional parameter's "none" is a mode of its own (batch: one at a time), not a slider value.
    return param.name in SLIDER_MAXIMA and param.type in ("int", "float") and not param.optional


def knobs_of(document: PipelineDocument) -> list[Knob]:
    """The pipeline's knobs in its order: each stage's, then the feeder's, then the model's."""
    blocks = [(stage_key(stage_id), stage_id) for stage_id in document.stage_ids()]
    blocks += [(FEEDER, FEEDER), (MODEL, MODEL)]
    return [Knob(key, owner, param) for key, owner in blocks
            for param in document.kind_of(key).params if is_knob(param)]


def structure_of(document: PipelineDocument) -> tuple:
    """What the panel's rows are made from: the blocks and their kinds (values left out)."""
    keys = [stage_key(stage_id) for stage_id in document.stage_ids()] + [FEEDER, MODEL]
    return tuple((key, document.kind_of(key).name) for key in keys)


def cache_stage_id(document: PipelineDocument) -> Optional[str]:
    """The (first) cache stage the panel places, if the pipeline has one."""
    for stage_id in document.stage_ids():
        if document.kind_of(stage_key(stage_id)).name == CACHE_KIND:
            return stage_id
    return None


def cache_positions(document: PipelineDocument) -> list[tuple[int, str]]:
    """(index among the other stages, "after <id>") for each place a cache may go: where every stage's
    own rule of position (prefetch_to_device last) still holds with the cache there."""
    cache_id = cache_stage_id(document)
    others = [stage_id for stage_id in document.stage_ids() if stage_id != cache_id]
    kinds = [document.kind_of(stage_key(stage_id)) for stage_id in others]
    cache_kind = STAGES.get(CACHE_KIND, "kind")
    positions = []
    for index in range(len(others) + 1):
        if _positions_hold(kinds[:index] + [cache_kind] + kinds[index:]):
            positions.append((index, "after source" if index == 0 else f"after {others[index - 1]}"))
    return positions


def cache_position(document: PipelineDocument) -> Optional[int]:
    """Where the cache stage is, as an index among the other stages; None without one."""
    cache_id = cache_stage_id(document)
    return None if cache_id is None else document.stage_ids().index(cache_id)


def why_cache_never_fills(document: PipelineDocument) -> Optional[str]:
    """Why the cache placed cannot save any work, if so (core.spec.edits: a cache fills only once the
    data before it ends)."""
    cache_id = cache_stage_id(document)
    if cache_id is None or document.problems():
        return None
    stage_ids = document.stage_ids()
    repeats = [stage_id for stage_id in stage_ids[:stage_ids.index(cache_id)]
               if document.kind_of(stage_key(stage_id)).name == "repeat"]
    if repeats:
        return f"'{repeats[0]}' before the cache repeats the data forever: the cache never fills, it only grows."
    if not data_ends(document.spec()):
        return "The source never ends (count −1): the cache never fills, it only grows in memory."
    return None


def _positions_hold(kinds: list[Kind]) -> bool:
    return all(kind.check_position is None or kind.check_position(index, len(kinds)) is None
               for index, kind in enumerate(kinds))
