"""Summaries of a run: percentiles, idle fraction, throughput and a verdict.

The verdict follows TensorBoard Profiler's input pipeline analyzer: under 5% of
step time spent waiting for input is compute-bound, 20% or more input-bound.
"""
from __future__ import annotations

import numpy as np

from core.spec.records import BATCH_SIZE, FILL, T_DONE, timing

# Each {mean, p50, p90, p99} in summary.json; a step's parts add up: step = between + input + transfer + compute.
TIMINGS = ("step_ms", "wait_ms", "input_ms", "transfer_ms", "compute_ms", "between_ms")
COMPUTE_BOUND_BELOW = 0.05
INPUT_BOUND_FROM = 0.20


def distribution(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"mean": None, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"mean": round(float(values.mean()), 4), "p50": round(float(p50), 4),
            "p90": round(float(p90), 4), "p99": round(float(p99), 4)}


def verdict(wait_share: float) -> str:
    if wait_share < COMPUTE_BOUND_BELOW:
        return "compute-bound"
    if wait_share >= INPUT_BOUND_FROM:
        return "input-bound"
    return "balanced"


def measured_rows(rows: np.ndarray, warmup_steps: int) -> np.ndarray:
    """Rows after warm-up; a run shorter than its warm-up keeps its last half."""
    if len(rows) > warmup_steps:
        return rows[warmup_steps:]
    return rows[len(rows) // 2:]


def summarize(rows: np.ndarray, warmup_steps: int, capacity) -> dict:
    """The figures of summary.json (without spec and device) for recorded rows."""
    measured = measured_rows(rows, warmup_steps)
    first = len(rows) - len(measured)
    distributions, totals_s = {}, {}
    for name in TIMINGS:  # one timing at a time: a long run's summary holds one per-step array, not six
        values = timing(rows, name)[first:]
        distributions[name] = distribution(values)
        totals_s[name] = float(values.sum()) / 1000.0
    wall = totals_s["step_ms"] if len(measured) else 0.0
    idle = totals_s["wait_ms"] / wall if wall > 0 else 0.0
    fills = measured[:, FILL]
    return {
        "steps": int(len(rows)),
        "warmup_steps": int(first),
        "wall_s": round(float(rows[-1, T_DONE]), 4) if len(rows) else 0.0,
        "measured_s": round(wall, 4),
        "steps_per_s": round(len(measured) / wall, 3) if wall > 0 else 0.0,
        "examples_per_s": round(float(measured[:, BATCH_SIZE].sum()) / wall, 2) if wall > 0 else 0.0,
        **distributions,
        "idle_fraction": round(idle, 4),
        # The runner's own time between steps: the accelerator idles through it too, but it is the
        # profiler's, not the input pipeline's, so it is kept out of idle_fraction and shown here.
        "between_fraction": round(totals_s["between_ms"] / wall, 4) if wall > 0 else 0.0,
        "fill": {
            "mean": round(float(fills.mean()), 3) if len(fills) else None,
            "max": int(fills.max()) if len(fills) else None,
            "capacity": capacity,
        },
        "verdict": verdict(idle) if len(measured) else None,
    }
