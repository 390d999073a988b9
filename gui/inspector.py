"""The parameter form of the selected block, generated from its kind's Params.

Source, feeder and model get a kind chooser (a new kind starts from its
defaults); a stage gets its id; the pipeline (nothing selected) gets its name
and run settings. Edits go to the document; the form is rebuilt only when the
block or its kind changes, so typing never loses focus.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore, QtWidgets

from gui.document import COMPONENT_REGISTRIES, PIPELINE, PipelineDocument, stage_id_of, stage_key
from core.spec.pipeline import is_stage_id, where_made
from gui.param_widgets import make_editor


class Inspector(QtWidgets.QWidget):
    def __init__(self, document: PipelineDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.key = PIPELINE
        self._shown_kind: Optional[tuple] = None
        self.editors: dict = {}
        outer = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 13px;")
        self.help = QtWidgets.QLabel()
        self.help.setWordWrap(True)
        self.help.setStyleSheet("color: #555;")
        self.origin = QtWidgets.QLabel()  # where a watched script made the stage
        self.origin.setWordWrap(True)
        self.origin.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)  # a line to copy into an editor
        self.form_host = QtWidgets.QWidget()
        self.form = QtWidgets.QFormLayout(self.form_host)
        self.problem = QtWidgets.QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c02020;")
        for widget in (self.title, self.help, self.origin, self.form_host, self.problem):
            outer.addWidget(widget)
        outer.addStretch(1)
        document.changed.connect(self.refresh)

    def show_block(self, key: str) -> None:
        self.key = key
        self.refresh()

    def refresh(self) -> None:
        if stage_id_of(self.key) is not None and stage_id_of(self.key) not in self.document.stage_ids():
            self.key = PIPELINE  # the stage was deleted or renamed away
        kind = self.document.kind_of(self.key)
        if self._shown_kind != (self.key, kind.name):
            self._build(kind)
        self._show_values()

    # ------------------------------------------------------------ building the form

    def _build(self, kind) -> None:
        self._shown_kind = (self.key, kind.name)
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        stage_id = stage_id_of(self.key)
        if self.key == PIPELINE:
            self.title.setText("Pipeline")
            self.help.setText("Name and run settings. Select a block on the canvas to edit it.")
            self.name_edit = self._line_edit(self.document.set_name)
            self.form.addRow("name", self.name_edit)
        elif stage_id is not None:
            self.title.setText(f"Stage · {kind.name}")
            self.help.setText(kind.help)
            self.id_edit = self._line_edit(self._rename_stage)
            self.id_edit.setToolTip("The stage's id: names it in errors, --set paths and the results.")
            self.form.addRow("id", self.id_edit)
        else:
            self.title.setText(self.key.capitalize())
            self.help.setText(kind.help)
            self.kind_combo = QtWidgets.QComboBox()
            offered = [offered.name for offered in COMPONENT_REGISTRIES[self.key].offered()]
            self.kind_combo.addItems(offered + ([] if kind.name in offered else [kind.name]))
            self.kind_combo.setCurrentText(kind.name)
            self.kind_combo.activated[str].connect(lambda name, key=self.key: self.document.set_kind(key, name))
            self.form.addRow("kind", self.kind_combo)
        for param in kind.params:
            editor = make_editor(param)
            editor.edited.connect(lambda value, name=param.name, key=self.key:
                                  self.document.set_value(key, name, value))
            self.form.addRow(param.name, editor)
            self.editors[param.name] = editor

    def _line_edit(self, commit) -> QtWidgets.QLineEdit:
        line = QtWidgets.QLineEdit()
        line.editingFinished.connect(lambda: commit(line.text().strip()))
        return line

    def _rename_stage(self, new_id: str) -> None:
        old_id = stage_id_of(self.key)
        taken = set(self.document.stage_ids()) - {old_id}
        if not is_stage_id(new_id) or new_id in taken:
            self.id_edit.setStyleSheet("border: 2px solid #d03030;")
            self.id_edit.setToolTip(f"id: letters, digits, _ or -, unique (taken: {', '.join(sorted(taken))})")
            return
        self.id_edit.setStyleSheet("")
        self.key = stage_key(new_id)
        self._shown_kind = (self.key, self._shown_kind[1])
        self.document.rename_stage(old_id, new_id)

    # ------------------------------------------------------------ values and problems

    def _show_values(self) -> None:
        block = self.document.block(self.key)
        if self.key == PIPELINE:
            _set_text(self.name_edit, self.document.title)
        elif stage_id_of(self.key) is not None:
            _set_text(self.id_edit, block["id"])
        for name, editor in self.editors.items():
            editor.show_value(block.get(name, editor.param.default))
        origin = block.get("origin")
        self.origin.setText(f"Made at {where_made(origin)}" if origin else "")
        self.origin.setVisible(bool(origin))
        problem = self.document.problem_in(self.key)
        for name, editor in self.editors.items():
            editor.set_problem(problem.text if problem and name == problem.param else None)
        at_a_field = problem is not None and problem.param in self.editors
        self.problem.setText(problem.text if problem and not at_a_field else "")


def _set_text(line: QtWidgets.QLineEdit, text: str) -> None:
    if line.text() != text and not line.hasFocus():
        with QtCore.QSignalBlocker(line):
            line.setText(text)
