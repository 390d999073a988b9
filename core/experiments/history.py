"""The runs of a session, in order: each run's description, records, outcome and stage figures.

`RunHistory` is the one place the app's run controller, its live view, its Runs
dock and A/B view read runs from (and a saved session, core.experiments.session). It holds
anything shaped like `RecordedRun` — a run going on a worker thread, or one
recorded on disk and loaded again — and treats both alike, except that a
loaded run has ended whatever its files say. An entry has an
id that stays the same for the session, so a view can name the runs it
overlays; one entry is *current* (the one the plots show).

Threads: one thread (the app's GUI thread) changes the history and pulls the
entries' rows; each run's own records are written by its own thread. Nobody is
told of changes: readers poll, and `revision` tells them cheaply whether there
is anything new to look at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Protocol

import numpy as np

from core.spec.records import T_DONE, StageRecords, StepRecords

if TYPE_CHECKING:  # only for the annotations: the history never runs anything
    from core.engine.outcome import RunOutcome, RunStatus
    from core.spec.pipeline import PipelineSpec

KEEP_RUNS = 20  # a 100,000-step run's rows are 5.6 MB, twice for a run of the session (its own and the copy)


class RecordedRun(Protocol):
    """What the history needs of a run: `core.engine.runner.Run` has it, so does a run loaded from disk."""

    spec: "PipelineSpec"  # follows what-if changes while the run goes
    records: StepRecords
    stage_records: StageRecords
    outcome: "RunOutcome"
    capacity: Optional[int]
    device: Optional[str]
    device_details: dict

    def target(self) -> tuple[Optional[int], Optional[float]]: ...


@dataclass(eq=False)
class RunEntry:
    """One run of the session, with the rows pulled from it so far (for readers on the history's thread)."""

    id: int
    run: RecordedRun
    spec: "PipelineSpec"  # the description the run started from; what-if changes are in outcome.changes
    folder: Optional[str] = None  # where its records are on disk (streamed there, or read from there), if anywhere
    loaded: bool = False  # read back from its folder: a record, which nothing writes to any more
    steps: StepRecords = field(default_factory=StepRecords)
    saved_label: Optional[str] = None  # the label it had when its session was saved, kept when reopened

    @property
    def label(self) -> str:
        """`#3 whatif`: how views name the run (an id, since one pipeline is often run many times)."""
        if self.saved_label is not None:
            return self.saved_label
        return f"#{self.id} {self.spec.name}" + (" (recorded)" if self.loaded else "")

    @property
    def outcome(self) -> "RunOutcome":
        return self.run.outcome

    @property
    def status(self) -> "RunStatus":
        return self.run.outcome.status

    @property
    def ended(self) -> bool:
        """Nothing more will be recorded. A run read from disk has ended even when its files say
        "running": it was cut off (killed, or a crash) before it could say how it ended."""
        return self.loaded or self.run.outcome.status.ended

    @property
    def cut_off(self) -> bool:
        """Read from disk, and its last status written says it was still going."""
        return self.loaded and not self.run.outcome.status.ended

    @property
    def stage_records(self) -> StageRecords:
        return self.run.stage_records

    def target(self) -> tuple[Optional[int], Optional[float]]:
        """(steps, seconds) the run is (or was) to go for: one is set, or neither for a watched script."""
        return self.run.target()

    def pull(self) -> int:
        """Copy the steps the run recorded since the last pull; returns how many were new."""
        ended = self.ended  # before the snapshot: then it holds every step the run will record
        new = self.run.records.snapshot(start=len(self.steps))
        if len(new):
            self.steps.extend(new)
        if ended and not self.loaded:
            self.steps.trim()
        return len(new)

    def rows(self) -> np.ndarray:
        """The pulled step rows (no copy: read them on the history's thread)."""
        return self.steps.rows()

    def recent_steps_per_s(self, seconds: float = 2.0) -> float:
        """Steps per second over about the last `seconds` of pulled steps (the live rate)."""
        rows = self.rows()
        if len(rows) < 2:
            return 0.0
        end = rows[-1, T_DONE]
        first = int(np.searchsorted(rows[:, T_DONE], end - seconds))
        span = end - rows[first, T_DONE]
        return (len(rows) - 1 - first) / span if span > 0 else 0.0


class RunHistory:
    def __init__(self, keep: int = KEEP_RUNS):
        self.keep = keep
        self._entries: list[RunEntry] = []
        self._current: Optional[RunEntry] = None
        self._next_id = 1
        self.revision = 0  # bumped by every change: a poller compares it with the one it last saw

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> tuple[RunEntry, ...]:
        """Oldest first."""
        return tuple(self._entries)

    @property
    def current(self) -> Optional[RunEntry]:
        """The run the plots show: the latest added or selected, None once forgotten."""
        return self._current

    def add(self, run: RecordedRun, folder: Optional[str] = None, loaded: bool = False) -> RunEntry:
        """Keep `run` and make it current: one starting (recorded to `folder`, if given), or one
        `loaded` from its `folder`."""
        # A loaded run's records have no writer: they are read as they are, with no copy.
        steps = run.records if loaded else StepRecords(capacity=max(len(run.records), 4096))
        entry = RunEntry(self._next_id, run, run.spec, folder, loaded, steps)
        self._next_id += 1
        self._entries.append(entry)
        self._current = entry
        self._drop_beyond_keep()
        self._changed()
        return entry

    def restore(self, run: RecordedRun, folder: str, entry_id: int, label: str) -> RunEntry:
        """Keep a run `loaded` from its `folder` under the id and label it had in a saved session (a new id
        if this history already uses that one); the current run stays as it is."""
        if any(entry.id == entry_id for entry in self._entries):
            entry_id = self._next_id
        entry = RunEntry(entry_id, run, run.spec, folder, loaded=True, steps=run.records, saved_label=label)
        self._next_id = max(self._next_id, entry_id + 1)
        self._entries.append(entry)
        self._drop_beyond_keep()
        self._changed()
        return entry

    def clear(self) -> None:
        """Forget every run (another session was opened); their folders stay on disk."""
        going = [entry.label for entry in self._entries if not entry.ended]
        if going:
            raise RuntimeError(f"run {going[0]} is still going: stop it before clearing the history")
        self._entries.clear()
        self._current = None
        self._changed()

    def get(self, entry_id: int) -> RunEntry:
        for entry in self._entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(f"no run #{entry_id} in this session's history")

    def select(self, entry_id: int) -> RunEntry:
        """Make a kept run current again (to look at it, or to compare against it)."""
        self._current = self.get(entry_id)
        self._changed()
        return self._current

    def forget_current(self) -> None:
        """Show no run (another pipeline was loaded); the runs are kept for comparing."""
        if self._current is not None:
            self._current = None
            self._changed()

    def remove(self, entry_id: int) -> None:
        entry = self.get(entry_id)
        if not entry.ended:
            raise RuntimeError(f"run {entry.label} is still going: stop it before removing it")
        self._entries.remove(entry)
        if self._current is entry:
            self._current = None
        self._changed()

    def _drop_beyond_keep(self) -> None:
        """The oldest ended runs go first; the current run and runs still going are never dropped."""
        droppable = [entry for entry in self._entries if entry is not self._current and entry.ended]
        for entry in droppable[: max(0, len(self._entries) - self.keep)]:
            self._entries.remove(entry)

    def _changed(self) -> None:
        self.revision += 1
