"""The host CPU budget as figures: summary.json's `cpu`, and the shares the app shows live.

Reads the split a run's CPU meter publishes (`core.engine.cpu_meter`: CPU seconds per category
since the run's start, and over the last couple of seconds) as plain data. What no thread the
meter saw accounts for (a thread that began and ended between two samples) is counted as `other`,
so the categories add up to the process's own CPU time.
"""
from __future__ import annotations

from typing import Optional

CATEGORIES = ("input", "model", "profiler", "other", "service")
IN_PROCESS = CATEGORIES[:4]  # "service" is other processes': a tf.data service's dispatcher and workers
NOT_RECORDED = "not recorded: the run never started, or its record was cut off before it ended"
METHOD = ("each thread's CPU clock, read at the probes' 4 Hz from the run's start (warm-up included): "
          "input = tf.data's threads and queue-runner producers; model = TensorFlow's compute pools and the "
          "stepping thread (which also takes each batch from the pipeline); profiler = Pipescope's own "
          "threads, the run's supervisor and the main thread (progress line or GUI); other = the rest; "
          "service = the tf.data service processes the run started (their CPU clocks in /proc)")
WATCHED_METHOD = ("each thread's CPU clock, read at the probes' 4 Hz from when the script imported TensorFlow: "
                  "input = tf.data's threads; model = TensorFlow's compute pools and the script's main thread, "
                  "which is its own training loop (it also takes each batch from the pipeline); profiler = "
                  "Pipescope's own threads in the script's process; other = the rest")


def cpu_summary(split: Optional[dict]) -> dict:
    """summary.json's `cpu`: seconds per category, their shares of the CPU used and of the host's capacity."""
    if not split:
        return {"unavailable": NOT_RECORDED}
    if "unavailable" in split:
        return {"unavailable": split["unavailable"]}
    seconds = whole_seconds(split)
    total = sum(seconds.values())
    capacity = split["wall_s"] * split["cores"]
    return {
        "cores": split["cores"],
        "wall_s": split["wall_s"],
        "total_s": round(total, 3),
        **{f"{category}_s": round(value, 3) for category, value in seconds.items()},
        "shares": _fractions(seconds, total),
        "of_host": _fractions(seconds, capacity) | {"total": _fraction(total, capacity)},
        "processes": split.get("processes") or {},
        "sample_ms": split.get("sample_ms"),
        "method": WATCHED_METHOD if split.get("main_thread") == "model" else METHOD,
    }


def host_shares(split: Optional[dict], recent: bool) -> Optional[dict]:
    """Each category's share of the host's capacity (wall time × cores): over the last couple of
    seconds (`recent`, while a run goes) or since the start; None while there is nothing to show."""
    if not split or "unavailable" in split:
        return None
    figures = split["recent"] if recent else split
    seconds = whole_seconds(figures)
    capacity = figures["wall_s"] * split["cores"]
    return _fractions(seconds, capacity) if capacity > 0 else None


def whole_seconds(figures: dict) -> dict:
    """Seconds per category, with what no sampled thread accounts for counted as `other`."""
    seconds = {category: float(figures["seconds"].get(category, 0.0)) for category in CATEGORIES}
    unaccounted = figures["process_s"] - sum(seconds[category] for category in IN_PROCESS)
    seconds["other"] += max(0.0, unaccounted)  # below 0 only by the ticks' rounding
    return seconds


def _fractions(seconds: dict, whole: float) -> dict:
    return {category: _fraction(value, whole) for category, value in seconds.items()}


def _fraction(part: float, whole: float) -> Optional[float]:
    return round(part / whole, 4) if whole > 0 else None
