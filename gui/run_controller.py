"""Starting, stopping and keeping runs: the worker, the session's run history, the status line.

One run at a time. The controller owns the session's `RunHistory` and holds no
widget: views read the history's current run (the main window wires them).
Edits made while a run goes are sent to it as what-if changes (applied at the
next step boundary); one the run cannot take (a watched script's) is refused
in `change_refused`, one that would start its data again is asked about first
(`restart_asked`). Each run streams its records into a folder of its own
(`run_folders`), so a crash loses at most its last second. When it ends it
stays in the history, with its records, for the plots, the exports and
comparing, whether it finished, stopped or failed; runs recorded earlier join
the history when opened from their folders.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt5 import QtCore

from core.engine.outcome import RunStatus
from core.engine.run_protocol import RunFactory
from core.experiments.history import RecordedRun, RunEntry, RunHistory
from core.experiments.watched_run import RestartQuestion
from core.experiments.run_folders import RunFolders
from core.outputs.summary import profile_line
from core.outputs.run_files import start_streaming
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec
from core.spec.records import T_DONE
from gui.lag_monitor import LagMonitor
from gui.worker import RunWorker


class RunController(QtCore.QObject):
    state_changed = QtCore.pyqtSignal()
    status_changed = QtCore.pyqtSignal(str, int, str)  # status line, progress 0–1000, progress in words
    current_changed = QtCore.pyqtSignal(object)  # the history's current RunEntry, or None
    run_finished = QtCore.pyqtSignal(object)  # the core Run
    notice = QtCore.pyqtSignal(str)  # something to say once (a run that cannot be recorded on disk)
    change_refused = QtCore.pyqtSignal(str)  # why the run cannot take an edit: nothing was sent
    restart_asked = QtCore.pyqtSignal(str, object)  # the question, and the description to send if the answer is yes

    def __init__(self, parent=None, history: Optional[RunHistory] = None, run_folders: Optional[RunFolders] = None):
        super().__init__(parent)
        self.history = history if history is not None else RunHistory()
        self.run_folders = run_folders  # where runs are recorded; None: they are not
        self.worker: Optional[RunWorker] = None
        self.lag = LagMonitor(self)
        self.profile_next: Optional[str] = None  # a folder the next run keeps a tf.profiler capture in (Run menu)

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def last_run(self) -> Optional[RecordedRun]:
        """The run the plots show (going or ended); None before any, or once another pipeline is loaded."""
        current = self.history.current
        return current.run if current is not None else None

    def start(self, spec: PipelineSpec, record_to=None, run_factory: Optional[RunFactory] = None,
              recorded_by_run: bool = False) -> None:
        """Run `spec`, recorded into `record_to` if given, else into a new folder of `run_folders`;
        `run_factory` makes the run (default: the engine's Run, with the Run menu's profile capture).
        `recorded_by_run`: the run writes `record_to` itself (a watched script's process does), so the
        app streams nothing there."""
        if self.running:
            return
        self.worker = RunWorker(spec, profile_dir=self.profile_next, run_factory=run_factory)
        self.profile_next = None  # asked for one run
        self.worker.finished.connect(self._finished)
        folder = str(record_to) if recorded_by_run else self._start_recording(self.worker, record_to)
        self.current_changed.emit(self.history.add(self.worker.run_obj, folder))
        self.lag.start()
        self.worker.start()
        self.status_changed.emit("Starting: loading TensorFlow and building the pipeline…", 0, "starting…")
        self.state_changed.emit()

    def show_recorded(self, run: RecordedRun, folder) -> RunEntry:
        """Keep a run read back from its `folder` and show it as an ended run."""
        if self.running:
            raise RuntimeError("show_recorded() while running: stop the run first")
        entry = self.history.add(run, str(folder), loaded=True)
        self.current_changed.emit(entry)
        return entry

    def show_entry(self, entry_id: int) -> RunEntry:
        """Show a kept run again (picked in the Runs dock): the plots follow it if it is still going."""
        entry = self.history.select(entry_id)
        self.current_changed.emit(entry)
        return entry

    def replace_runs(self, runs, current_id: Optional[int]) -> list[RunEntry]:
        """Another session was opened: its runs, each (run, folder, id, label) read back from its folder,
        replace the history's; the run `current_id` is shown, if given."""
        if self.running:
            raise RuntimeError("replace_runs() while running: stop the run first")
        self.history.clear()
        entries = [self.history.restore(run, str(folder), entry_id, label) for run, folder, entry_id, label in runs]
        if current_id is not None and any(entry.id == current_id for entry in entries):
            self.show_entry(current_id)
        return entries

    def stop(self) -> None:
        """Ask the run to stop; `run_finished` follows when the worker has ended."""
        if self.worker is not None:
            self.worker.run_obj.request_stop()
            self.status_changed.emit("Stopping…", *self._progress(self.history.current, None))

    def send_change(self, spec: PipelineSpec, allow_data_restart: bool = False) -> None:
        """A what-if edit for the run going; `allow_data_restart`: the user said yes to starting its data again."""
        run = self.worker.run_obj if self.worker is not None else None
        if run is None or not run.accepts_changes:
            return
        try:
            if allow_data_restart:
                run.request_change(spec, allow_data_restart=True)  # only a watched run asks it (RestartQuestion)
            else:
                run.request_change(spec)
        except RestartQuestion as question:
            self.restart_asked.emit(str(question), spec)
        except SpecError as error:
            self.change_refused.emit(str(error))

    def shutdown(self) -> None:
        """Stop and wait (closing the window): no thread may outlive it."""
        if self.worker is not None:
            self.worker.stop()
            self._finished()

    def forget_run(self) -> None:
        """Another pipeline was loaded: the plots stop showing the last run (the history keeps it)."""
        if self.running:
            raise RuntimeError("forget_run() while running: stop the run first")
        self.history.forget_current()
        self.current_changed.emit(None)
        self.status_changed.emit("Ready", 0, "no run yet")

    def ui_lag_ms(self) -> dict:
        return self.lag.summary()

    def report_status(self, summary: dict) -> None:
        """Say in the status line how the current run is going, from the figures its view just showed
        (`summary`, from its pulled rows): the status line and the summary panel count the same steps."""
        entry = self.history.current
        if entry is None:
            return
        run, status = entry.run, entry.status
        warnings = " · ".join(run.outcome.warnings)  # a GPU TensorFlow cannot use: said for the whole run
        if status in (RunStatus.PENDING, RunStatus.BUILDING) and not entry.loaded:  # a loaded one was cut off
            building = "Building the pipeline (TensorFlow loads on the worker)…"
            self.status_changed.emit(f"{warnings} · {building}" if warnings else building, 0, "building…")
            return
        self.status_changed.emit(_status_line(entry, summary, final=self._has_ended(entry), warnings=warnings),
                                 *self._progress(entry, summary))

    # ------------------------------------------------------------ internals

    def _start_recording(self, worker: RunWorker, record_to) -> Optional[str]:
        """Stream the worker's run into its folder; the folder, or None when the run is not recorded
        (a folder that cannot be written is said, and the run goes on in memory)."""
        if record_to is None and self.run_folders is None:
            return None
        try:
            folder = Path(record_to) if record_to is not None else self.run_folders.new_folder(worker.run_obj.spec.name)
            worker.stream = start_streaming(worker.run_obj, folder)
            return str(folder)
        except (OSError, SpecError) as error:
            self.notice.emit(f"This run is not recorded on disk ({error}); export it to keep it.")
            return None

    def _has_ended(self, entry: RunEntry) -> bool:
        """Ended for the user: its status says so and its worker (if it was ours) is done."""
        return entry.ended and not (self.running and self.worker.run_obj is entry.run)

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return  # already handled (shutdown waited, then the queued signal arrived)
        worker.wait()
        self.lag.stop()
        worker.deleteLater()
        self.state_changed.emit()
        self.run_finished.emit(worker.run_obj)

    def _progress(self, entry: Optional[RunEntry], summary: Optional[dict]) -> tuple[int, str]:
        """How far the run got, from the steps pulled so far: (0–1000, words for the bar)."""
        if entry is None:
            return 0, "no run yet"
        run, rows = entry.run, entry.rows()
        steps, seconds = entry.target()
        recorded = len(rows)
        if steps:
            fraction, words = recorded / steps, f"{recorded:,} / {steps:,} steps"
        elif not seconds:  # a watched script: it ends when it ends
            fraction, words = 0.0, f"{recorded:,} steps"
        else:  # by the clock while running: a stalled run still ends on time
            recorded_s = float(rows[-1, T_DONE]) if recorded else 0.0
            done_s = run.elapsed_s() if entry.status is RunStatus.RUNNING else recorded_s
            fraction, words = done_s / seconds, f"{done_s:.1f} / {seconds:g} s"
        if entry.status is RunStatus.FINISHED:  # the target was reached; anything else shows how far
            fraction = 1.0
        return int(1000 * min(1.0, fraction)), words


def _status_line(entry: RunEntry, summary: dict, final: bool, warnings: str) -> str:
    run, status = entry.run, entry.status
    said = "Cut off (it was killed, or crashed, before it ended)" if entry.cut_off else status.capitalize()
    parts = [said, f"{len(entry.rows()):,} steps"]
    stalls = run.outcome.stalls
    if stalls and stalls[-1].ongoing:
        waiting_change = "; your change applies once that element arrives" if run.change_pending else ""
        parts.insert(1, f"STALLED: {stalls[-1].describe()}{waiting_change}")
    if final:
        parts.append(f"{summary.get('steps_per_s') or 0:.1f} steps/s")
    else:
        parts.append(f"{entry.recent_steps_per_s():.1f} steps/s in the last 2 s")
    if summary:
        parts.append(f"idle {100 * summary['idle_fraction']:.1f}%")
        parts.append(summary["verdict"] or "")
    parts.append(run.device or "")
    parts.append(warnings)
    if final and run.outcome.error is not None:
        parts.append(f"— {describe_failure(run.outcome.error)}")
    if final and run.outcome.profile is not None:
        parts.append(profile_line(run.outcome.profile))
    return " · ".join(part for part in parts if part)


def describe_failure(error: BaseException) -> str:
    if isinstance(error, SpecError):
        return f"cannot run: {error}"
    return str(error)
