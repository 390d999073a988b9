"""The record stream: a run's records written into its folder as the run goes, so a kill or a crash
loses at most its last second.

`RecordStream(run, folder)` creates steps.csv, stages.csv, trace.json and run.json at once;
`start()` starts a thread of its own that every WRITE_EVERY_S appends the steps and stage
samples recorded since its last look (steps.csv, stages.csv, trace.json), flushes them, and
rewrites run.json when the run's facts have changed. `close(extra)` writes what is left,
closes trace.json and marks run.json closed. Without `start()`, `close()` writes a finished
run's records in one go — the same files, by the same code.

The run knows no files and is never waited for: the stream only reads its records
(snapshots of the rows since its last look, copied under the records' own lock, which the
stepping thread takes only to grow them) and its outcome. It keeps nothing per step: the
rows it has written are counted, not kept.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import numpy as np

from core.outputs.run_json import RUN_JSON, facts_text, run_facts, wall_clock_start, write_atomically
from core.outputs.stages_csv import STAGES_CSV_HEADER, stages_csv_text
from core.outputs.steps_csv import STEPS_CSV_HEADER, steps_csv_text
from core.outputs.trace import ROWS_PER_PIECE, TraceFile
from core.spec.records import BATCH_SIZE

WRITE_EVERY_S = 0.5  # flushed at least once a second, with room for a slow write
STREAM_THREAD = "pipescope-record-stream"


class RecordStream:
    def __init__(self, run, folder: Path):
        """Create the run's files in `folder` (OSError when it cannot be written)."""
        self.run, self.folder = run, Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._steps_file = open(self.folder / "steps.csv", "wb")
        self._stages_file = open(self.folder / "stages.csv", "wb")
        self._trace = TraceFile(self.folder / "trace.json", run.spec.name)
        self._steps_file.write(STEPS_CSV_HEADER)
        self._stages_file.write(STAGES_CSV_HEADER)
        self.steps_written = 0
        self._previous_step: Optional[np.ndarray] = None  # the last row written: the next step is measured from it
        self._samples_written = 0
        self._changes_written = 0
        self._batch_sizes: list[list[int]] = []  # [first step, batch size] wherever the batch size changes
        self._started_at: Optional[str] = None
        self._facts_written = ""
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._failure: Optional[OSError] = None
        self._write_new()

    def start(self) -> "RecordStream":
        self._thread = threading.Thread(target=self._keep_writing, name=STREAM_THREAD, daemon=True)
        self._thread.start()
        return self

    def close(self, extra: Optional[dict] = None) -> None:
        """Write what is left and close the files; run.json says they were closed. Raises the OSError
        that stopped the stream, if one did."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self._failure is None:
                self._write_new(closed=True, extra=extra)
        finally:
            for file in (self._steps_file, self._stages_file, self._trace):
                file.close()
        if self._failure is not None:
            raise self._failure

    # ------------------------------------------------------------ the stream's thread

    def _keep_writing(self) -> None:
        while not self._stop.wait(WRITE_EVERY_S):
            try:
                self._write_new()
            except OSError as error:  # a full disk: stop streaming, and say so when the run's files are closed
                self._failure = error
                return

    def _write_new(self, closed: bool = False, extra: Optional[dict] = None) -> None:
        """One look at the run (on the stream's thread, or once it has been joined, in close())."""
        # Facts before the rows (a status that has become "running" is on disk before its first steps)
        # and after them (their batch sizes describe rows on disk); unchanged facts are not rewritten.
        self._write_facts(closed=False, extra=None)
        self._write_new_steps()
        self._write_new_samples()
        self._write_new_changes()
        for file in (self._steps_file, self._stages_file, self._trace):
            file.flush()
        self._write_facts(closed, extra)

    def _write_new_steps(self) -> None:
        rows = self._rows_since(self.run.records, self.steps_written)
        for start in range(0, len(rows), ROWS_PER_PIECE):
            piece = rows[start:start + ROWS_PER_PIECE]
            self._steps_file.write(steps_csv_text(piece, self.steps_written, self._previous_step))
            self._trace.add_steps(piece, self.steps_written)
            self._note_batch_sizes(piece)
            self._previous_step = piece[-1].copy()
            self.steps_written += len(piece)

    def _write_new_samples(self) -> None:
        stages = self.run.stage_records
        rows = self._rows_since(stages, self._samples_written)
        if len(rows):
            stage_ids = list(stages.stage_ids)  # read after the rows: an id is added before its first row
            self._stages_file.write(stages_csv_text(rows, stage_ids))
            self._trace.add_stage_samples(rows, stage_ids)
            self._samples_written += len(rows)

    def _write_new_changes(self) -> None:
        changes = list(self.run.outcome.changes)[self._changes_written:]
        self._trace.add_changes(changes)
        self._changes_written += len(changes)

    def _rows_since(self, records, start: int) -> np.ndarray:
        """The rows from `start` on: a view once the run has ended (no copy of a long run), else a snapshot."""
        if self.run.outcome.status.ended:
            return records.rows()[start:]
        return records.snapshot(start)

    def _note_batch_sizes(self, rows: np.ndarray) -> None:
        sizes = rows[:, BATCH_SIZE]
        last = self._batch_sizes[-1][1] if self._batch_sizes else None
        changed = np.flatnonzero(np.diff(sizes, prepend=np.nan if last is None else last) != 0)
        self._batch_sizes.extend([self.steps_written + int(index), int(sizes[index])] for index in changed)

    def _write_facts(self, closed: bool, extra: Optional[dict]) -> None:
        self._started_at = self._started_at or wall_clock_start(self.run)
        text = facts_text(run_facts(self.run, self._started_at, self._batch_sizes, closed, extra))
        if text != self._facts_written:
            write_atomically(self.folder / RUN_JSON, text)
            self._facts_written = text
