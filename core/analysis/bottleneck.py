"""Which stage holds the steps back, and what to change: from throughput measured in isolation.

Input: the elements/s of each prefix of the pipeline on its own (the source alone, then the source and
the stages up to each one) and the steps/s of the model on its own, compared in steps/s (a prefix's
elements/s divided by how many of its elements make one step: the batch sizes after it). What a stage
adds to a step is the time per step of its prefix less that of the prefix before it. That holds both
ways tf.data runs stages: one at a time (a map of one call runs in its consumer's thread, so costs
add up along the chain) and side by side (a parallel stage works ahead in its own threads, so the
slowest one sets the pace and the others add nothing). The bottleneck is the stage that adds the most,
or `model` when the model is slower than the whole input.

A model that waits for each step's result (`model.sync: every_step`) is also measured launching ahead
(`window`): the difference is the host's hand-over of each batch, which the device then waits through
on every step, and launching ahead hides it.

Each recommendation changes one value (`PATH=VALUE`, as `--set` takes it) and predicts steps/s by the
same model: the input runs at its slowest part, and overlaps the model when the feeder buffers ahead
(tf.data with a prefetch, the queue runner) or adds to it when it does not (feed_dict).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from core.spec.catalog import Batching, Work
from core.spec.kinds import STAGES
from core.spec.params import AUTOTUNE
from core.spec.pipeline import PipelineSpec, buffer_setting, last_buffer_index

HEADROOM = 1.1  # size a fix for a little more than it must carry, so the next stage shows as the limit
MAX_PARALLEL_CALLS = 64
IDLE_WORTH_A_BUFFER = 0.05  # waiting although the input is fast enough: the buffer is too small
LAUNCHING_AHEAD_WORTH = 0.10  # below this gain (within a busy host's noise), how the model syncs is left as chosen


@dataclass(frozen=True)
class PrefixThroughput:
    stage_id: str  # "source" for the source alone
    kind: str
    elements_per_s: float
    elements_per_step: float

    @property
    def steps_per_s(self) -> float:
        return self.elements_per_s / self.elements_per_step


def elements_per_step(spec: PipelineSpec, stage_count: int) -> float:
    """How many elements leaving the first `stage_count` stages make one step (one element at the model)."""
    factor, last_batch = 1.0, None
    for index, stage in enumerate(spec.stages):
        batching = STAGES.get(stage.kind, "kind").batching_for(stage.params)
        if batching is Batching.MAKES:
            last_batch = stage.params["batch_size"]
            if index >= stage_count:
                factor *= last_batch
        elif batching is Batching.UNMAKES and index >= stage_count and last_batch:
            factor /= last_batch
    return factor


def overlapped(spec: PipelineSpec) -> bool:
    """Whether input and model run at once: a buffer between them (queue, prefetch)."""
    if spec.feeder.kind == "feed_dict":
        return False
    return buffer_setting(spec) is not None or bool(spec.feeder.params.get("inject_prefetch"))


def predicted_steps_per_s(spec: PipelineSpec, input_steps_per_s: float, model_steps_per_s: float) -> float:
    if min(input_steps_per_s, model_steps_per_s) <= 0:
        return 0.0
    if overlapped(spec):
        return min(input_steps_per_s, model_steps_per_s)
    return 1.0 / (1.0 / input_steps_per_s + 1.0 / model_steps_per_s)


def added_seconds(prefixes: list[PrefixThroughput]) -> list[float]:
    """Per prefix, the seconds per step it adds to the one before it (the source: all of its own)."""
    times = [1.0 / p.steps_per_s if p.steps_per_s > 0 else float("inf") for p in prefixes]
    return [times[0]] + [later - earlier for earlier, later in zip(times, times[1:])]


def find_bottleneck(prefixes: list[PrefixThroughput], model_steps_per_s: float) -> str:
    if model_steps_per_s <= prefixes[-1].steps_per_s:
        return "model"
    added = added_seconds(prefixes)
    return prefixes[max(range(len(prefixes)), key=added.__getitem__)].stage_id


def analyze(spec: PipelineSpec, prefixes: list[PrefixThroughput], model_steps_per_s: float, cores: int,
            measured: Optional[dict] = None, launching_ahead_steps_per_s: Optional[float] = None) -> dict:
    """analysis.json's figures: stages, model_steps_per_s, bottleneck, recommendations (best first).

    `measured`, a normal run's summary, adds what the run achieved and tf.data's live per-stage rates;
    `launching_ahead_steps_per_s`, the model alone with `sync: window` where it syncs every step."""
    input_rate = prefixes[-1].steps_per_s
    bottleneck = find_bottleneck(prefixes, model_steps_per_s)
    recommendations = _recommendations(spec, prefixes, model_steps_per_s, cores, bottleneck, measured)
    recommendations.append(_sync_recommendation(spec, input_rate, model_steps_per_s, launching_ahead_steps_per_s))
    live = (measured or {}).get("stages") or {}
    ahead = {} if launching_ahead_steps_per_s is None else {
        "model_launching_ahead_steps_per_s": round(launching_ahead_steps_per_s, 2)}
    return {
        "stages": [_stage_entry(p, live.get(p.stage_id)) for p in prefixes],
        "input_steps_per_s": round(input_rate, 2),
        "model_steps_per_s": round(model_steps_per_s, 2),
        **ahead,
        "predicted_steps_per_s": round(predicted_steps_per_s(spec, input_rate, model_steps_per_s), 2),
        "bottleneck": bottleneck,
        "recommendations": sorted(filter(None, recommendations), key=lambda r: -r["expected_steps_per_s"]),
        "cores": cores,
    }


def _stage_entry(p: PrefixThroughput, live: Optional[dict]) -> dict:
    entry = {"id": p.stage_id, "kind": p.kind, "elements_per_s": round(p.elements_per_s, 2),
             "steps_per_s": round(p.steps_per_s, 2), "elements_per_step": p.elements_per_step}
    if live and live.get("elements_per_s") is not None:
        entry["live_elements_per_s"] = live["elements_per_s"]
    return entry


def _recommendations(spec, prefixes, model_rate, cores, bottleneck, measured) -> list[dict]:
    if prefixes[-1].steps_per_s <= 0:
        return []  # no data came at all: no setting changes that
    found = []
    if bottleneck == "model":
        found.append(_buffer_recommendation(spec, model_rate, measured))
    else:
        index = next(i for i, p in enumerate(prefixes) if p.stage_id == bottleneck)
        found.append(_parallelism_recommendation(spec, prefixes, index, model_rate, cores))
    found.append(_feeder_recommendation(spec, prefixes[-1].steps_per_s, model_rate))
    return [recommendation for recommendation in found if recommendation is not None]


def _recommendation(text: str, change: str, expected: float) -> dict:
    return {"text": text, "change": change, "expected_steps_per_s": round(expected, 2)}


def _parallelism_recommendation(spec, prefixes, index, model_rate, cores) -> Optional[dict]:
    """More calls in flight for the bottleneck stage, sized to carry what the rest of the input and the
    model can take; a CPU stage gains nothing past the host's cores.

    One call at a time, the stage's own time per step is what it adds; with several, they work side by
    side and set the pace, so each call takes calls ÷ rate. The rest of the input runs at the time per
    step of the whole less what this stage adds."""
    if index == 0:
        return None  # the source alone is the limit: it has no parallelism to raise
    stage = spec.stages[index - 1]
    kind = STAGES.get(stage.kind, "kind")
    calls = stage.params.get(kind.parallel_param) if kind.parallel_param else None
    if calls in (None, AUTOTUNE):
        return None  # one at a time by design (None), or tf.data already chooses (AUTOTUNE)
    added, here = added_seconds(prefixes)[index], prefixes[index].steps_per_s
    per_call_s = added if calls == 1 else calls / here
    rest = 1.0 / max(1.0 / prefixes[-1].steps_per_s - added, 1e-9)
    needed = math.ceil(min(rest, model_rate) * HEADROOM * per_call_s)
    new_calls = min(needed, cores if kind.work is Work.CPU else MAX_PARALLEL_CALLS)
    if new_calls <= calls:
        return None
    expected = predicted_steps_per_s(spec, min(rest, new_calls / per_call_s), model_rate)
    return _recommendation(
        f"{stage.id} adds {1000 * added:.1f} ms to every step with {calls} call{'s' if calls > 1 else ''} in "
        f"flight, the most of any stage (the input gives {prefixes[-1].steps_per_s:.0f} steps/s, the model "
        f"takes {model_rate:.0f}): set {stage.id}.{kind.parallel_param} to {new_calls}",
        f"stages.{stage.id}.{kind.parallel_param}={new_calls}", expected)


def _feeder_recommendation(spec, input_rate, model_rate) -> Optional[dict]:
    """feed_dict adds input time to every step: tf.data with a prefetch overlaps it (if one is described)."""
    if spec.feeder.kind != "feed_dict" or last_buffer_index(spec) is None:
        return None
    expected = min(input_rate, model_rate)
    return _recommendation(
        f"feed_dict makes each batch while the model waits ({1000 / input_rate:.1f} ms a step): "
        f"the tf_data feeder overlaps it with compute through the pipeline's prefetch",
        "feeder.kind=tf_data", expected)


def _buffer_recommendation(spec, model_rate, measured) -> Optional[dict]:
    """The input is fast enough on average yet the model waits: a deeper buffer absorbs the jitter."""
    if not measured or (measured.get("idle_fraction") or 0.0) < IDLE_WORTH_A_BUFFER:
        return None
    setting = buffer_setting(spec)
    if setting is None or setting[1] == AUTOTUNE:
        return None
    path, size = setting
    return _recommendation(
        f"the input keeps up on average, yet the model waited {100 * measured['idle_fraction']:.0f}% of the time: "
        f"a deeper buffer absorbs the jitter: set {path.removeprefix('stages.')} to {2 * size}",
        f"{path}={2 * size}", model_rate)


def _sync_recommendation(spec, input_rate, model_rate, ahead_rate) -> Optional[dict]:
    """Launching ahead, where the model waits for every step's result and would gain by not waiting."""
    if ahead_rate is None or min(input_rate, model_rate, ahead_rate) <= 0:
        return None
    expected = predicted_steps_per_s(spec, input_rate, ahead_rate)
    if expected < predicted_steps_per_s(spec, input_rate, model_rate) * (1 + LAUNCHING_AHEAD_WORTH):
        return None
    handover_ms = 1000 / model_rate - 1000 / ahead_rate
    return _recommendation(
        f"the model waits for each step's result before it takes the next batch, so the {handover_ms:.2f} ms "
        f"of handing one over adds to every step (the model alone: {model_rate:.0f} steps/s, "
        f"{ahead_rate:.0f} when it launches ahead): set model.sync to window, so the host takes the next "
        f"batch while the device runs", "model.sync=window", expected)
