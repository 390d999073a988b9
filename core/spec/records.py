"""Preallocated run records: one writer (the run), any number of readers.

`StepRecords`: one row per step (`COLUMNS`). `StageRecords`: one row per stage
per sample of its live figures (`STAGE_COLUMNS`), taken by the run's probes a few
times a second beside the steps, on the same clock; see its docstring.

Appending is a row write and a counter bump; a snapshot copies the rows
written so far. Storage doubles when a run outlasts its estimate, under a lock
so a reader never sees a half-moved array.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

# t_fetched (the batch is on the host) came later, so it comes last: the others keep their places.
COLUMNS = ("t_request", "t_ready", "t_done", "fill", "config_version", "batch_size", "t_fetched")
T_REQUEST, T_READY, T_DONE, FILL, CONFIG_VERSION, BATCH_SIZE, T_FETCHED = range(len(COLUMNS))


class _GrowingRows:
    """A preallocated float64 table that one thread appends to and any thread snapshots."""

    def __init__(self, capacity: int, width: int):
        self._rows = np.zeros((max(16, capacity), width), dtype=np.float64)
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def _append_row(self, row: tuple) -> None:
        if self._count == len(self._rows):
            self._grow()
        self._rows[self._count] = row
        self._count += 1  # published after the row is complete

    def extend(self, rows: np.ndarray) -> None:
        """Append many rows at once (a view copying a run's records into its own)."""
        while self._count + len(rows) > len(self._rows):
            self._grow()
        self._rows[self._count: self._count + len(rows)] = rows
        self._count += len(rows)

    def trim(self) -> None:
        """Give back the rows never written, once nothing appends any more: a timed run's buffer is
        sized for 20,000 steps however few it took, and the app keeps its 20 latest runs."""
        with self._lock:
            keep = max(16, self._count)
            if len(self._rows) > keep:
                self._rows = self._rows[:keep].copy()

    def rows(self) -> np.ndarray:
        """The written rows without copying: for the writer's own thread; others use snapshot()."""
        return self._rows[: self._count]

    def _grow(self) -> None:
        with self._lock:
            bigger = np.zeros((2 * len(self._rows), self._rows.shape[1]), dtype=np.float64)
            bigger[: self._count] = self._rows[: self._count]
            self._rows = bigger

    def snapshot(self, start: int = 0) -> np.ndarray:
        """A copy of rows [start, count): shape (n, number of columns)."""
        with self._lock:
            return self._rows[start: self._count].copy()


class StepRecords(_GrowingRows):
    def __init__(self, capacity: int = 4096):
        super().__init__(capacity, len(COLUMNS))

    def append(self, t_request: float, t_ready: float, t_done: float, fill: int, config_version: int,
               batch_size: int, t_fetched: float) -> None:
        self._append_row((t_request, t_ready, t_done, fill, config_version, batch_size, t_fetched))


# Each timing is (from, to): columns of the same row, or None for the previous step's t_done.
_TIMING_SPANS = {
    "input_ms": (T_REQUEST, T_FETCHED),
    "transfer_ms": (T_FETCHED, T_READY),
    "wait_ms": (T_REQUEST, T_READY),
    "compute_ms": (T_READY, T_DONE),
    "between_ms": (None, T_REQUEST),
    "step_ms": (None, T_DONE),
}


def timing(rows: np.ndarray, name: str) -> np.ndarray:
    """One per-step duration in milliseconds (see `derived`); one array at a time keeps a long run's
    summary from holding all six at once."""
    start, end = _TIMING_SPANS[name]
    if start is not None:
        return (rows[:, end] - rows[:, start]) * 1000.0
    t_request, t_done = rows[:, T_REQUEST], rows[:, T_DONE]
    previous_done = np.concatenate(([t_request[0]], t_done[:-1])) if len(rows) else t_done
    return (rows[:, end] - previous_done) * 1000.0


def derived(rows: np.ndarray) -> dict:
    """Per-step durations in milliseconds, which add up: step = between + input + transfer + compute.

    `between` is the runner's own time from the previous step's end to this request
    (its record, a change applied at the boundary); wait = input + transfer.
    """
    return {name: timing(rows, name) for name in _TIMING_SPANS}


# ---------------------------------------------------------------- stage samples

# One row per stage per sample. `produced` and `processing_ms` are cumulative since the stage's
# iterator was built, so they restart when a change rebuilds the pipeline (a new config_version).
STAGE_COLUMNS = ("t", "stage", "buffered", "produced", "config_version", "processing_ms", "fused_with")
(SAMPLE_T, SAMPLE_STAGE, SAMPLE_BUFFERED, SAMPLE_PRODUCED, SAMPLE_CONFIG_VERSION, SAMPLE_PROCESSING_MS,
 SAMPLE_FUSED_WITH) = range(len(STAGE_COLUMNS))
NOT_FUSED = -1
RATE_WINDOW_S = 1.0  # live elements/s are over about the last second of samples


@dataclass
class LatestStageFigures:
    """The blocks' live figures: {stage id: {buffered, elements_per_s, node, parameters, fused_with}},
    and why there are none (`unavailable`) or only some (`partial`), in one sentence each."""

    figures: dict
    unavailable: Optional[str] = None
    partial: Optional[str] = None


class StageRecords(_GrowingRows):
    """Samples of each stage's live figures (tf.data's live model; a queue's fill): one writer, many readers.

    Columns (`STAGE_COLUMNS`, indices `SAMPLE_*`):
    - `t`: seconds from the run's start, the step records' clock;
    - `stage`: index into `stage_ids` (which only grows: a change that adds a stage appends its id);
    - `buffered`: elements waiting in the stage's buffer; `produced`: elements it has produced so far;
    - `config_version`: the description's version, as in the step records (a rebuild restarts `produced`);
    - `processing_ms`: tf.data's cumulative processing time of the stage's node, NaN when unknown;
    - `fused_with`: the stage index whose node this stage was fused into (the figures are that
      node's), or NOT_FUSED.
    Besides the rows the writer publishes, whole, per stage the latest `node` name and tunable
    `parameters` (`details`), and the reasons there are no figures (`unavailable`) or only some
    (`partial`). Readers: `latest()` for live figures, `snapshot()` for files, `stage_rate()` per stage.
    """

    def __init__(self, capacity: int = 1024):
        super().__init__(capacity, len(STAGE_COLUMNS))
        self.stage_ids: list[str] = []
        self.details: dict[str, dict] = {}  # stage id -> {"node", "parameters"}; replaced whole by the writer
        self.unavailable: Optional[str] = None
        self.partial: Optional[str] = None

    def stage_index(self, stage_id: str) -> int:
        """The index of `stage_id` in the rows, given it on first sight (writer only)."""
        if stage_id not in self.stage_ids:
            self.stage_ids.append(stage_id)
        return self.stage_ids.index(stage_id)

    def append(self, t: float, stage_id: str, buffered: int, produced: int, config_version: int,
               processing_ms: float = math.nan, fused_with: Optional[str] = None) -> None:
        fused = NOT_FUSED if fused_with is None else self.stage_index(fused_with)
        self._append_row((t, self.stage_index(stage_id), buffered, produced, config_version, processing_ms, fused))

    def latest(self) -> LatestStageFigures:
        """Each stage's figures at its latest sample, elements/s over about the last second; only
        stages sampled in the latest configuration (a stage a change removed has none)."""
        ids = list(self.stage_ids)
        tail = self.snapshot(start=max(0, len(self) - _TAIL_SAMPLES_PER_STAGE * max(1, len(ids))))
        if len(tail):
            tail = tail[tail[:, SAMPLE_CONFIG_VERSION] == tail[-1, SAMPLE_CONFIG_VERSION]]
        details = self.details
        figures = {}
        for index, stage_id in enumerate(ids):
            rows = tail[tail[:, SAMPLE_STAGE] == index]
            if len(rows):
                figures[stage_id] = _figures_at_end(rows, ids, details.get(stage_id, {}))
        return LatestStageFigures(figures, self.unavailable, self.partial)

    def of_stage(self, stage_id: str, rows: Optional[np.ndarray] = None) -> np.ndarray:
        """The rows (a snapshot unless given) of one stage."""
        rows = self.snapshot() if rows is None else rows
        if stage_id not in self.stage_ids:
            return rows[:0]
        return rows[rows[:, SAMPLE_STAGE] == self.stage_ids.index(stage_id)]


_TAIL_SAMPLES_PER_STAGE = 32  # enough for RATE_WINDOW_S at the probes' few samples a second


def stage_rate(rows: np.ndarray) -> Optional[float]:
    """Elements/s of one stage's samples: what it produced between samples of the same
    configuration over the time between them (a rebuild restarts its count); None without two."""
    if len(rows) < 2:
        return None
    same = rows[1:, SAMPLE_CONFIG_VERSION] == rows[:-1, SAMPLE_CONFIG_VERSION]
    seconds = float(np.diff(rows[:, SAMPLE_T])[same].sum())
    if seconds <= 0:
        return None
    return max(0.0, float(np.diff(rows[:, SAMPLE_PRODUCED])[same].sum()) / seconds)


def fused_with_id(row: np.ndarray, stage_ids: list[str]) -> Optional[str]:
    """The id of the stage whose node a sample's stage was fused into, or None."""
    fused = int(row[SAMPLE_FUSED_WITH])
    return None if fused == NOT_FUSED else stage_ids[fused]


def _figures_at_end(rows: np.ndarray, ids: list[str], details: dict) -> dict:
    last = rows[-1]
    recent = rows[(rows[:, SAMPLE_T] >= last[SAMPLE_T] - RATE_WINDOW_S)
                  & (rows[:, SAMPLE_CONFIG_VERSION] == last[SAMPLE_CONFIG_VERSION])]
    return {
        "buffered": int(last[SAMPLE_BUFFERED]),
        "elements_per_s": stage_rate(recent),
        "node": details.get("node"),
        "parameters": dict(details.get("parameters", {})),
        "fused_with": fused_with_id(last, ids),
    }
