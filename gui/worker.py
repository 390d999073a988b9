"""The QThread that owns one core Run.

It emits nothing per step: the GUI pulls `run.records` on a timer. QThread's
own `finished` signal says the run is over; `run.outcome` says how it ended.
"""
from __future__ import annotations

from PyQt5 import QtCore

from core.engine.outcome import RunStatus
from core.engine.runner import Run
from core.spec.pipeline import PipelineSpec


class RunWorker(QtCore.QThread):
    def __init__(self, spec: PipelineSpec, parent=None):
        super().__init__(parent)
        self.setObjectName("pipescope-run")
        self.run_obj = Run(spec)

    def run(self) -> None:  # the worker thread: TensorFlow is imported here, never at start-up
        try:
            self.run_obj.run()
        except BaseException as error:  # Run.run reports failures itself; this is a last resort
            self.run_obj.outcome.status = RunStatus.FAILED
            self.run_obj.outcome.error = error

    def stop(self, wait_ms: int = 30_000) -> bool:
        """Ask the run to stop and wait for the thread; True when it has ended."""
        self.run_obj.request_stop()
        return self.wait(wait_ms)
