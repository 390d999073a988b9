"""What a run has come to: its status, its error, and what it noticed on the way.

The run's supervisor and stepping thread write these; readers on other threads
(the CLI's progress line, the app's timers) only read them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

from core.engine.stalls import Stall


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    BUILDING = "building"  # loading TensorFlow, building the pipeline and the model
    RUNNING = "running"
    FINISHED = "finished"  # reached its steps or seconds
    STOPPED = "stopped"  # asked to stop
    EXHAUSTED = "exhausted"  # the data ran out first
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.BUILDING, RunStatus.RUNNING)


@dataclass
class ConfigChange:
    step: int
    t: float
    version: int
    description: str


class RunFailure(Exception):
    """The pipeline or the model failed while running; names the stage when it can."""

    def __init__(self, message: str, stage_id: Optional[str] = None):
        super().__init__(message)
        self.stage_id = stage_id


@dataclass
class RunOutcome:
    status: RunStatus = RunStatus.PENDING
    error: Optional[BaseException] = None
    changes: list[ConfigChange] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)  # appended live by the run's supervisor
    skipped_files: Optional[list[str]] = None  # files skip_corrupt leaves out; None when nothing skips
    left_in_flight: bool = False  # ended while an element was still being produced
    pending_at_end: Optional[Stall] = None  # the batch the model still waited for when the run ended
    stages_unavailable: Optional[str] = None  # why tf.data's live per-stage figures cannot be read, if so
    warnings: list[str] = field(default_factory=list)  # one line each, said at the start (a GPU TF cannot use)
    device_busy: dict = field(default_factory=lambda: {  # the device's own busy time, from a tf.profiler capture
        "device_busy_ms": None, "device_busy": "not measured: the run has not started"})
    profile: Optional[dict] = None  # the tf.profiler capture kept for XProf (run --profile-dir): where, which steps
    service: Optional[dict] = None  # a tf_data_service stage's servers: per server CPU s, per worker elements
