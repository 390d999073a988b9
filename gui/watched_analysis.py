"""The bottleneck panel on a watched script's job (issue 16 §5): its analysis, and the words the panel shows.

A watched job's stages are the script's code and cannot be run on their own, so nothing is measured
here: `analyze_watched_run` (core.experiments.watching, as `analyze RUN_DIR` uses it) reads what tf.data
measured while the job trained, from a snapshot of the run's records,
so a job still training is read as far as it has gone. NumPy over a few thousand rows: milliseconds, on
the GUI thread. The rest says it in the panel's words: where each stage was made, the verdict, and, for
a job that has ended (no change can reach it), how to make a recommendation's change.
"""
from __future__ import annotations

import html
import math
import shlex
from pathlib import Path

from core.experiments.watched_run import WatchedRun
from core.spec.kinds import STAGES


def is_watched(run) -> bool:
    """A watched script's job: one the app watches (before its run.json too), or one recorded by `watch`."""
    return isinstance(run, WatchedRun) or run.extra.get("source") == "watch"


def about(run, analysis: dict, live: bool) -> str:
    """The panel's status line over a watched job's analysis."""
    script = Path(run.extra.get("script") or run.spec.name).name
    so_far = (f" so far ({len(run.records):,} steps): press Analyze again for later figures" if live else
              f" ({len(run.records):,} steps)")
    said = f"Nothing was run: read from what tf.data measured while {script} trained{so_far}."
    if not analysis["stages"]:
        said += f" tf.data gave no figures for its stages ({run.stage_records.unavailable or 'none sampled'})."
    return said


def where(stage: dict) -> str:
    """`custom_loop.py:31`, where the script made the stage ('' when it is not known)."""
    origin = stage.get("origin") or {}
    return f"{Path(origin['file']).name}:{origin['line']}" if origin.get("file") else ""


def stage_tooltip(stage: dict) -> str:
    """The stage's kind, line and call, and what its figures count."""
    origin = stage.get("origin") or {}
    parts = [stage["kind"]]
    if where(stage):
        parts.append(f"{where(stage)} · {origin.get('call', '').strip()}")
    figures = f"{stage['ms_per_element']:.2f} ms an element"
    if STAGES.get(stage["kind"], "kind").parallel_param:
        calls = stage["parallelism"]
        figures += f", {calls} call{'s' if calls != 1 else ''} at a time"
    parts.append(figures)
    if stage.get("fused_with"):
        parts.append(f"fused with {stage['fused_with']} into one tf.data node: the figures are the pair's")
    return "\n".join(parts)


def verdict(analysis: dict) -> str:
    """The bottleneck, by its line, the rates that make it, and what the job's steps did."""
    bottleneck = analysis["bottleneck"]
    stage = next((stage for stage in analysis["stages"] if stage["id"] == bottleneck), {})
    line = f" ({where(stage)})" if where(stage) else ""
    given = analysis.get("input_steps_per_s")
    input_said = "the input's stages have no figures" if given is None else f"the input gives {given:.1f} steps/s"
    measured = analysis.get("measured_steps_per_s")
    ran = f"; its steps ran at {measured:.1f}" if measured else ""
    return (f"<b>Bottleneck: {bottleneck}{line}</b> — {input_said}, the model takes "
            f"{_rate_text(analysis['model_steps_per_s'])}: predicted {_rate_text(analysis['predicted_steps_per_s'])} "
            f"steps/s{ran}, waiting for data {100 * analysis['idle_fraction']:.0f}% of the time.")


def _rate_text(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "–"


def how_to_apply(run, recommendation: dict) -> str:
    """For a job that has ended: edit the line, or watch the script again with the change made halfway
    through (so the job shows before and after, and the prediction is judged)."""
    change = recommendation["change"]
    at = recommendation.get("at")
    edit = f"edit {Path(at['file']).name}:{at['line']}" if at else "edit the script where it makes the stage"
    step = max(1, len(run.records) // 2)
    restart = ["--allow-data-restart"] if run.extra.get("position_carried_over") is False else []
    argv = run.extra.get("argv") or []
    script = run.extra.get("script") or (argv[0] if argv else "SCRIPT")
    command = shlex.join(["python", "main.py", "watch", "--change-at", str(step), change, *restart, script,
                          *argv[1:]])
    return (f"The job has ended, so {change} cannot reach it. To make it, {edit}; or first try it on the job, "
            f"made from step {step} while it trains:<br><code>{html.escape(command)}</code>")
