"""The accelerator's busy and idle shares over time: per pixel column (the app's band, timeline.png) or
per window of a run (compare.png's idle curve and the app's A/B view, which must draw the same curve).

Cumulative busy and idle time are piecewise linear in t, so the share of any span is a difference of
two running sums evaluated at its edges: exact at any zoom, and a long run costs two sums, not a table
of every step's corners.
"""
from __future__ import annotations

import math

import numpy as np

from core.spec.records import T_DONE, T_READY, T_REQUEST

IDLE_WINDOW_S = 0.5
MIN_WINDOWS = 20  # a short run still gets an idle curve, not two or three points


def busy_idle_per_pixel(rows: np.ndarray, x_min: float, x_max: float, pixels: int):
    """Fractions of each pixel column's time the accelerator was busy and idle-waiting."""
    edges = np.linspace(x_min, x_max, pixels + 1)
    width = (x_max - x_min) / pixels
    idle = np.diff(_cumulative_at(edges, rows, T_REQUEST, T_READY)) / width
    busy = np.diff(_cumulative_at(edges, rows, T_READY, T_DONE)) / width
    return np.clip(busy, 0.0, 1.0), np.clip(idle, 0.0, 1.0)


def _cumulative_at(times: np.ndarray, rows: np.ndarray, start: int, end: int) -> np.ndarray:
    """Total time spent in [start, end) spans of all steps up to each of `times` (sorted)."""
    if len(rows) == 0:
        return np.zeros(len(times))
    starts, ends = rows[:, start], rows[:, end]
    totals = np.cumsum(ends - starts)
    step = np.searchsorted(rows[:, T_REQUEST], times, side="right") - 1  # the step under way at each time
    inside = step >= 0
    at = np.maximum(step, 0)
    own = ends[at] - starts[at]
    done_before = totals[at] - own
    return np.where(inside, done_before + np.clip(times - starts[at], 0.0, own), 0.0)


def idle_window_s(end_s: float, columns: int) -> float:
    """IDLE_WINDOW_S, but short enough for MIN_WINDOWS over the longest run and long enough for two pixels;
    a round length (1, 2 or 5 times a power of ten), since a plot's title says it."""
    if end_s <= 0:
        return IDLE_WINDOW_S
    return max(_round(min(IDLE_WINDOW_S, end_s / MIN_WINDOWS), up=False), _round(2 * end_s / columns, up=True))


def _round(seconds: float, up: bool) -> float:
    """The nearest 1, 2 or 5 times a power of ten at or above (or at or below) `seconds`."""
    power = 10.0 ** math.floor(math.log10(seconds))
    candidates = [factor * power for factor in (1, 2, 5, 10)]
    tolerance = seconds * 1e-9  # 0.5 is 5 × 0.1, which floats hold as 0.5000000000000001
    if up:
        return next(value for value in candidates if value >= seconds - tolerance)
    return [value for value in candidates if value <= seconds + tolerance][-1]


def idle_per_window(rows: np.ndarray, window_s: float) -> tuple:
    """(window edges, idle share of each whole window) from the run's start to its last whole window."""
    end = run_end_s(rows)
    if end <= 0:
        return np.zeros(0), np.zeros(0)
    windows = max(1, math.floor(end / window_s))  # a part window at the end would count its empty tail as busy
    span = windows * window_s if end >= window_s else end
    _, idle = busy_idle_per_pixel(rows, 0.0, span, windows)
    return np.linspace(0.0, span, windows + 1), idle


def run_end_s(rows: np.ndarray) -> float:
    """When the run's last recorded step ended, on its own clock (0 without steps)."""
    return float(rows[-1, T_DONE]) if len(rows) else 0.0

