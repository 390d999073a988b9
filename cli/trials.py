"""Runs that commands other than `run` make on the way (analyze's normal run, a sweep's combinations, the
tuner's trials): each with the progress line and Ctrl-C handling of `run`, its summary, or why it failed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cli.execute import execute
from core.engine.runner import Run
from core.outputs.summary import build_summary
from core.spec.pipeline import PipelineSpec


class Interrupted(Exception):
    """Ctrl-C during a trial: the command stops and keeps what it has."""


@dataclass
class Trial:
    spec: PipelineSpec
    summary: dict
    error: Optional[str]  # why the run failed (its message names the stage), None when it did not


def run_trial(spec: PipelineSpec, label: str, show_progress: bool = True) -> Trial:
    run = Run(spec)
    if execute(run, label, show_progress=show_progress):
        raise Interrupted(label)
    summary = build_summary(run)
    error = run.outcome.error
    if error is None and not summary["steps"]:  # e.g. a batch larger than the data, dropped as a remainder
        return Trial(spec, summary, f"no steps recorded ({run.outcome.status})")
    return Trial(spec, summary, None if error is None else str(error))
