"""trace.json: the run as Chrome trace events (opens in Perfetto)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.spec.records import FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST


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
