"""Structural edits of a description that tuning proposes: caching a pipeline's deterministic front, a
model that launches ahead instead of waiting for every step, and every knob set to AUTOTUNE (tf.data's
own tuning, the baseline the tuner is compared with).

A cache only helps once it is full, and fills only when the data it caches ends: `repeat` before a cache
makes the data endless, so the cache never completes and every element is made again. Caching therefore
moves every `repeat` in front of it to just after it.
"""
from __future__ import annotations

from typing import Optional

from core.spec.kinds import STAGES
from core.spec.params import AUTOTUNE
from core.spec.pipeline import PipelineSpec, Stage

# Stages whose output differs from pass to pass: a cache after them would freeze one pass's randomness.
RANDOM_MAP_FUNCTIONS = ("random_flip", "random_crop")
CACHE_ID = "cache"


def is_deterministic(stage: Stage) -> bool:
    if stage.kind == "shuffle" or stage.kind == "cache":
        return False
    return not (stage.kind == "map" and stage.params.get("fn") in RANDOM_MAP_FUNCTIONS)


def data_ends(spec: PipelineSpec) -> bool:
    """Whether the source's data is finite (an endless source never fills a cache)."""
    return spec.source.params.get("count") != -1


def cache_positions(spec: PipelineSpec) -> list[str]:
    """Ids of the stages a cache could follow, latest (caching the most work) first: within the
    deterministic front of a pipeline over finite data that has no cache yet, before any prefetch."""
    if not data_ends(spec) or any(stage.kind == "cache" for stage in spec.stages):
        return []
    positions = []
    for stage in spec.stages:
        if not is_deterministic(stage) or stage.kind in ("prefetch", "prefetch_to_device"):
            break
        if stage.kind != "repeat":
            positions.append(stage.id)
    return positions[::-1]


def with_cache_after(spec: PipelineSpec, stage_id: str) -> PipelineSpec:
    """A copy with a memory cache after `stage_id`, and the repeats before it moved to after it."""
    edited = spec.copy()
    index = next(i for i, stage in enumerate(edited.stages) if stage.id == stage_id)
    front, back = edited.stages[:index + 1], edited.stages[index + 1:]
    repeats = [stage for stage in front if stage.kind == "repeat"]
    cache = Stage(_free_id(spec, CACHE_ID), "cache", STAGES.get("cache", "kind").defaults())
    edited.stages = [stage for stage in front if stage.kind != "repeat"] + [cache, *repeats] + back
    return edited


def launching_ahead(spec: PipelineSpec) -> Optional[PipelineSpec]:
    """A copy whose model launches steps without waiting for each (`sync: window`); None where the model
    has no such choice or already launches ahead."""
    if spec.model.params.get("sync") != "every_step":
        return None
    edited = spec.copy()
    edited.model.params["sync"] = "window"
    return edited


def autotuned(spec: PipelineSpec) -> PipelineSpec:
    """A copy with every parallelism and buffer that may be AUTOTUNE set to it, and tf.data's autotuner on."""
    edited = spec.copy()
    for stage in edited.stages:
        _autotune_params(STAGES.get(stage.kind, "kind"), stage.params)
    if "autotune" in edited.feeder.params:
        edited.feeder.params["autotune"] = True
    return edited


def autotune_baseline(given: PipelineSpec, best: PipelineSpec) -> PipelineSpec:
    """The description as given under AUTOTUNE, with the model as `best` runs it. AUTOTUNE tunes the input
    only, so a model setting the search changed (launching ahead) is kept: the comparison is then of the
    input's tuning alone."""
    baseline = autotuned(given)
    baseline.model = best.copy().model
    return baseline


def _autotune_params(kind, params: dict) -> None:
    for name in (kind.parallel_param, kind.buffer_param):
        if name is not None and kind.param(name).autotune:
            params[name] = AUTOTUNE


def _free_id(spec: PipelineSpec, wanted: str) -> str:
    taken = {stage.id for stage in spec.stages}
    number: Optional[int] = None
    while (f"{wanted}{number or ''}") in taken:
        number = (number or 1) + 1
    return f"{wanted}{number or ''}"
