"""One editor widget per parameter type, generated from a core.spec.params.Param.

Each editor emits `edited(value)` when the user commits a value and shows a
value with `show_value()` without emitting (signals blocked), so refreshing
from the document never loops back into it. AUTOTUNE and "none" are toggles
beside the number; the help text is every editor's tooltip.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from PyQt5 import QtCore, QtWidgets

from core.spec.params import AUTOTUNE, Param
from core.spec.pipeline import parse_value
from gui.number_field import NumberField

_INVALID_STYLE = "QLineEdit, QComboBox, QCheckBox { border: 2px solid #d03030; border-radius: 3px; }"


class ParamEditor(QtWidgets.QWidget):
    edited = QtCore.pyqtSignal(object)

    def __init__(self, param: Param, parent=None):
        super().__init__(parent)
        self.param = param
        self.setToolTip(f"{param.help}\n{param.describe_range()}".strip())
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        self._layout = QtWidgets.QHBoxLayout()
        column.addLayout(self._layout)
        self.problem_label = QtWidgets.QLabel()  # the reason, at the field it is about
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #c02020;")
        self.problem_label.hide()
        column.addWidget(self.problem_label)

    def show_value(self, value: Any) -> None:
        blockers = [QtCore.QSignalBlocker(child) for child in self.findChildren(QtWidgets.QWidget)]
        try:
            self._show(value)
        finally:
            del blockers

    def set_problem(self, message: Optional[str]) -> None:
        self.setStyleSheet(_INVALID_STYLE if message else "")
        self.setToolTip(message or f"{self.param.help}\n{self.param.describe_range()}".strip())
        self.problem_label.setText(message or "")
        self.problem_label.setVisible(bool(message))

    def _show(self, value: Any) -> None:
        raise NotImplementedError


class NumberEditor(ParamEditor):
    """int and float typed as text, with the AUTOTUNE and "none" toggles the parameter allows."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.field = NumberField(integer=param.type == "int")
        self.field.setPlaceholderText(param.describe_range())
        self.field.committed.connect(lambda _value: self._commit())
        self._layout.addWidget(self.field, 1)
        self.special = None
        if param.autotune or param.optional:
            self.special = QtWidgets.QCheckBox("AUTOTUNE" if param.autotune else "none")
            self.special.toggled.connect(lambda _on: self._commit())
            self._layout.addWidget(self.special)

    def _commit(self) -> None:
        special = self.special is not None and self.special.isChecked()
        self.field.setEnabled(not special)
        if special:
            self.edited.emit(AUTOTUNE if self.param.autotune else None)
        else:
            self.edited.emit(self.field.typed_value())

    def _show(self, value: Any) -> None:
        special = value == AUTOTUNE if self.param.autotune else value is None
        if self.special is not None:
            self.special.setChecked(special)
        self.field.setEnabled(not special)
        if not special:
            self.field.show_number(value)


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.check = QtWidgets.QCheckBox()
        self.check.toggled.connect(self.edited.emit)
        self._layout.addWidget(self.check)

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(list(param.choices))
        self.combo.activated[str].connect(self.edited.emit)
        self._layout.addWidget(self.combo)

    def _show(self, value: Any) -> None:
        if self.combo.findText(str(value)) < 0:  # a watched script's own function, which no choice lists
            self.combo.addItem(str(value))
        self.combo.setCurrentText(str(value))


class TextEditor(ParamEditor):
    """str, int_list ("1024, 1024") and branch (JSON) values typed as text."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.line = QtWidgets.QLineEdit()
        self.line.editingFinished.connect(self._commit)
        self._layout.addWidget(self.line)

    def _commit(self) -> None:
        text = self.line.text()
        if self.param.type == "int_list":
            value = parse_value(f"[{text}]") if text.strip() else []
            self.edited.emit(value if isinstance(value, list) else text)
        elif self.param.type == "branch":
            self.edited.emit(parse_value(text))
        else:
            self.edited.emit(text)

    def _show(self, value: Any) -> None:
        if self.param.type == "int_list" and isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        elif self.param.type == "branch" and not isinstance(value, str):
            text = json.dumps(value, sort_keys=True)
        else:
            text = "" if value is None else str(value)
        if text != self.line.text():
            self.line.setText(text)
            self.line.setCursorPosition(0)


def make_editor(param: Param, parent=None) -> ParamEditor:
    if param.type in ("int", "float"):
        return NumberEditor(param, parent)
    if param.type == "bool":
        return BoolEditor(param, parent)
    if param.type == "choice":
        return ChoiceEditor(param, parent)
    return TextEditor(param, parent)
