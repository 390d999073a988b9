"""RunView: what every reader of a run uses, named once.

This module owns the protocol that `core.engine.runner.Run` (a run going in this process),
`core.outputs.run_folder.LoadedRun` (a run read back from its folder) and the GUI tests'
`FakeRun` all carry, so that readers (run.json, compare, the summary panel, the status
line) read any of them with plain attribute reads. A watched job (`core.engine.watched_job`: the
user's own training script) is a fourth.

`LiveRun` adds what the app's worker thread drives (run, stop, change); `RunFactory` makes
one from a description. No TensorFlow here: the protocol is read by core.outputs and gui.
"""
from __future__ import annotations

from typing import Callable, Optional, Protocol, runtime_checkable

from core.engine.outcome import RunOutcome
from core.spec.pipeline import PipelineSpec
from core.spec.records import StageRecords, StepRecords


@runtime_checkable
class RunView(Protocol):
    """A run as its readers see it; they only read these."""

    spec: PipelineSpec  # follows what-if changes while the run goes
    records: StepRecords
    stage_records: StageRecords
    outcome: RunOutcome
    device: Optional[str]
    device_details: dict  # name and, for a GPU, compute capability
    capacity: Optional[int]  # the feeding buffer's
    started_at: Optional[str]  # wall-clock ISO start kept by a run loaded from its folder; None for a live run
    extra: dict  # what the run added to its summary.json (the app's ui_lag_ms)
    closed: bool  # the run's record is complete, not cut off by a kill
    cpu_split: Optional[dict]  # host CPU seconds per category (core.engine.cpu_meter); None before it
    change_pending: bool  # a what-if change waits for the next step boundary
    accepts_changes: bool  # whether request_change can reach the run (a loaded run's cannot)

    def target(self) -> tuple[Optional[int], Optional[float]]:
        """(steps, seconds) the run was to go for: one is set, or neither for a watched script that ends
        when it ends."""

    def elapsed_s(self) -> float:
        """Seconds since its first step (its recorded length, for a run that has ended)."""


@runtime_checkable
class LiveRun(RunView, Protocol):
    """A run the app's worker thread drives: `run()` blocks on that thread, the others come from any."""

    def run(self) -> RunOutcome: ...

    def request_stop(self) -> None: ...

    def request_change(self, new_spec: PipelineSpec) -> None: ...


RunFactory = Callable[[PipelineSpec], LiveRun]
