"""trace.json: the run as Chrome trace events (opens in Perfetto), written as the run goes.

Per step a "wait for input" slice, a "copy to device" slice when there was one, a "compute"
slice and a `fill` counter; per stage a counter of its buffered elements and one of its
elements/s, from the stage samples; an instant at every configuration change. `TraceFile`
appends events in pieces and rewrites the closing `]}` after each piece, so the file is valid
JSON whenever a piece is not being written, even after a kill. Step events, millions of them,
are rendered by numpy (core.outputs.row_text); the few others by json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.outputs.row_text import RowTemplate
from core.spec.records import (FILL, SAMPLE_BUFFERED, SAMPLE_CONFIG_VERSION, SAMPLE_PRODUCED, SAMPLE_STAGE, SAMPLE_T,
                               T_DONE, T_FETCHED, T_READY, T_REQUEST)

US = 1e6  # trace times are microseconds
ROWS_PER_PIECE = 8192  # rows rendered at a time: a few MB of scratch, however long the run
_TAIL = b"\n]}\n"
# Padded: JSON allows spaces before a value, and writing them costs less than dropping the unused places.
_STEP_EVENTS = RowTemplate(
    ',\n{{"ph":"X","pid":1,"tid":1,"name":"wait for input","cat":"idle","ts":{request:.1},"dur":{input:.1},'
    '"args":{{"step":{step}}}}}'
    ',\n{{"ph":"X","pid":1,"tid":1,"name":"compute","cat":"busy","ts":{ready:.1},"dur":{compute:.1},'
    '"args":{{"step":{step}}}}}'
    ',\n{{"ph":"C","pid":1,"name":"fill","ts":{request:.1},"args":{{"fill":{fill}}}}}', pad=True)
_COPY_EVENTS = RowTemplate(
    ',\n{{"ph":"X","pid":1,"tid":1,"name":"copy to device","cat":"idle","ts":{fetched:.1},"dur":{copy:.1},'
    '"args":{{"step":{step}}}}}', pad=True)


class TraceFile:
    """trace.json, open for appending events; valid JSON between appends."""

    def __init__(self, path: Path, pipeline_name: str):
        self._file = open(path, "wb")
        self._end = 0  # where the closing _TAIL starts, and the next events go
        self._last_sample: dict[int, tuple] = {}  # stage index → (t, produced, config_version) of its last sample
        process = {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": f"Pipescope: {pipeline_name}"}}
        thread = {"ph": "M", "pid": 1, "tid": 1, "name": "thread_name", "args": {"name": "accelerator"}}
        self._append(b'{"displayTimeUnit":"ms","traceEvents":[\n' + _json(process) + _events([thread]))

    def add_steps(self, rows: np.ndarray, first_step: int) -> None:
        """Events for step rows numbered from `first_step`."""
        for start in range(0, len(rows), ROWS_PER_PIECE):
            self._append(_step_events(rows[start:start + ROWS_PER_PIECE], first_step + start))

    def add_stage_samples(self, rows: np.ndarray, stage_ids: list[str]) -> None:
        """Counters for StageRecords rows: buffered elements, and elements/s since the stage's last sample."""
        events = []
        for row in rows:
            stage_id, t = stage_ids[int(row[SAMPLE_STAGE])], round(float(row[SAMPLE_T]) * US, 1)
            events.append({"ph": "C", "pid": 1, "name": f"stage {stage_id}", "ts": t,
                           "args": {"buffered": int(row[SAMPLE_BUFFERED])}})
            rate = self._rate_since_last_sample(row)
            if rate is not None:
                events.append({"ph": "C", "pid": 1, "name": f"stage {stage_id} elements/s", "ts": t,
                               "args": {"elements_per_s": round(rate, 2)}})
        self._append(_events(events))

    def add_changes(self, changes) -> None:
        """An instant per ConfigChange."""
        self._append(_events([{"ph": "i", "pid": 1, "tid": 1, "s": "g", "name": f"config v{change.version}",
                               "ts": round(change.t * US, 1),
                               "args": {"step": change.step, "change": change.description}}
                              for change in changes]))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def _append(self, text: bytes) -> None:
        if not text:
            return
        self._file.seek(self._end)
        self._file.write(text + _TAIL)
        self._end += len(text)

    def _rate_since_last_sample(self, row: np.ndarray):
        stage, t = int(row[SAMPLE_STAGE]), float(row[SAMPLE_T])
        produced, version = float(row[SAMPLE_PRODUCED]), row[SAMPLE_CONFIG_VERSION]
        last = self._last_sample.get(stage)
        self._last_sample[stage] = (t, produced, version)
        if last is None or last[2] != version or t <= last[0]:
            return None  # a rebuilt pipeline counts from zero again
        return max(0.0, (produced - last[1]) / (t - last[0]))


def write_trace(path: Path, pipeline_name: str, rows: np.ndarray, changes=(), stage_rows=None,
                stage_ids=()) -> None:
    """The whole trace.json at once (`report`, or a run that did not stream)."""
    trace = TraceFile(path, pipeline_name)
    try:
        trace.add_steps(rows, 0)
        if stage_rows is not None:
            trace.add_stage_samples(stage_rows, list(stage_ids))
        trace.add_changes(changes)
    finally:
        trace.close()


def _step_events(rows: np.ndarray, first_step: int) -> bytes:
    t_request, t_fetched, t_ready, t_done = (rows[:, column] * US for column in (T_REQUEST, T_FETCHED, T_READY, T_DONE))
    steps = np.arange(first_step, first_step + len(rows))
    text = _STEP_EVENTS.render(request=t_request, input=t_fetched - t_request, ready=t_ready,
                               compute=t_done - t_ready, step=steps, fill=rows[:, FILL])
    copied = t_ready > t_fetched
    if copied.any():
        text += _COPY_EVENTS.render(fetched=t_fetched[copied], copy=(t_ready - t_fetched)[copied], step=steps[copied])
    return text


def _json(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def _events(events: list[dict]) -> bytes:
    return b"".join(b",\n" + _json(event) for event in events)
