"""Fake runs for GUI tests: recorded step rows replayed on the worker thread, no TensorFlow.

`FakeRun` is a core.engine.run_protocol.LiveRun, as core.engine.runner.Run is: what the
app reads of a run, and request_stop and request_change. It replays its rows as fast as it can, or,
`realtime`, as its clock reaches each step's end (so a view sees the run grow);
then, when `hold_at` is given, holds there until asked to stop — so a test can
stop "at step 321 of 5,000" exactly — and, given `fail_with`, fails with that
error. A what-if change is applied at once, at the step reached.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from core.engine.outcome import ConfigChange, RunOutcome, RunStatus
from core.spec.diff import describe_change
from core.spec.records import COLUMNS, T_DONE, StageRecords, StepRecords


def recorded_rows(steps: int, wait_s: float = 0.004, compute_s: float = 0.006, first_step_s: float = 0.37,
                  batch_size: int = 32) -> np.ndarray:
    """Steps of `wait_s` then `compute_s`, the first one a slow tracing step (as TensorFlow's is)."""
    rows = np.zeros((steps, len(COLUMNS)))
    durations = np.full(steps, wait_s + compute_s)
    durations[0] = first_step_s
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    rows[:, 0] = starts
    rows[:, 1] = starts + wait_s
    rows[:, 2] = starts + durations
    rows[:, 3] = 2
    rows[:, 5] = batch_size
    rows[:, 6] = rows[:, 1]  # t_fetched: on the CPU the copy to the device takes no time
    return rows


class FakeRun:
    def __init__(self, spec, rows: Optional[np.ndarray] = None, hold_at: Optional[int] = None,
                 realtime: bool = False, fail_with: Optional[BaseException] = None):
        self.spec = spec
        steps, seconds = self.target()
        self._rows = rows if rows is not None else recorded_rows(steps or 200)
        self.hold_at = hold_at
        self.realtime = realtime
        self.fail_with = fail_with
        self.records = StepRecords(capacity=len(self._rows) + 1)
        self.stage_records = StageRecords()
        self.outcome = RunOutcome()
        self.device = "/FAKE:0"
        self.device_details = {"name": "a recorded run", "compute_capability": None}
        self.capacity = 4
        self.started_at, self.extra, self.closed = None, {}, True  # as a live Run's (RunView)
        self.cpu_split: Optional[dict] = None  # a replay measures no CPU: the summary says "–"
        self.accepts_changes = True
        self.changes_requested: list = []
        self._stop = threading.Event()
        self._start = 0.0

    def target(self):
        return self.spec.target()

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._start if self._start else 0.0

    def request_stop(self) -> None:
        self._stop.set()

    def request_change(self, spec) -> None:
        self.changes_requested.append(spec)
        description = describe_change(self.spec, spec)
        if description is not None:
            version = len(self.outcome.changes) + 1
            self.outcome.changes.append(ConfigChange(len(self.records), self.elapsed_s(), version, description))
            self.spec = spec

    @property
    def change_pending(self) -> bool:
        return False

    def run(self) -> RunOutcome:
        self._start = time.perf_counter()
        self.outcome.status = RunStatus.RUNNING
        self._replay(self._rows if self.hold_at is None else self._rows[: self.hold_at])
        if self.hold_at is not None:
            self._stop.wait(60)
        if self._stop.is_set():
            self.outcome.status = RunStatus.STOPPED
        elif self.fail_with is not None:
            self.outcome.status, self.outcome.error = RunStatus.FAILED, self.fail_with
        else:
            self.outcome.status = RunStatus.FINISHED
        return self.outcome

    def _replay(self, rows: np.ndarray) -> None:
        if not self.realtime:
            self.records.extend(rows)
            return
        written = 0
        while written < len(rows) and not self._stop.is_set():
            due = int(np.searchsorted(rows[:, T_DONE], self.elapsed_s(), side="right"))
            if due > written:
                self.records.extend(rows[written:due])
                written = due
            self._stop.wait(0.005)

    def finish_now(self) -> "FakeRun":
        """Replay on the calling thread (for views fed without a worker)."""
        self.run()
        return self
