"""The main window: canvas, palette, inspector, what-if knobs and live plots, with menus, toolbar and shortcuts.

Methods that do the work (open_path, save_to, start_run, the exports in
export_actions, open_run_folder in run_folder_actions) take their paths as
arguments and show no dialog, so tests and the scripted mode call them
directly; the menu actions ask for the paths and report errors. Loading another
pipeline is not a what-if edit: the run is stopped first (the menus ask), and
what belonged to the old pipeline goes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from core.experiments.run_folders import RunFolders
from core.spec.params import SpecError
from core.spec.presets import load_preset
from core.engine.outcome import RunFailure
from core.spec.pipeline import PipelineSpec, load_spec, save_spec
from gui.document import PIPELINE, PipelineDocument, key_for_error
from gui.dock_room import share_room
from gui.code_actions import CodeActions
from gui.export_actions import ExportActions
from gui.history_panel import HistoryPanel
from gui.inspector import Inspector
from gui.live_view import LiveView
from gui.menus import build_menus
from gui.palette import Palette
from gui.pipeline_editor import PipelineEditor
from gui.recent_files import LastFolder, RecentFiles
from gui.run_folder_actions import RunFolderActions
from gui.run_controller import RunController, describe_failure
from gui.run_toolbar import RunToolbar
from gui.session_actions import SessionActions
from gui.tuning_actions import TuningActions
from gui.watch_actions import WatchActions
from gui.whatif_panel import WhatIfPanel

MINIMUM_SIZE = (900, 600)  # below this the plots have no room left to show a run


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: Optional[QtCore.QSettings] = None, runs_folder=None):
        """`runs_folder`: where runs are recorded (Pipescope's own cache by default)."""
        super().__init__()
        settings = settings or QtCore.QSettings()
        self.document = PipelineDocument(self)
        self.editor = PipelineEditor(self.document)
        self.inspector = Inspector(self.document)
        self.whatif = WhatIfPanel(self.document)
        self.controller = RunController(self, run_folders=RunFolders(runs_folder) if runs_folder else RunFolders())
        self.live_view = LiveView()
        self.last_folder = LastFolder(settings)
        self.recent = RecentFiles(settings, self._open_recent, self)
        self.toolbar = RunToolbar(self.document, self)
        self.export_actions = ExportActions(self, self.last_folder)
        self.code_actions = CodeActions(self, self.last_folder)
        self.run_folder_actions = RunFolderActions(self, settings)
        self.session_actions = SessionActions(self, self.last_folder)
        self.history_panel = HistoryPanel(self.controller, self.last_folder)
        self.tuning = TuningActions(self)
        self.watch_actions = WatchActions(self)
        self.error_banner = QtWidgets.QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet("background: #fde3e3; color: #8a1010; padding: 6px; "
                                        "border: 1px solid #d03030; font-weight: bold;")
        self.error_banner.hide()
        self.status_label = QtWidgets.QLabel("Ready")
        self.statusBar().addWidget(self.status_label, 1)
        self._build_layout()
        build_menus(self)
        self._connect()
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(1400, 900)
        share_room(self, self.palette_dock, [(self.inspector_dock, self.whatif_dock, self.analysis_dock),
                                             (self.summary_dock, self.segments_dock, self.history_dock)])

    def _connect(self) -> None:
        self.editor.block_selected.connect(self.inspector.show_block)
        self.editor.block_selected.connect(lambda _key: self.inspector_dock.raise_())  # the block's form, in front
        self.live_view.stage_figures.connect(self.editor.show_live)
        self.controller.current_changed.connect(self.live_view.show_entry)  # the view shows the history's current run
        self.live_view.figures_updated.connect(self.controller.report_status)  # one count of steps for both
        self.document.changed.connect(self._document_changed)
        self.document.path_changed.connect(self._update_title)
        self.controller.state_changed.connect(self._update_actions)
        self.controller.status_changed.connect(self._show_status)
        self.controller.notice.connect(lambda text: self.statusBar().showMessage(text, 30_000))
        self.controller.run_finished.connect(self._run_finished)
        self.live_view.segments.configuration_added.connect(self.segments_dock.raise_)  # before and after, in front
        for polled_by in (self.controller.state_changed, self.controller.current_changed,
                          self.live_view.figures_updated):  # the Runs list follows signals already sent
            polled_by.connect(self.history_panel.refresh)
        self.controller.run_finished.connect(self._runs_to_front)
        self.toolbar.run_requested.connect(self.start_run)
        self.toolbar.stop_requested.connect(self.controller.stop)

    def _build_layout(self) -> None:
        self.addToolBar(self.toolbar)
        bottom = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.error_banner)
        column.addWidget(self.live_view, 1)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        splitter.addWidget(self.editor)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(1, 1)  # a taller window gives the plots the room
        splitter.setCollapsible(1, False)
        splitter.setSizes([190, 700])
        self.setCentralWidget(splitter)
        self.palette_dock = self._dock("Stages", Palette(self.editor), QtCore.Qt.LeftDockWidgetArea)
        # Scrolled, as the column's other docks: a long form would otherwise take the Runs list's height.
        self.inspector_dock = self._dock("Inspector", _scrolling(self.inspector), QtCore.Qt.RightDockWidgetArea)
        self.whatif_dock = self._dock("What-if", _scrolling(self.whatif), QtCore.Qt.RightDockWidgetArea)
        # Short titles: three tabs share the column's width (gui.dock_room), which the canvas needs too.
        self.summary_dock = self._dock("Summary", _scrolling(self.live_view.summary), QtCore.Qt.RightDockWidgetArea)
        self.segments_dock = self._dock("Before/after", _scrolling(self._segments_with_caption()),
                                        QtCore.Qt.RightDockWidgetArea)
        self.splitDockWidget(self.inspector_dock, self.summary_dock, QtCore.Qt.Vertical)
        # Each pair shares a place: a run brings the knobs to the front, selecting a block its form, and a
        # what-if change the figures before and after it.
        self.tabifyDockWidget(self.inspector_dock, self.whatif_dock)
        self.tabifyDockWidget(self.summary_dock, self.segments_dock)
        # A third tab there, not a place of its own: the column has no height to spare at 1000×650.
        self.history_dock = self._dock("Runs", self.history_panel, QtCore.Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.segments_dock, self.history_dock)
        self.analysis_dock = self._dock("Bottleneck", _scrolling(self.tuning.panel), QtCore.Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.whatif_dock, self.analysis_dock)
        self.inspector_dock.raise_()
        self.summary_dock.raise_()

    def _segments_with_caption(self) -> QtWidgets.QWidget:
        host = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(host)
        column.setContentsMargins(4, 4, 4, 4)
        caption = QtWidgets.QLabel("The run as it started, then after each what-if change (warm-up left out; "
                                   "times are medians in ms); the most steps/s highlighted.")
        caption.setWordWrap(True)  # a label's text would otherwise set the dock's narrowest width
        caption.setStyleSheet("color: #555;")
        column.addWidget(caption)
        column.addWidget(self.live_view.segments)
        column.addStretch(1)
        return host

    def _dock(self, title: str, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------------ documents

    def load_spec(self, spec: PipelineSpec, path: Optional[str] = None) -> None:
        """Show another pipeline; a run going is stopped first, and the old pipeline's results go."""
        self.controller.shutdown()  # never swapped into the run as a what-if edit
        self.controller.forget_run()
        self.error_banner.hide()
        self.editor.show_failure(None)
        self.document.load(spec, path)
        self.editor.select(PIPELINE)

    def open_path(self, path: str) -> None:
        self.load_spec(load_spec(path), str(path))  # SpecError names the file or field
        self.recent.add(str(path))

    def save_to(self, path: str) -> None:
        save_spec(self.document.spec(), path)
        self.document.mark_saved(str(path))
        self.recent.add(str(path))

    def maybe_discard_changes(self) -> bool:
        """True when there is nothing unsaved, or the user saved or discarded it."""
        if not self.document.is_modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to '{self.document.title}'?",
            QtWidgets.QMessageBox.Save | QtWidgets.QMessageBox.Discard | QtWidgets.QMessageBox.Cancel)
        if answer == QtWidgets.QMessageBox.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.Discard

    def may_replace_pipeline(self) -> bool:
        """Before another pipeline is shown: a run going may be stopped, unsaved changes saved or dropped."""
        if self.controller.running:
            answer = QtWidgets.QMessageBox.question(
                self, "Stop the run?", f"'{self.document.title}' is running. Stop the run and open another "
                "pipeline? Its plots and figures are cleared (export them first to keep them).",
                QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.Cancel)
            if answer != QtWidgets.QMessageBox.Yes:
                return False
        return self.maybe_discard_changes()

    def ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open pipeline", self.last_folder.path_for(),
                                                        "Pipeline files (*.json)")
        if path:
            self.last_folder.remember(path)
            self._open_recent(path)

    def _open_recent(self, path: str) -> None:
        if self.may_replace_pipeline():
            self.report(lambda: self.open_path(path))

    def ask_load_preset(self, name: str) -> None:
        if self.may_replace_pipeline():
            self.load_spec(load_preset(name))

    def save(self) -> bool:
        if self.document.path is None:
            return self.ask_save_as()
        return self.report(lambda: self.save_to(self.document.path))

    def ask_save_as(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save pipeline", self.last_folder.path_for(f"{self.document.title}.json"), "Pipeline files (*.json)")
        if path:
            self.last_folder.remember(path)
        return bool(path) and self.report(lambda: self.save_to(path))

    def report(self, work) -> bool:
        try:
            work()
            return True
        except (SpecError, OSError) as error:
            QtWidgets.QMessageBox.warning(self, "Pipescope", str(error))
            return False

    # ------------------------------------------------------------ running

    def start_run(self, record_to=None) -> bool:
        """Start a run of the pipeline shown, recorded into `record_to` (else a new folder of its own)."""
        problem = self.document.first_problem()
        if problem or self.controller.running:
            return False
        self.error_banner.hide()
        self.editor.show_failure(None)
        self.controller.start(self.document.spec(), record_to)
        self.whatif_dock.raise_()  # what a running pipeline is edited with
        return True

    def _document_changed(self) -> None:
        if self.controller.running and not self.document.problems():
            self.controller.send_change(self.document.spec())  # what-if: applied at the next step
        self._update_actions()
        self._update_title()

    def _first_step(self) -> str:
        """What to do first, for the empty plots."""
        if self.controller.running:
            return "Starting: TensorFlow loads and the pipeline is built; the first steps appear here."
        problem = self.document.first_problem()
        if problem:
            return f"Fix this first (marked in red): {problem}"
        run = self.document.block(PIPELINE)
        length = f"{run['seconds']:g} s" if run.get("seconds") else f"{run.get('steps', 0):,} steps"
        return f"Press ▶ Run (F5) to profile '{self.document.title}' for {length}."

    def _update_actions(self) -> None:
        self.toolbar.show_state(self.controller.running, self.document.first_problem())
        self.live_view.plots.set_first_step(self._first_step())

    def _show_status(self, text: str, progress: int, progress_words: str) -> None:
        self.status_label.setText(text)
        self.toolbar.show_progress(progress, progress_words)

    def _run_finished(self, run) -> None:
        self.live_view.finish()  # connected before the app's own listeners: they see the final plots
        self.show_failure(run.outcome.error)

    def _runs_to_front(self, _run) -> None:
        """A run has ended beside earlier ones: the Runs list sets its steps/s beside theirs, ready to compare."""
        if len(self.controller.history) >= 2:
            self.history_dock.raise_()

    def show_failure(self, error: Optional[BaseException]) -> None:
        """A run's failure over the plots and on the block that failed; nothing when it did not fail."""
        if error is None:
            return
        self.error_banner.setText(f"Run failed — {describe_failure(error)}. The steps recorded so far are "
                                  "kept: export them from the Export menu.")
        self.error_banner.show()
        stage_id = error.stage_id if isinstance(error, RunFailure) else None
        self.editor.show_failure(stage_id, None if stage_id else key_for_error(error, self.document))

    def _update_title(self) -> None:
        name = Path(self.document.path).name if self.document.path else self.document.title
        self.setWindowTitle(f"{name}{' *' if self.document.is_modified else ''} — Pipescope")

    def show_internal_error(self, message: str) -> None:
        """A bug of ours in a slot: say so and keep the app (and its data) alive."""
        self.error_banner.setText(f"Internal error — {message}. Your pipeline and recorded steps are kept; "
                                  "details are on the terminal.")
        self.error_banner.show()

    def closeEvent(self, event) -> None:
        if not self.maybe_discard_changes():
            event.ignore()
            return
        self.shutdown_workers()
        self.history_panel.close_compare_view()  # a window of its own, which goes with this one
        event.accept()

    def shutdown_workers(self) -> None:
        """No thread outlives the window (closing it, Ctrl-C): the run and an open sweep's run are stopped
        and waited for, and so is a measurement in progress (which cannot be interrupted)."""
        self.controller.shutdown()
        self.tuning.shutdown()


def _scrolling(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """On a small screen the widget scrolls instead of squeezing its neighbours."""
    area = QtWidgets.QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.NoFrame)
    return area
