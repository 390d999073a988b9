"""Which stage holds a watched script's job back, and the line to change (`analyze RUN_DIR`, issue 16 §5).

A watched job's stages cannot be run on their own, as `analyze` runs a built-in pipeline's: they are
the script's code. tf.data's live model measured them while the job trained instead: per stage, the
time it spent producing each element (`processing_ms` over `produced`, in the latest configuration)
and how many elements it works on at once (its num_parallel_calls, or what
AUTOTUNE gave it). A stage's capacity is its parallelism over its time an element, in steps/s once
divided by the elements a step takes of it; the model's is one over its mean compute per step. A map
fused into its batch (MapAndBatch) is one node: its figures are the pair's, and the map's function
is what costs. The script's function is taken to work the CPU, so more calls than cores are not
counted on. The output has the shape of analysis.json, with each stage's line in the script.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from core.analysis.bottleneck import HEADROOM, elements_per_step, overlapped, predicted_steps_per_s
from core.spec.kinds import STAGES
from core.spec.params import AUTOTUNE
from core.spec.pipeline import PipelineSpec
from core.spec.records import (CONFIG_VERSION, SAMPLE_CONFIG_VERSION, SAMPLE_PROCESSING_MS, SAMPLE_PRODUCED,
                               SAMPLE_STAGE, T_DONE, T_READY, T_REQUEST, fused_with_id, timing)

IDLE_WORTH_A_CHANGE = 0.05  # below this share of waiting, the input does not hold the job


def analyze_watched(spec: PipelineSpec, stage_rows: np.ndarray, stage_ids: list[str], details: dict,
                    step_rows: np.ndarray, warmup_steps: int, cores: int) -> dict:
    """analysis.json's figures for a watched job, from its latest configuration's records."""
    steps = _latest_configuration(step_rows[warmup_steps:], CONFIG_VERSION)
    model_rate = _model_steps_per_s(steps)
    entries = [_stage_entry(spec, index, stage_rows, stage_ids, details) for index in range(len(spec.stages))]
    partners = {entry["fused_with"] for entry in entries if entry and entry.get("fused_with")}
    stages = [entry for entry in entries if entry is not None and entry["id"] not in partners]
    input_rate = min((entry["steps_per_s"] for entry in stages), default=math.inf)
    idle = _idle_fraction(steps)
    slowest = min(stages, key=lambda entry: entry["steps_per_s"], default=None)
    holds = slowest is not None and idle >= IDLE_WORTH_A_CHANGE and slowest["steps_per_s"] < model_rate
    bottleneck = slowest["id"] if holds else "model"
    recommendations = [_more_calls(spec, slowest, stages, model_rate, cores)] if holds else []
    if not overlapped(spec) and idle >= IDLE_WORTH_A_CHANGE and spec.stages:
        recommendations.append(_a_prefetch(spec, min(input_rate, model_rate)))
    return {
        "source": "watch",
        "stages": stages,
        "model_steps_per_s": round(model_rate, 2),
        "input_steps_per_s": None if math.isinf(input_rate) else round(input_rate, 2),
        "measured_steps_per_s": _steps_own_rate(steps),
        "idle_fraction": round(idle, 4),
        "predicted_steps_per_s": round(predicted_steps_per_s(spec, min(input_rate, 1e12), model_rate), 2),
        "bottleneck": bottleneck,
        "recommendations": [recommendation for recommendation in recommendations if recommendation],
        "cores": cores,
    }


def _latest_configuration(rows: np.ndarray, column: int) -> np.ndarray:
    return rows[rows[:, column] == rows[-1, column]] if len(rows) else rows


def _model_steps_per_s(steps: np.ndarray) -> float:
    compute = steps[:, T_DONE] - steps[:, T_READY] if len(steps) else np.array([])
    return 1.0 / float(compute.mean()) if len(compute) and compute.mean() > 0 else math.inf


def _steps_own_rate(steps: np.ndarray) -> Optional[float]:
    """Steps/s over the steps' own time: what the script does between them (a validation pass) left out,
    as it is out of the stages' and the model's figures."""
    seconds = float((steps[:, T_DONE] - steps[:, T_REQUEST]).sum()) if len(steps) else 0.0
    return round(len(steps) / seconds, 2) if seconds > 0 else None


def _idle_fraction(steps: np.ndarray) -> float:
    if len(steps) < 2:
        return 0.0
    return float(timing(steps, "wait_ms").sum() / timing(steps, "step_ms").sum())


def _stage_entry(spec: PipelineSpec, index: int, stage_rows: np.ndarray, stage_ids: list[str],
                 details: dict) -> Optional[dict]:
    stage = spec.stages[index]
    if stage.id not in stage_ids:
        return None
    rows = _latest_configuration(stage_rows[stage_rows[:, SAMPLE_STAGE] == stage_ids.index(stage.id)],
                                 SAMPLE_CONFIG_VERSION)
    partner = fused_with_id(rows[-1], stage_ids) if len(rows) else None
    produced, busy_ms = _work_between_samples(rows)
    if produced <= 0 or not busy_ms > 0:
        return None
    calls = _parallelism(stage, details.get(stage.id, {}))
    elements_per_s = calls * produced / (busy_ms / 1000.0)
    # A fused node counts what it hands on: the partner's elements (a map in MapAndBatch: batches).
    position = index if partner is None else next(i for i, other in enumerate(spec.stages) if other.id == partner)
    per_step = elements_per_step(spec, position + 1)
    entry = {"id": stage.id, "kind": stage.kind, "elements_per_s": round(elements_per_s, 2),
             "steps_per_s": round(elements_per_s / per_step, 2), "elements_per_step": per_step,
             "ms_per_element": round(busy_ms / produced, 4), "parallelism": calls, "fused_with": partner}
    if stage.origin:
        entry["origin"] = stage.origin
    return entry


def _work_between_samples(rows: np.ndarray) -> tuple[float, float]:
    """(elements produced, ms spent producing them) over the samples. tf.data's figures count from its
    iterator's start, and a new iterator (the next epoch's) starts from zero again: each iterator's
    last sample holds its whole work, and these are added up."""
    produced, busy = rows[:, SAMPLE_PRODUCED], rows[:, SAMPLE_PROCESSING_MS]
    last_of_iterator = np.append(produced[1:] < produced[:-1], True)
    return float(produced[last_of_iterator].sum()), float(np.nansum(busy[last_of_iterator]))


def _parallelism(stage, detail: dict) -> int:
    param = STAGES.get(stage.kind, "kind").parallel_param
    calls = stage.params.get(param) if param else 1
    if calls == AUTOTUNE or calls is None:
        live = detail.get("parameters", {}).get("parallelism")
        return max(1, int(live)) if live else 1
    return int(calls)


def _more_calls(spec: PipelineSpec, slowest: dict, stages: list[dict], model_rate: float, cores: int) -> Optional[dict]:
    stage = next(stage for stage in spec.stages if stage.id == slowest["id"])
    param = STAGES.get(stage.kind, "kind").parallel_param
    if not param:
        return _named({"text": f"{_where(slowest)} holds the job; tf.data cannot run it on more calls",
                       "change": None, "expected_steps_per_s": round(slowest["steps_per_s"], 2)}, slowest)
    calls = slowest["parallelism"]
    wanted = math.ceil(calls * model_rate * HEADROOM / slowest["steps_per_s"]) if math.isfinite(model_rate) else cores
    new_calls = max(calls + 1, min(wanted, cores))
    if new_calls <= calls:
        return None
    effective = min(new_calls, cores) / max(1, min(calls, cores))
    others = min((entry["steps_per_s"] for entry in stages if entry is not slowest), default=math.inf)
    expected = min(model_rate, others, slowest["steps_per_s"] * effective)
    text = (f"{_where(slowest)} holds the job: give it {new_calls} calls (or AUTOTUNE), "
            f"about {expected:.0f} steps/s expected")
    return _named({"text": text, "change": f"stages.{stage.id}.{param}={new_calls}",
                   "expected_steps_per_s": round(expected, 2)}, slowest)


def _a_prefetch(spec: PipelineSpec, expected: float) -> dict:
    """Nothing buffers ahead of the script's loop, so it waits for every batch to be made: a prefetch at the
    pipeline's end overlaps the two (a stage the script must add: no change can be made while it trains)."""
    last = spec.stages[-1]
    expected_text = f", about {expected:.0f} steps/s expected" if math.isfinite(expected) else ""
    where = f"after {Path(last.origin['file']).name}:{last.origin['line']}" if last.origin else "at the pipeline's end"
    text = f"nothing buffers batches ahead of the loop: add `.prefetch(tf.data.AUTOTUNE)` {where}{expected_text}"
    return {"text": text, "change": None,
            "expected_steps_per_s": round(expected, 2) if math.isfinite(expected) else None}


def _where(entry: dict) -> str:
    origin = entry.get("origin") or {}
    if not origin:
        return f"stage {entry['id']}"
    place = f"{Path(origin['file']).name}:{origin['line']}"
    call = _call_text(origin.get("call", ""), entry["kind"])
    return f"{place} `{call}`" if call else place


def _call_text(line: str, kind: str) -> str:
    """`.map(slow_read, num_parallel_calls=1)` out of the line that made the stage (the whole line when
    the call is not there by its name)."""
    start = line.find(f".{kind}(")
    if start < 0:
        return line
    depth = 0
    for end in range(start + len(kind) + 1, len(line)):
        depth += {"(": 1, ")": -1}.get(line[end], 0)
        if depth == 0:
            return line[start:end + 1]
    return line[start:]


def _named(recommendation: dict, entry: dict) -> dict:
    return recommendation | ({"at": {key: entry["origin"][key] for key in ("file", "line")}}
                             if entry.get("origin") else {})
