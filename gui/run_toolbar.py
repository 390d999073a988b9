"""The run toolbar: Run/Stop, the run's length (steps or seconds), progress, and why Run is off.

The length is the document's `run.steps` / `run.seconds`, edited like any
other value (undoable, saved with the pipeline).
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from core.spec.kinds import FROM_SCRIPT
from gui.document import PIPELINE, PipelineDocument
from gui.number_field import NumberField


WATCHED_SCRIPT = "the pipeline is a watched script's own code: File → Watch script… runs the script again"


class RunToolbar(QtWidgets.QToolBar):
    run_requested = QtCore.pyqtSignal()
    stop_requested = QtCore.pyqtSignal()

    def __init__(self, document: PipelineDocument, parent=None):
        super().__init__("Run", parent)
        self.setObjectName("run-toolbar")
        self.document = document
        style = self.style()
        self.run_action = self.addAction(style.standardIcon(QtWidgets.QStyle.SP_MediaPlay), "Run")
        self.run_action.setShortcut(QtGui.QKeySequence("F5"))
        self.run_action.triggered.connect(self.run_requested.emit)
        self.stop_action = self.addAction(style.standardIcon(QtWidgets.QStyle.SP_MediaStop), "Stop")
        self.stop_action.setShortcut(QtGui.QKeySequence("Shift+F5"))
        self.stop_action.triggered.connect(self.stop_requested.emit)
        self.addSeparator()
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["steps", "seconds"])
        self.mode.activated[str].connect(self._mode_chosen)
        self.steps = NumberField(integer=True)
        self.steps.committed.connect(lambda value: document.set_value(PIPELINE, "steps", value))
        self.seconds = NumberField(integer=False)
        self.seconds.committed.connect(lambda value: document.set_value(PIPELINE, "seconds", value))
        for field in (self.steps, self.seconds):
            field.setMaximumWidth(110)
        self.length_action = self.addWidget(QtWidgets.QLabel(" Length "))
        self.steps_action = self.addWidget(self.steps)
        self.seconds_action = self.addWidget(self.seconds)
        self.mode_action = self.addWidget(self.mode)
        self.addSeparator()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(200)
        self.progress.setAlignment(QtCore.Qt.AlignCenter)
        self.progress.setToolTip("How far the run has got towards its length")
        self.show_progress(0, "no run yet")
        self.addWidget(self.progress)
        self.blocked_reason = QtWidgets.QLabel()
        self.blocked_reason.setStyleSheet("color: #c02020; padding-left: 8px;")
        self.addWidget(self.blocked_reason)
        document.changed.connect(self._show_length)

    def show_progress(self, permille: int, words: str) -> None:
        self.progress.setValue(permille)
        self.progress.setFormat(words)

    def _watched_script(self) -> bool:
        return self.document.block("feeder").get("kind") == FROM_SCRIPT

    def _mode_chosen(self, mode: str) -> None:
        seconds = self.seconds.typed_value() if mode == "seconds" else None
        self.document.set_value(PIPELINE, "seconds", seconds)

    def _show_length(self) -> None:
        run = self.document.block(PIPELINE)
        seconds = run.get("seconds")
        watched = self._watched_script()  # it ends when the script does: no length of Pipescope's
        self.length_action.setVisible(not watched)
        self.mode_action.setVisible(not watched)
        if watched:
            self.steps_action.setVisible(False)
            self.seconds_action.setVisible(False)
            return
        self.steps.show_number(run.get("steps"))
        self.seconds.show_number(seconds or 10.0)
        with QtCore.QSignalBlocker(self.mode):
            self.mode.setCurrentText("seconds" if seconds else "steps")
        self.steps_action.setVisible(not seconds)
        self.seconds_action.setVisible(bool(seconds))

    def show_state(self, running: bool, problem: Optional[str]) -> None:
        """Run is off while running or while the pipeline has a problem, which is shown."""
        if problem is None and self._watched_script():
            problem = WATCHED_SCRIPT
        self.run_action.setEnabled(not running and problem is None)
        self.stop_action.setEnabled(running)
        self.blocked_reason.setText(f"Cannot run: {problem}" if problem else "")
        self.run_action.setToolTip(f"Cannot run: {problem}" if problem else "Run the pipeline (F5)")
