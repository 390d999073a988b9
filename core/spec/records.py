"""Preallocated step records: one writer (the runner), any number of readers.

Appending is a row write and a counter bump; a snapshot copies the rows
written so far. Storage doubles when a run outlasts its estimate, under a lock
so a reader never sees a half-moved array.
"""
from __future__ import annotations

import threading

import numpy as np

# t_fetched (the batch is on the host) came later, so it comes last: the others keep their places.
COLUMNS = ("t_request", "t_ready", "t_done", "fill", "config_version", "batch_size", "t_fetched")
T_REQUEST, T_READY, T_DONE, FILL, CONFIG_VERSION, BATCH_SIZE, T_FETCHED = range(len(COLUMNS))


class StepRecords:
    def __init__(self, capacity: int = 4096):
        self._rows = np.zeros((max(16, capacity), len(COLUMNS)), dtype=np.float64)
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def append(self, t_request: float, t_ready: float, t_done: float, fill: int, config_version: int,
               batch_size: int, t_fetched: float) -> None:
        if self._count == len(self._rows):
            self._grow()
        self._rows[self._count] = (t_request, t_ready, t_done, fill, config_version, batch_size, t_fetched)
        self._count += 1  # published after the row is complete

    def extend(self, rows: np.ndarray) -> None:
        """Append many rows at once (a view copying a run's records into its own)."""
        while self._count + len(rows) > len(self._rows):
            self._grow()
        self._rows[self._count: self._count + len(rows)] = rows
        self._count += len(rows)

    def rows(self) -> np.ndarray:
        """The written rows without copying: for the writer's own thread; others use snapshot()."""
        return self._rows[: self._count]

    def _grow(self) -> None:
        with self._lock:
            bigger = np.zeros((2 * len(self._rows), len(COLUMNS)), dtype=np.float64)
            bigger[: self._count] = self._rows[: self._count]
            self._rows = bigger

    def snapshot(self, start: int = 0) -> np.ndarray:
        """A copy of rows [start, count): shape (n, len(COLUMNS))."""
        with self._lock:
            return self._rows[start: self._count].copy()


def derived(rows: np.ndarray) -> dict:
    """Per-step durations in milliseconds, which add up: step = between + input + transfer + compute.

    `between` is the runner's own time from the previous step's end to this request
    (its record, a change applied at the boundary); wait = input + transfer.
    """
    t_request, t_fetched, t_ready, t_done = (rows[:, column] for column in (T_REQUEST, T_FETCHED, T_READY, T_DONE))
    previous_done = np.concatenate(([t_request[0]], t_done[:-1])) if len(rows) else t_done
    return {
        "input_ms": (t_fetched - t_request) * 1000.0,
        "transfer_ms": (t_ready - t_fetched) * 1000.0,
        "wait_ms": (t_ready - t_request) * 1000.0,
        "compute_ms": (t_done - t_ready) * 1000.0,
        "between_ms": (t_request - previous_done) * 1000.0,
        "step_ms": (t_done - previous_done) * 1000.0,
    }
