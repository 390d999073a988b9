"""Export → As script…, Copy as code, and for a watched job, its tuned values as a patch of its script.

The script is the pipeline shown (`core.outputs.codegen`); the patch is the last run's, when that run
watched a script and changes were made while it trained. The methods that write take their paths and
show no dialog, so tests call them directly.
"""
from __future__ import annotations

from pathlib import Path
from PyQt5 import QtCore, QtWidgets

from core.outputs.codegen.patch import patch_of_watched_run
from core.outputs.codegen.script import generate_script
from core.spec.params import SpecError
from gui.export_actions import CONFIRMATION_MS
from gui.menus import add_action


class CodeActions(QtCore.QObject):
    def __init__(self, window, last_folder):
        super().__init__(window)
        self.window = window
        self.last_folder = last_folder

    def fill_menu(self, menu: QtWidgets.QMenu) -> None:
        menu.addSeparator()
        add_action(menu, "As &script…", self._ask_script, "Ctrl+Shift+P",
                   tip="The pipeline as a standalone tf.data training script (needs only TensorFlow)")
        add_action(menu, "&Copy as code", self.copy_as_code, "Ctrl+Shift+C",
                   tip="The pipeline's training script, to the clipboard")
        add_action(menu, "Tuned values as a &patch of the watched script…", self._ask_patch,
                   tip="For a watched script: a diff that puts the values changed while it trained at its lines")

    # ------------------------------------------------------------ writing

    def script_text(self) -> str:
        """The pipeline shown, as a script; SpecError where it has a problem or is a watched script's."""
        problem = self.window.document.first_problem()
        if problem:
            raise SpecError(f"the pipeline has a problem to fix first: {problem}")
        return generate_script(self.window.document.spec())

    def save_script(self, path) -> list[Path]:
        return save_text(path, generate_script(self.window.document.spec(), Path(path).name))

    def copy_as_code(self) -> None:
        if self.window.report(lambda: QtWidgets.QApplication.clipboard().setText(self.script_text())):
            self.window.statusBar().showMessage("The pipeline's training script is on the clipboard.", CONFIRMATION_MS)

    def patch_text(self) -> tuple[str, list[str]]:
        """(the watched run's diff, what it could not place); SpecError when there is none to make."""
        patch = patch_of_watched_run(self._watched_folder())
        if not patch.placed and not patch.unplaced:
            raise SpecError("No change was made while the script trained: nothing to hand back.")
        if not patch.diff:
            raise SpecError("None of the changes could be placed in the script: " + "; ".join(patch.unplaced))
        return patch.diff, patch.unplaced

    def _watched_folder(self) -> Path:
        shown = self.window.controller.history.current
        if shown is None or shown.run.extra.get("source") != "watch" or not shown.folder:
            raise SpecError("The run shown did not watch a script: File → Watch script… first.")
        return Path(shown.folder)

    # ------------------------------------------------------------ asking

    def _ask_script(self) -> None:
        if not self.window.report(self.script_text):
            return
        default = self.last_folder.path_for(f"{self.window.document.title}.py")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Export as a script", default, "Python (*.py)")
        if path:
            self.last_folder.remember(path)
            self.window.export_actions.write(lambda: self.save_script(path))

    def _ask_patch(self) -> None:
        made: list = []
        if not self.window.report(lambda: made.extend(self.patch_text())):
            return
        diff, unplaced = made
        default = self.last_folder.path_for("tuned.diff")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save the patch", default, "Diff (*.diff)")
        if path:
            self.last_folder.remember(path)
            if self.window.export_actions.write(lambda: save_text(path, diff)) and unplaced:
                QtWidgets.QMessageBox.information(self.window, "Pipescope", "Not placed:\n" + "\n".join(unplaced))


def save_text(path, text: str) -> list[Path]:
    Path(path).write_text(text, encoding="utf-8")
    return [Path(path)]
