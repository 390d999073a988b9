"""Starting, watching and stopping runs: the worker, the live view, the status line.

One run at a time. Edits made while it runs are sent to it as what-if changes
(applied at the next step boundary). When it ends, its records stay for the
plots and the exports, whether it finished, was stopped or failed.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore

from core.engine.outcome import RunStatus
from core.spec.params import SpecError
from core.spec.records import T_DONE
from core.spec.pipeline import PipelineSpec
from gui.lag_monitor import LagMonitor
from gui.live_view import LiveView
from gui.worker import RunWorker


class RunController(QtCore.QObject):
    state_changed = QtCore.pyqtSignal()
    status_changed = QtCore.pyqtSignal(str, int, str)  # status line, progress 0–1000, progress in words
    run_finished = QtCore.pyqtSignal(object)  # the core Run

    def __init__(self, live_view: LiveView, parent=None):
        super().__init__(parent)
        self.live_view = live_view
        self.worker: Optional[RunWorker] = None
        self.last_run = None
        self.lag = LagMonitor(self)
        # The status line is written when the summary is: both count the same recorded steps.
        live_view.figures_updated.connect(self._report_status)

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
        self.worker.start()
        self.status_changed.emit("Starting: loading TensorFlow and building the pipeline…", 0, "starting…")
        self.state_changed.emit()

    def stop(self) -> None:
        """Ask the run to stop; `run_finished` follows when the worker has ended."""
        if self.worker is not None:
            self.worker.run_obj.request_stop()
            self.status_changed.emit("Stopping…", *self._progress())

    def send_change(self, spec: PipelineSpec) -> None:
        if self.worker is not None:
            self.worker.run_obj.request_change(spec)

    def shutdown(self) -> None:
        """Stop and wait (closing the window): no thread may outlive it."""
        if self.worker is not None:
            self.worker.stop()
            self._finished()

    def forget_run(self) -> None:
        """Another pipeline was loaded: the last run, its plots and figures were the old one's."""
        if self.running:
            raise RuntimeError("forget_run() while running: stop the run first")
        self.last_run = None
        self.live_view.clear()
        self.status_changed.emit("Ready", 0, "no run yet")

    def ui_lag_ms(self) -> dict:
        return self.lag.summary()

    # ------------------------------------------------------------ internals

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return  # already handled (shutdown waited, then the queued signal arrived)
        worker.wait()
        self.lag.stop()
        self.live_view.finish()
        self._report_status(final=True)
        worker.deleteLater()
        self.state_changed.emit()
        self.run_finished.emit(self.last_run)

    def _progress(self) -> tuple[int, str]:
        """How far the run got, from the steps the view has pulled: (0–1000, words for the bar)."""
        run, rows = self.last_run, self.live_view.buffer.rows()
        steps, seconds = run.target()
        if steps:
            fraction, words = len(rows) / steps, f"{len(rows):,} / {steps:,} steps"
        else:  # by the clock while running: a stalled run still ends on time
            recorded_s = float(rows[-1, T_DONE]) if len(rows) else 0.0
            done_s = run.elapsed_s() if run.outcome.status is RunStatus.RUNNING else recorded_s
            fraction, words = done_s / seconds, f"{done_s:.1f} / {seconds:g} s"
        if run.outcome.status is RunStatus.FINISHED:  # the target was reached; anything else shows how far
            fraction = 1.0
        return int(1000 * min(1.0, fraction)), words

    def _report_status(self, final: bool = False) -> None:
        run = self.last_run
        if run is None or self.live_view.run is not run:
            return
        status = run.outcome.status
        warnings = " · ".join(run.outcome.warnings)  # a GPU TensorFlow cannot use: said for the whole run
        if status in (RunStatus.PENDING, RunStatus.BUILDING):
            building = "Building the pipeline (TensorFlow loads on the worker)…"
            self.status_changed.emit(f"{warnings} · {building}" if warnings else building, 0, "building…")
            return
        summary = self.live_view.summary.latest
        parts = [status.capitalize(), f"{len(self.live_view.buffer):,} steps"]
        stalls = run.outcome.stalls
        if stalls and stalls[-1].ongoing:
            waiting_change = "; your change applies once that element arrives" if run.change_pending else ""
            parts.insert(1, f"STALLED: {stalls[-1].describe()}{waiting_change}")
        if final:
            parts.append(f"{summary.get('steps_per_s') or 0:.1f} steps/s")
        else:
            parts.append(f"{self.live_view.recent_steps_per_s():.1f} steps/s in the last 2 s")
        if summary:
            parts.append(f"idle {100 * summary['idle_fraction']:.1f}%")
            parts.append(summary["verdict"] or "")
        parts.append(run.device or "")
        parts.append(warnings)
        if final and run.outcome.error is not None:
            parts.append(f"— {describe_failure(run.outcome.error)}")
        self.status_changed.emit(" · ".join(part for part in parts if part), *self._progress())


def describe_failure(error: BaseException) -> str:
    if isinstance(error, SpecError):
        return f"cannot run: {error}"
    return str(error)
