"""The files a run writes: summary.json, steps.csv and a Chrome trace (trace.json).

All JSON is written with sorted keys and indentation so runs diff cleanly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.metrics import summarize
from core.records import CONFIG_VERSION, FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST, derived
from core.step_window import sync_summary


def write_json(path: Path, data) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def run_headline(name: str, summary: dict) -> str:
    """`whatif — 400 steps · 119.3 steps/s · idle 22.4% · input-bound`, or the name before any run."""
    if not summary.get("steps"):
        return name
    figures = [f"{summary['steps']:,} steps", f"{summary['steps_per_s']:.1f} steps/s",
               f"idle {100 * summary['idle_fraction']:.1f}%", summary.get("verdict") or ""]
    return f"{name} — {' · '.join(figure for figure in figures if figure)}"


def build_summary(run, extra: dict | None = None, rows=None) -> dict:
    rows = run.records.snapshot() if rows is None else rows
    summary = summarize(rows, run.spec.run["warmup_steps"], run.capacity)
    summary.update({
        "spec": run.spec.to_dict(),
        "device": run.device,
        "device_details": run.device_details,
        "warnings": run.outcome.warnings,
        "stages_unavailable": run.outcome.stages_unavailable,
        "sync": sync_summary(run.spec.model.params, run.outcome.device_busy, rows),
        "status": run.outcome.status,
        "config_changes": [
            {"step": c.step, "t": round(c.t, 6), "version": c.version, "change": c.description}
            for c in run.outcome.changes
        ],
    })
    if run.outcome.error is not None:
        summary["error"] = str(run.outcome.error)
    if run.outcome.skipped_files is not None:
        summary["skipped_files"] = len(run.outcome.skipped_files)
        summary["skipped_file_names"] = run.outcome.skipped_files
    summary["stalls"] = [stall.to_dict() for stall in run.outcome.stalls]
    summary.update(extra or {})
    return summary


STEPS_CSV_COLUMNS = ("step", "t_request", "t_ready", "t_done", "wait_ms", "compute_ms", "step_ms", "fill",
                     "config_version", "t_fetched", "input_ms", "transfer_ms", "between_ms")


def write_steps_csv(path: Path, rows: np.ndarray) -> None:
    """One row per step; the columns the contract first had keep their places, newer ones follow."""
    timings = derived(rows)
    with open(path, "w") as out:
        out.write(",".join(STEPS_CSV_COLUMNS) + "\n")
        for i, row in enumerate(rows):
            out.write(
                f"{i},{row[T_REQUEST]:.6f},{row[T_READY]:.6f},{row[T_DONE]:.6f},"
                f"{timings['wait_ms'][i]:.4f},{timings['compute_ms'][i]:.4f},{timings['step_ms'][i]:.4f},"
                f"{int(row[FILL])},{int(row[CONFIG_VERSION])},{row[T_FETCHED]:.6f},"
                f"{timings['input_ms'][i]:.4f},{timings['transfer_ms'][i]:.4f},{timings['between_ms'][i]:.4f}\n"
            )


def trace_events(rows: np.ndarray, changes, name: str) -> list[dict]:
    """Chrome trace events: wait and compute slices, a fill counter, change instants."""
    us = 1e6
    events = [
        {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": f"Pipescope: {name}"}},
        {"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "accelerator"}},
    ]
    for i, row in enumerate(rows):
        t_request, t_fetched, t_ready, t_done = (row[column] * us for column in (T_REQUEST, T_FETCHED, T_READY, T_DONE))
        events.append({"ph": "X", "pid": 1, "tid": 1, "name": "wait for input", "cat": "idle",
                       "ts": round(t_request, 1), "dur": round(t_fetched - t_request, 1), "args": {"step": i}})
        if t_ready > t_fetched:
            events.append({"ph": "X", "pid": 1, "tid": 1, "name": "copy to device", "cat": "idle",
                           "ts": round(t_fetched, 1), "dur": round(t_ready - t_fetched, 1), "args": {"step": i}})
        events.append({"ph": "X", "pid": 1, "tid": 1, "name": "compute", "cat": "busy",
                       "ts": round(t_ready, 1), "dur": round(t_done - t_ready, 1), "args": {"step": i}})
        events.append({"ph": "C", "pid": 1, "name": "fill", "ts": round(t_request, 1),
                       "args": {"fill": int(row[FILL])}})
    for change in changes:
        events.append({"ph": "i", "pid": 1, "tid": 1, "s": "g", "name": f"config v{change.version}",
                       "ts": round(change.t * us, 1), "args": {"step": change.step, "change": change.description}})
    return events


def write_trace(path: Path, rows: np.ndarray, changes, name: str) -> None:
    trace = {"traceEvents": trace_events(rows, changes, name), "displayTimeUnit": "ms"}
    Path(path).write_text(json.dumps(trace, separators=(",", ":")) + "\n")


def write_run_files(run, out_dir: Path, extra: dict | None = None, rows=None) -> dict:
    """summary.json, steps.csv and trace.json of `rows` (default: a snapshot now); returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = run.records.snapshot() if rows is None else rows  # one snapshot: the files agree
    summary = build_summary(run, extra, rows)
    write_json(out_dir / "summary.json", summary)
    write_steps_csv(out_dir / "steps.csv", rows)
    write_trace(out_dir / "trace.json", rows, run.outcome.changes, run.spec.name)
    return summary
