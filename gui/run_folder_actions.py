"""Runs on disk in the app: File → Open run…, and reopening the run a crash cut off.

`open_run_folder(folder)` shows no dialog (tests call it); it shows a recorded run
as the app shows a run that has just ended: its pipeline on the canvas, its plots,
summary, stage figures and failure. While a run records, its folder is noted
(gui.unfinished_run); at the next start, a note left by an app that died is
offered back.
"""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtWidgets

from core.experiments.history import RunEntry
from core.outputs.run_folder import load_run
from gui.unfinished_run import UnfinishedRun

NOTICE_MS = 30_000


class RunFolderActions(QtCore.QObject):
    def __init__(self, window, settings: QtCore.QSettings):
        super().__init__(window)
        self.window = window
        self.unfinished = UnfinishedRun(settings)
        window.controller.current_changed.connect(self._note_recording)
        window.controller.run_finished.connect(lambda _run: self.unfinished.clear())  # the app saw it end

    def open_run_folder(self, folder) -> RunEntry:
        """Show the run recorded in `folder` (SpecError, naming the folder, when there is none)."""
        run = load_run(folder)
        self.window.load_spec(run.spec)  # its pipeline as it ended, so the blocks carry its figures
        entry = self.window.controller.show_recorded(run, folder)
        self.window.show_failure(run.outcome.error)
        cut_off = " It was cut off before it ended: its last second may be missing." if entry.cut_off else ""
        self.window.statusBar().showMessage(f"Opened the run recorded in {folder}.{cut_off}", NOTICE_MS)
        return entry

    def ask_open_run(self) -> None:
        start = self.window.controller.run_folders.base if self.window.controller.run_folders else Path.home()
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open a run folder", str(start))
        if folder and self.window.may_replace_pipeline():
            self.window.report(lambda: self.open_run_folder(folder))

    def offer_to_reopen(self) -> None:
        """At start: if the app last ended in the middle of a run, offer what that run recorded."""
        folder = self.unfinished.left_by_a_crash()
        if folder is None:
            return
        self.unfinished.clear()  # asked once, whatever the answer
        answer = QtWidgets.QMessageBox.question(
            self.window, "Reopen the last run?",
            f"Pipescope ended while a run was going. What it recorded up to then is in\n{folder}\n\nOpen it?",
            QtWidgets.QMessageBox.Open | QtWidgets.QMessageBox.Ignore)
        if answer == QtWidgets.QMessageBox.Open:
            self.window.report(lambda: self.open_run_folder(folder))

    def _note_recording(self, entry) -> None:
        # current_changed also comes when the Runs dock shows an earlier run: only a run still going is noted
        if entry is not None and not entry.ended and entry.folder is not None:
            self.unfinished.note(entry.folder)
