"""File → Watch script…: the user's own training script, run unchanged and shown live as a run (issue 16).

`watch_script(script, args, cwd)` shows no dialog (tests and the scripted mode call it); the menu
action asks for the script, its arguments and its working directory, then calls it, and reports bad
input in a message. The job is a `core.experiments.watched_run.WatchedRun` on the app's worker, so
the plots, docks and status line read it as any run; its folder is one of the app's runs (File →
Open run… lists it), written by the script's own process. The canvas shows the script's pipeline
once its first request has imported it.

What-if edits reach the script as they reach a built-in run (the controller sends them), but only
a stage's parallelism and buffers can change while it trains: the what-if panel holds its other
knobs, and any other edit is refused in a message, the canvas going back to the job's pipeline. A
pipeline that would start its data again is asked about first. The canvas follows the job: shown
again when a change has been made or refused, once no change sent waits.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from core.experiments.history import RunEntry
from core.experiments.watched_run import WatchedRun, check_watch, placeholder_spec, split_arguments

HELD_INTRO = ("While the script trains, a stage's parallelism and buffer sizes change at its next step; the "
              "rest stays as the script made it.")
HELD_WHY = "Fixed while the script trains: only a stage's parallelism and buffers can change."


class WatchActions(QtCore.QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.asked = ("", "", "")  # the dialog's last script, arguments and working directory
        self.watching: Optional[WatchedRun] = None
        self._shown_spec = None
        self._refusals_shown = 0
        window.live_view.figures_updated.connect(lambda _summary: self._show_imported_pipeline())
        window.controller.run_finished.connect(self._finished)
        # Queued: the edit that caused them is on the undo stack by then, so the canvas can go back.
        window.controller.change_refused.connect(self._refused, QtCore.Qt.QueuedConnection)
        window.controller.restart_asked.connect(self._ask_restart, QtCore.Qt.QueuedConnection)

    def watch_script(self, script: str, args: str = "", cwd: Optional[str] = None, record_to=None) -> RunEntry:
        """Run `script` with `args` (one line, split as a shell splits it) in `cwd` (default: the script's
        folder), recorded into `record_to` (default: a new folder of the app's runs). A run going is stopped
        first, as opening a pipeline stops it. SpecError or OSError, in words, for what cannot start."""
        script = str(Path(script).expanduser().absolute())
        cwd = cwd or str(Path(script).parent)
        check_watch(script, cwd)
        argv = split_arguments(args)
        controller = self.window.controller
        folder = Path(record_to) if record_to else controller.run_folders.new_folder(f"watch-{Path(script).stem}")
        folder.mkdir(parents=True, exist_ok=True)
        spec = self._shown_spec = placeholder_spec(script)
        self.window.load_spec(spec)
        controller.start(spec, folder, recorded_by_run=True,
                         run_factory=lambda spec: WatchedRun(spec, script, argv, folder, cwd))
        self.watching = controller.worker.run_obj
        self._refusals_shown = 0
        self.window.whatif.hold_fixed(WatchedRun.changeable, HELD_INTRO, HELD_WHY)
        self.window.whatif_dock.raise_()
        self.window.summary_dock.raise_()
        return controller.history.current

    def ask_watch_script(self) -> None:
        dialog = WatchDialog(self.window, *self.asked)
        if dialog.exec_() != QtWidgets.QDialog.Accepted or not self.window.may_replace_pipeline():
            return
        self.asked = dialog.values()
        script, args, cwd = self.asked
        self.window.report(lambda: self.watch_script(script, args, cwd or None))

    def _show_imported_pipeline(self) -> None:
        """The canvas follows the watched script's pipeline once no change sent waits: shown again when the
        job has changed it or refused a change (a user's edits are not undone at each look)."""
        run = self.watching
        if run is None or run.change_pending:
            return
        refusals = run.changes_refused()
        if run.spec != self._shown_spec or refusals != self._refusals_shown:
            self._shown_spec, self._refusals_shown = run.spec, refusals
            self.window.document.load(run.spec)

    def _show_pipeline_asked(self) -> None:
        """The canvas as the job will run it: an edit that was not sent is taken back."""
        if self.watching is not None and self.window.document.spec() != self.watching.spec_after_pending():
            self.window.document.load(self.watching.spec_after_pending())

    def _refused(self, reason: str) -> None:
        QtWidgets.QMessageBox.warning(self.window, "Pipescope", f"This change cannot reach the script: {reason}.")
        self._show_pipeline_asked()

    def _ask_restart(self, question: str, spec) -> None:
        answer = QtWidgets.QMessageBox.question(self.window, "Start the data again?", question,
                                                QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No,
                                                QtWidgets.QMessageBox.No)
        if answer == QtWidgets.QMessageBox.Yes:
            self.window.controller.send_change(spec, allow_data_restart=True)
        else:
            self._show_pipeline_asked()

    def _finished(self, run) -> None:
        if run is self.watching:
            self._show_imported_pipeline()  # as the job's files have it at its end
            self.watching = None
            self.window.whatif.hold_fixed(None)


class WatchDialog(QtWidgets.QDialog):
    """The script, its arguments (one line) and its working directory (empty: the script's folder)."""

    def __init__(self, parent, script: str = "", args: str = "", cwd: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Watch a training script")
        self.script = self._line(script, "your training script (.py)")
        self.args = self._line(args, "its arguments, as on a command line: --epochs 3")
        self.cwd = self._line(cwd, "the script's folder")
        form = QtWidgets.QFormLayout()
        form.addRow("Script", self._with_browse(self.script, self._browse_script))
        form.addRow("Arguments", self.args)
        form.addRow("Working directory", self._with_browse(self.cwd, self._browse_cwd))
        note = QtWidgets.QLabel("The script runs unchanged in a process of its own; Stop is Ctrl-C for it.")
        note.setStyleSheet("color: #555;")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.button(QtWidgets.QDialogButtonBox.Ok).setText("Watch")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QtWidgets.QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(note)
        column.addWidget(buttons)
        self.setMinimumWidth(560)

    def values(self) -> tuple[str, str, str]:
        return self.script.text().strip(), self.args.text(), self.cwd.text().strip()

    def _line(self, text: str, hint: str) -> QtWidgets.QLineEdit:
        line = QtWidgets.QLineEdit(text)
        line.setPlaceholderText(hint)
        return line

    def _with_browse(self, line: QtWidgets.QLineEdit, browse) -> QtWidgets.QWidget:
        row = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(line, 1)
        button = QtWidgets.QPushButton("Browse…")
        button.clicked.connect(browse)
        layout.addWidget(button)
        return row

    def _browse_script(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Training script", self.script.text(),
                                                        "Python scripts (*.py);;All files (*)")
        if path:
            self.script.setText(path)

    def _browse_cwd(self) -> None:
        start = self.cwd.text() or str(Path(self.script.text()).parent)
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Working directory", start)
        if folder:
            self.cwd.setText(folder)
