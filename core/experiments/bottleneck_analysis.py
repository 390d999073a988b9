"""`analyze`: measure each prefix of the pipeline and the model on their own, then find the bottleneck.

The measuring is the engine's (`core.engine.throughput`), the reasoning the analysis layer's
(`core.analysis.bottleneck`); this joins them, and sets what a normal run of the same description
achieved beside what the isolated figures predict, so the reasoning can be checked against the truth.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

from core.analysis.bottleneck import PrefixThroughput, analyze, elements_per_step
from core.engine.throughput import ROUNDS, launching_ahead_can_pay, measure_model, measure_prefixes
from core.spec.edits import launching_ahead
from core.spec.pipeline import PipelineSpec

SECONDS_PER_PART = 1.0
MEASURED_FIGURES = ("steps_per_s", "examples_per_s", "idle_fraction", "verdict")


def analyze_pipeline(spec: PipelineSpec, run_summary: Optional[dict] = None, seconds: float = SECONDS_PER_PART,
                     progress: Optional[Callable[[str], None]] = None) -> dict:
    """analysis.json for `spec`; `run_summary` (summary.json of a normal run of it) adds `measured`."""
    say = progress or (lambda _text: None)
    rates = measure_prefixes(spec, seconds, lambda stage_id, round_number: say(
        ("the source alone" if stage_id == "source" else f"the pipeline up to stage '{stage_id}'")
        + f" (round {round_number} of {ROUNDS})"))
    say("the model alone")
    model_steps_per_s = measure_model(spec, seconds)
    ahead = launching_ahead(spec) if launching_ahead_can_pay(spec) else None
    if ahead is not None:
        say("the model alone, launching ahead")
    ahead_steps_per_s = measure_model(ahead, seconds) if ahead is not None else None
    parts = [("source", spec.source.kind)] + [(stage.id, stage.kind) for stage in spec.stages]
    prefixes = [PrefixThroughput(stage_id, kind, rate, elements_per_step(spec, count))
                for count, ((stage_id, kind), rate) in enumerate(zip(parts, rates))]
    result = analyze(spec, prefixes, model_steps_per_s, os.cpu_count() or 1, run_summary, ahead_steps_per_s)
    result["spec"] = spec.to_dict()
    result["seconds_per_part"] = seconds
    if run_summary is not None:
        result["measured"] = {name: run_summary.get(name) for name in MEASURED_FIGURES}
    return result
