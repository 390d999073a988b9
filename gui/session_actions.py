"""File → Save session… and Open session…: the pipeline and the session's runs, in a file of their own.

`save_session(path)` and `open_session(path)` show no dialog (tests call them); the menu actions ask
for the path and report errors. The file's format and its checks are core.experiments.session's.
Opening a session is like opening a pipeline (a run going is stopped, unsaved changes asked about),
and its runs replace the Runs dock's; a run whose folder is gone is said in one line and skipped.
"""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from core.experiments.session import SESSION_SUFFIX, open_runs, pipeline_file_of, read_session, session_of, \
    write_session
from core.spec.params import SpecError

NOTICE_MS = 30_000
FILE_FILTER = f"Pipescope sessions (*{SESSION_SUFFIX})"


class SessionActions(QtCore.QObject):
    def __init__(self, window, last_folder):
        super().__init__(window)
        self.window = window
        self.last_folder = last_folder

    def save_session(self, path) -> list[str]:
        """Write the session to `path`; returns a line for each run left out (SpecError if it cannot be saved)."""
        document = self.window.document
        try:
            pipeline = document.spec()
        except SpecError as error:
            raise SpecError(f"{path}: cannot save the session: the pipeline is not valid ({error})") from None
        session, left_out = session_of(pipeline, document.path, self.window.controller.history)
        write_session(session, path)
        self._say(f"Saved the session to {path}: the pipeline and {_runs(len(session.runs))}.", left_out)
        return left_out

    def open_session(self, path) -> list[str]:
        """Show the session in `path`: its pipeline in the editor, its runs in the Runs dock (the one that was
        shown, in the plots). Returns a line for each run skipped; SpecError, naming the file and field,
        when the file is not a session."""
        session = read_session(path)
        opened, skipped = open_runs(session)
        self.window.load_spec(session.pipeline, pipeline_file_of(session))
        self.window.controller.replace_runs([(run, saved.folder, saved.id, saved.label) for saved, run in opened],
                                            session.current)
        shown = self.window.controller.history.current
        if shown is not None:
            self.window.show_failure(shown.outcome.error)
        self._say(f"Opened the session {path}: {_runs(len(opened))}.", skipped)
        return skipped

    def _say(self, text: str, lines: list[str]) -> None:
        self.window.statusBar().showMessage(" ".join([text, *lines]), NOTICE_MS)

    def ask_save_session(self) -> None:
        name = f"{self.window.document.title}{SESSION_SUFFIX}"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save session", self.last_folder.path_for(name),
                                                        FILE_FILTER)
        if not path:
            return
        if not path.endswith(SESSION_SUFFIX):  # the dialog adds no double suffix by itself
            path = path.removesuffix(".json") + SESSION_SUFFIX
        self.last_folder.remember(path)
        self.window.report(lambda: self._tell(self.save_session(path), "Some runs were left out of the session"))

    def ask_open_session(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open session", self.last_folder.path_for(),
                                                        f"{FILE_FILTER};;JSON files (*.json)")
        if not path or not self.window.may_replace_pipeline() or not self._may_replace_runs():
            return
        self.last_folder.remember(path)
        self.window.report(lambda: self._tell(self.open_session(path), "Some runs of the session were skipped"))

    def _may_replace_runs(self) -> bool:
        count = len(self.window.controller.history)
        if count == 0:
            return True
        answer = QtWidgets.QMessageBox.question(
            self.window, "Open session", f"The session's runs replace the {_runs(count)} in the Runs list (their "
            "folders stay on disk: File → Open run… shows them again).",
            QtWidgets.QMessageBox.Open | QtWidgets.QMessageBox.Cancel)
        return answer == QtWidgets.QMessageBox.Open

    def _tell(self, lines: list[str], title: str) -> None:
        if lines:
            QtWidgets.QMessageBox.information(self.window, title, "\n".join(lines))


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"
