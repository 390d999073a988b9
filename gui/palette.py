"""The palette: stage kinds to drag onto the canvas (or double-click to add after the selection)."""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

from core.spec.kinds import STAGES
from gui.pipeline_editor import STAGE_MIME, PipelineEditor


class Palette(QtWidgets.QListWidget):
    """One item per stage kind of the registry, its description as the tooltip."""

    def __init__(self, editor: PipelineEditor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        for kind in STAGES.offered():
            item = QtWidgets.QListWidgetItem(kind.name)
            item.setToolTip(kind.help)
            item.setData(QtCore.Qt.UserRole, kind.name)
            self.addItem(item)
        self.itemDoubleClicked.connect(lambda item: editor.add_stage(item.data(QtCore.Qt.UserRole)))

    def mimeData(self, items) -> QtCore.QMimeData:
        mime = QtCore.QMimeData()
        mime.setData(STAGE_MIME, items[0].data(QtCore.Qt.UserRole).encode())
        return mime

    def mimeTypes(self) -> list[str]:
        return [STAGE_MIME]
