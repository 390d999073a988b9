"""A number typed as text, committed exactly as typed.

A QSpinBox clamps: typing -1 where the minimum is 1 committed 1, and text it
could not read vanished on leaving the field. This field commits what the user
typed — a number when it reads as one, else the text itself — and the
document's validation says at the field why it cannot run. Up and Down step
the value, as a spin box's arrows did.
"""
from __future__ import annotations

from typing import Any

from PyQt5 import QtCore, QtWidgets

from core.spec.pipeline import parse_value


class NumberField(QtWidgets.QLineEdit):
    committed = QtCore.pyqtSignal(object)  # the typed value: int, float, or the text when it is no number

    def __init__(self, integer: bool, parent=None):
        super().__init__(parent)
        self.integer = integer
        self._shown = ""
        self.setMinimumWidth(70)
        self.editingFinished.connect(self._commit_if_changed)

    def show_number(self, value: Any) -> None:
        """Show a value from the document (emits nothing)."""
        self._shown = _format(value)
        if self.text() != self._shown:
            self.setText(self._shown)
            self.setCursorPosition(0)

    def typed_value(self) -> Any:
        text = self.text().strip()
        for cast in ((int,) if self.integer else (int, float)):
            try:
                return cast(text)
            except ValueError:
                pass
        return parse_value(text)  # "AUTOTUNE", "2.5" for an int, "abc": validation says why

    def keyPressEvent(self, event) -> None:
        steps = {QtCore.Qt.Key_Up: 1, QtCore.Qt.Key_Down: -1}
        value = self.typed_value()
        if event.key() in steps and isinstance(value, (int, float)) and not isinstance(value, bool):
            self.setText(_format(value + steps[event.key()] * (1 if self.integer else 0.1)))
            self._commit_if_changed()
        else:
            super().keyPressEvent(event)

    def _commit_if_changed(self) -> None:
        if self.text() != self._shown:  # leaving the field unchanged is not an edit
            self._shown = self.text()
            self.committed.emit(self.typed_value())


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
