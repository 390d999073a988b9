"""A run's figures per configuration: one segment per description version, so a what-if change is seen
as before and after rather than blurred into one cumulative summary.

Warm-up steps stay out of every segment. A segment's first step starts its clock at its own request, so
the rebuild a change costs at the boundary (the runner's `between`) belongs to neither side.
"""
from __future__ import annotations

import numpy as np

from core.analysis.metrics import summarize
from core.spec.records import CONFIG_VERSION

# The figures a segment carries: enough to set configurations side by side.
SEGMENT_FIGURES = ("steps_per_s", "examples_per_s", "idle_fraction", "verdict", "step_ms", "wait_ms",
                   "compute_ms", "fill")


def version_spans(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(version, first row, end row) for each stretch of rows recorded under one description version."""
    if len(rows) == 0:
        return []
    versions = rows[:, CONFIG_VERSION]
    starts = np.concatenate(([0], np.flatnonzero(versions[1:] != versions[:-1]) + 1))
    ends = np.concatenate((starts[1:], [len(rows)]))
    return [(int(versions[start]), int(start), int(end)) for start, end in zip(starts, ends)]


def segments(rows: np.ndarray, warmup_steps: int, capacity, change_descriptions: dict[int, str]) -> list[dict]:
    """Per version: {version, change, first_step, steps, measured_steps, and SEGMENT_FIGURES (None when every
    step of it was warm-up)}. `change_descriptions` maps a version to the change that started it."""
    result = []
    for version, start, end in version_spans(rows):
        measured = rows[max(start, warmup_steps):end]
        segment = {"version": version, "change": change_descriptions.get(version), "first_step": start,
                   "steps": end - start, "measured_steps": int(len(measured))}
        figures = summarize(measured, 0, capacity) if len(measured) else {}
        segment.update({name: figures.get(name) for name in SEGMENT_FIGURES})
        result.append(segment)
    return result
