"""Starting, watching and stopping runs: the worker, the live view, the status line.

One run at a time. Edits made while it runs are sent to it as what-if changes
(applied at the next step boundary). When it ends, its records stay for the
plots and the exports, whether it finished, was stopped or failed.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore

from core.params import SpecError
from core.spec import PipelineSpec
from gui.lag_monitor import LagMonitor
from gui.live_view import LiveView
from gui.worker import RunWorker

STATUS_HZ = 4


class RunController(QtCore.QObject):
    state_changed = QtCore.pyqtSignal()
    status_changed = QtCore.pyqtSignal(str, int)  # status line, progress 0–1000
    run_finished = QtCore.pyqtSignal(object)  # the core Run

    def __init__(self, live_view: LiveView, parent=None):
        super().__init__(parent)
        self.live_view = live_view
        self.worker: Optional[RunWorker] = None
        self.last_run = None
        self.lag = LagMonitor(self)
        self.status_timer = QtCore.QTimer(self)
        self.status_timer.setObjectName("pipescope-status")
        self.status_timer.setInterval(1000 // STATUS_HZ)
        self.status_timer.timeout.connect(self._report_status)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, spec: PipelineSpec) -> None:
        if self.running:
            return
        self.worker = RunWorker(spec)
        self.worker.finished.connect(self._finished)
        self.last_run = self.worker.run_obj
        self.live_view.start(self.last_run)
        self.lag.start()
        self.status_timer.start()
        self.worker.start()
        self.status_changed.emit("Starting: loading TensorFlow and building the pipeline…", 0)
        self.state_changed.emit()

    def stop(self) -> None:
        """Ask the run to stop; `run_finished` follows when the worker has ended."""
        if self.worker is not None:
            self.worker.run_obj.request_stop()
            self.status_changed.emit("Stopping…", self._progress())

    def send_change(self, spec: PipelineSpec) -> None:
        if self.worker is not None:
            self.worker.run_obj.request_change(spec)

    def shutdown(self) -> None:
        """Stop and wait (closing the window): no thread may outlive it."""
        if self.worker is not None:
            self.worker.stop()
            self._finished()

    def ui_lag_ms(self) -> dict:
        return self.lag.summary()

    # ------------------------------------------------------------ internals

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return  # already handled (shutdown waited, then the queued signal arrived)
        worker.wait()
        self.status_timer.stop()
        self.lag.stop()
        self.live_view.finish()
        self._report_status(final=True)
        worker.deleteLater()
        self.state_changed.emit()
        self.run_finished.emit(self.last_run)

    def _progress(self) -> int:
        run = self.last_run
        if run is None:
            return 0
        steps, seconds = run.target()
        fraction = len(run.records) / steps if steps else run.elapsed_s() / seconds if seconds else 0.0
        return int(1000 * min(1.0, fraction))

    def _report_status(self, final: bool = False) -> None:
        run = self.last_run
        status = run.outcome.status
        if status in ("pending", "building"):
            self.status_changed.emit("Building the pipeline (TensorFlow loads on the worker)…", 0)
            return
        summary = self.live_view.summary.latest
        parts = [status.capitalize(), f"{len(run.records):,} steps"]
        rate = summary.get("steps_per_s") if final else self.live_view.recent_steps_per_s()
        parts.append(f"{rate or 0:.1f} steps/s")
        if summary:
            parts.append(f"idle {100 * summary['idle_fraction']:.1f}%")
            parts.append(summary["verdict"] or "")
        parts.append(run.device or "")
        if final and run.outcome.error is not None:
            parts.append(f"— {describe_failure(run.outcome.error)}")
        self.status_changed.emit(" · ".join(part for part in parts if part), 1000 if final else self._progress())


def describe_failure(error: BaseException) -> str:
    if isinstance(error, SpecError):
        return f"cannot run: {error}"
    return str(error)
