"""The main window: canvas, palette, inspector and live plots, with menus, toolbar and shortcuts.

Methods that do the work (open_path, save_to, start_run, export_…) take their
paths as arguments and show no dialog, so tests and the scripted mode call
them directly; the menu actions ask for the paths and report errors.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from core.params import SpecError
from core.presets import load_preset, preset_names
from core.runner import RunFailure
from core.spec import PipelineSpec, load_spec, save_spec
from gui import exports
from gui.document import PIPELINE, PipelineDocument, key_for_message
from gui.inspector import Inspector
from gui.live_view import LiveView
from gui.pipeline_editor import Palette, PipelineEditor
from gui.recent_files import RecentFiles
from gui.run_controller import RunController, describe_failure
from gui.run_toolbar import RunToolbar


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: Optional[QtCore.QSettings] = None):
        super().__init__()
        self.document = PipelineDocument(self)
        self.editor = PipelineEditor(self.document)
        self.inspector = Inspector(self.document)
        self.live_view = LiveView()
        self.controller = RunController(self.live_view, self)
        self.recent = RecentFiles(settings or QtCore.QSettings(), self._open_recent, self)
        self.toolbar = RunToolbar(self.document, self)
        self.error_banner = QtWidgets.QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet("background: #fde3e3; color: #8a1010; padding: 6px; "
                                        "border: 1px solid #d03030; font-weight: bold;")
        self.error_banner.hide()
        self.status_label = QtWidgets.QLabel("Ready")
        self.statusBar().addWidget(self.status_label, 1)
        self._build_layout()
        self._build_menus()
        self.editor.block_selected.connect(self.inspector.show_block)
        self.live_view.stage_figures.connect(self.editor.show_live)
        self.document.changed.connect(self._document_changed)
        self.document.path_changed.connect(self._update_title)
        self.controller.state_changed.connect(self._update_actions)
        self.controller.status_changed.connect(self._show_status)
        self.controller.run_finished.connect(self._run_finished)
        self.toolbar.run_requested.connect(self.start_run)
        self.toolbar.stop_requested.connect(self.controller.stop)
        self.resize(1400, 900)

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
        splitter.setSizes([190, 700])
        self.setCentralWidget(splitter)
        self.palette_dock = self._dock("Stages", Palette(self.editor), QtCore.Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, QtCore.Qt.RightDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [130, 280], QtCore.Qt.Horizontal)

    def _dock(self, title: str, widget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QtWidgets.QAction:
        action = menu.addAction(text)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setStatusTip(tip)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        files = bar.addMenu("&File")
        self._action(files, "&Open…", self._ask_open, QtGui.QKeySequence.Open)
        self._action(files, "&Save", self._save, QtGui.QKeySequence.Save)
        self._action(files, "Save &As…", self._ask_save_as, QtGui.QKeySequence.SaveAs)
        files.addMenu(self.recent.menu)
        files.addSeparator()
        self._action(files, "&Quit", self.close, QtGui.QKeySequence.Quit)
        edit = bar.addMenu("&Edit")
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QtGui.QKeySequence.Undo)
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QtGui.QKeySequence.Redo)
        edit.addActions([undo, redo])
        edit.addSeparator()
        self._action(edit, "&Delete stage", self.editor.delete_selected, QtGui.QKeySequence.Delete)
        self._action(edit, "Move stage &left", lambda: self.editor.move_selected(-1), "Ctrl+Left")
        self._action(edit, "Move stage &right", lambda: self.editor.move_selected(1), "Ctrl+Right")
        presets = bar.addMenu("&Presets")
        for name in preset_names():
            self._action(presets, name, lambda name=name: self._ask_load_preset(name))
        run = bar.addMenu("&Run")
        run.addActions([self.toolbar.run_action, self.toolbar.stop_action])
        export = bar.addMenu("E&xport")
        self._action(export, "Plots as &PNG…", lambda: self._ask_export("png", self.export_plots_png), "Ctrl+E")
        self._action(export, "Plots as &SVG…", lambda: self._ask_export("svg", self.export_plots_svg),
                     "Ctrl+Shift+G")
        self._action(export, "&Window as PNG…", lambda: self._ask_export("png", self.export_window_png),
                     "Ctrl+Shift+W")
        self._action(export, "&Run files (summary, steps, trace)…", self._ask_export_run_files, "Ctrl+Shift+E")
        view = bar.addMenu("&View")
        view.addActions([self.palette_dock.toggleViewAction(), self.inspector_dock.toggleViewAction()])

    # ------------------------------------------------------------ documents

    def load_spec(self, spec: PipelineSpec, path: Optional[str] = None) -> None:
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
            return self._save()
        return answer == QtWidgets.QMessageBox.Discard

    def _ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open pipeline", "", "Pipeline files (*.json)")
        if path:
            self._open_recent(path)

    def _open_recent(self, path: str) -> None:
        if self.maybe_discard_changes():
            self._report(lambda: self.open_path(path))

    def _ask_load_preset(self, name: str) -> None:
        if self.maybe_discard_changes():
            self.load_spec(load_preset(name))

    def _save(self) -> bool:
        if self.document.path is None:
            return self._ask_save_as()
        return self._report(lambda: self.save_to(self.document.path))

    def _ask_save_as(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save pipeline", f"{self.document.title}.json",
                                                        "Pipeline files (*.json)")
        return bool(path) and self._report(lambda: self.save_to(path))

    def _report(self, work) -> bool:
        try:
            work()
            return True
        except (SpecError, OSError) as error:
            QtWidgets.QMessageBox.warning(self, "Pipescope", str(error))
            return False

    # ------------------------------------------------------------ running

    def start_run(self) -> bool:
        problem = self.document.first_problem()
        if problem or self.controller.running:
            return False
        self.error_banner.hide()
        self.editor.show_failure(None)
        self.controller.start(self.document.spec())
        return True

    def _document_changed(self) -> None:
        if self.controller.running and not self.document.problems():
            self.controller.send_change(self.document.spec())  # what-if: applied at the next step
        self._update_actions()
        self._update_title()

    def _update_actions(self) -> None:
        self.toolbar.show_state(self.controller.running, self.document.first_problem())

    def _show_status(self, text: str, progress: int) -> None:
        self.status_label.setText(text)
        self.toolbar.progress.setValue(progress)

    def _run_finished(self, run) -> None:
        error = run.outcome.error
        if error is None:
            return
        self.error_banner.setText(f"Run failed — {describe_failure(error)}. The steps recorded so far are "
                                  "kept: export them from the Export menu.")
        self.error_banner.show()
        stage_id = error.stage_id if isinstance(error, RunFailure) else None
        self.editor.show_failure(stage_id, None if stage_id else key_for_message(str(error), self.document))

    def _update_title(self) -> None:
        name = Path(self.document.path).name if self.document.path else self.document.title
        self.setWindowTitle(f"{name}{' *' if self.document.is_modified else ''} — Pipescope")

    # ------------------------------------------------------------ exports

    def export_plots_png(self, path) -> None:
        exports.save_widget_png(self.live_view.plots, path)

    def export_plots_svg(self, path) -> None:
        exports.save_plots_svg(self.live_view.plots, path)

    def export_window_png(self, path) -> None:
        exports.save_widget_png(self, path)

    def export_run_files(self, out_dir) -> Optional[dict]:
        run = self.controller.last_run
        return None if run is None else exports.save_run_files(run, out_dir, self.controller.ui_lag_ms())

    def _ask_export(self, suffix: str, export) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export", f"{self.document.title}.{suffix}",
                                                        f"{suffix.upper()} (*.{suffix})")
        if path:
            self._report(lambda: export(path))

    def _ask_export_run_files(self) -> None:
        if self.controller.last_run is None:
            self.status_label.setText("Nothing to export yet: run the pipeline first.")
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Write the run's files to")
        if folder:
            self._report(lambda: self.export_run_files(folder))

    def show_internal_error(self, message: str) -> None:
        """A bug of ours in a slot: say so and keep the app (and its data) alive."""
        self.error_banner.setText(f"Internal error — {message}. Your pipeline and recorded steps are kept; "
                                  "details are on the terminal.")
        self.error_banner.show()

    def closeEvent(self, event) -> None:
        if not self.maybe_discard_changes():
            event.ignore()
            return
        self.controller.shutdown()
        event.accept()
