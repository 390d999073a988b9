"""The Export menu: the plots (headed by the pipeline's name and the run's figures), the window,
and the run's files.

The methods that write (`plots_png`, `run_files`, …) take their paths and show
no dialog, so tests and the scripted mode call them directly; each returns the
files it wrote. The menu's actions ask for a path starting in the last folder
used, and say in the status bar what was written where.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from core.outputs.summary import run_headline
from gui import exports
from gui.menus import add_action
from gui.recent_files import LastFolder

CONFIRMATION_MS = 20_000


class ExportActions(QtCore.QObject):
    def __init__(self, window, last_folder: LastFolder):
        super().__init__(window)
        self.window = window
        self.last_folder = last_folder

    def fill_menu(self, menu: QtWidgets.QMenu) -> None:
        add_action(menu, "Plots as &PNG…", lambda: self._ask_file("png", self.plots_png), "Ctrl+E")
        add_action(menu, "Plots as &SVG…", lambda: self._ask_file("svg", self.plots_svg), "Ctrl+Shift+G")
        add_action(menu, "&Window as PNG…", lambda: self._ask_file("png", self.window_png), "Ctrl+Shift+W")
        add_action(menu, "&Run files (summary, steps, trace) to a folder…", self._ask_folder, "Ctrl+Shift+E")

    # ------------------------------------------------------------ writing

    def plots_png(self, path) -> list[Path]:
        with self._headed_plots() as plots:
            exports.save_widget_png(plots, path)
        return [Path(path)]

    def plots_svg(self, path) -> list[Path]:
        with self._headed_plots() as plots:
            exports.save_plots_svg(plots, path)
        return [Path(path)]

    def window_png(self, path) -> list[Path]:
        exports.save_widget_png(self.window, path)
        return [Path(path)]

    def run_files(self, out_dir) -> Optional[list[Path]]:
        """The last run's files in `out_dir` (created if new); None when nothing has run."""
        run = self.window.controller.last_run
        if run is None:
            return None
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.time() - 1.0  # file times are coarse on some file systems
        app_figures = {"ui_lag_ms": self.window.controller.ui_lag_ms(),
                       "plot_frame_ms": self.window.live_view.plots.frame_times.summary()}
        shown = self.window.controller.history.current
        streamed_there = shown is not None and shown.ended and shown.folder is not None and \
            Path(shown.folder).resolve() == out_dir.resolve()
        exports.save_run_files(run, out_dir, app_figures, streamed_there)
        return sorted(path for path in out_dir.iterdir() if path.is_file() and path.stat().st_mtime >= started)

    def _headed_plots(self):
        live_view = self.window.live_view
        name = live_view.run.spec.name if live_view.run is not None else self.window.document.title
        return exports.headed(live_view.plots, run_headline(name, live_view.summary.latest))

    # ------------------------------------------------------------ asking and confirming

    def _ask_file(self, suffix: str, export) -> None:
        default = self.last_folder.path_for(f"{self.window.document.title}.{suffix}")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Export", default,
                                                        f"{suffix.upper()} (*.{suffix})")
        if path:
            self.last_folder.remember(path)
            self.write(lambda: export(path))

    def _ask_folder(self) -> None:
        if self.window.controller.last_run is None:
            self.window.statusBar().showMessage("Nothing to export yet: run the pipeline first.", CONFIRMATION_MS)
            return
        # A save dialog, not a folder chooser: a folder chooser cannot name a folder that does not exist yet.
        default = self.last_folder.path_for(f"{self.window.document.title}-run")
        folder, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Folder for the run's files (created if new)", default, "Folder (*)",
            options=QtWidgets.QFileDialog.DontConfirmOverwrite)
        if folder:
            self.last_folder.remember(folder)
            self.write(lambda: self.run_files(folder))

    def write(self, export) -> bool:
        """Run `export` (which returns the files it wrote), saying what went wrong, or what was written where."""
        written = []
        if self.window.report(lambda: written.extend(export() or [])) and written:
            self.confirm(written)
            return True
        return False

    def confirm(self, written: list[Path]) -> None:
        folder = written[0].parent
        names = ", ".join(path.name for path in written)
        self.window.statusBar().showMessage(f"Wrote {names} to {folder}", CONFIRMATION_MS)
