"""File → Watch script…: the user's own training script, run unchanged and shown live as a run (issue 16).

`watch_script(script, args, cwd)` shows no dialog (tests and the scripted mode call it); the menu
action asks for the script, its arguments and its working directory, then calls it, and reports bad
input in a message. The job is a `core.experiments.watched_run.WatchedRun` on the app's worker, so
the plots, docks and status line read it as any run; its folder is one of the app's runs (File →
Open run… lists it), written by the script's own process. The canvas shows the script's pipeline
once its first request has imported it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from core.experiments.history import RunEntry
from core.experiments.watched_run import WatchedRun, check_watch, placeholder_spec, split_arguments


class WatchActions(QtCore.QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.asked = ("", "", "")  # the dialog's last script, arguments and working directory
        self.watching: Optional[WatchedRun] = None
        self._shown_spec = None
        window.live_view.figures_updated.connect(lambda _summary: self._show_imported_pipeline())
        window.controller.run_finished.connect(self._finished)

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
        self.window.summary_dock.raise_()  # what-if cannot reach the script: its figures, in front
        return controller.history.current

    def ask_watch_script(self) -> None:
        dialog = WatchDialog(self.window, *self.asked)
        if dialog.exec_() != QtWidgets.QDialog.Accepted or not self.window.may_replace_pipeline():
            return
        self.asked = dialog.values()
        script, args, cwd = self.asked
        self.window.report(lambda: self.watch_script(script, args, cwd or None))

    def _show_imported_pipeline(self) -> None:
        """The canvas follows the watched script's pipeline (a user's edits on it meanwhile are not undone
        at each look: only a pipeline the job has changed is shown again)."""
        if self.watching is not None and self.watching.spec != self._shown_spec:
            self._shown_spec = self.watching.spec
            self.window.document.load(self._shown_spec)

    def _finished(self, run) -> None:
        if run is self.watching:
            self._show_imported_pipeline()  # as the job's files have it at its end
            self.watching = None


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
