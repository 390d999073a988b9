"""The canvas: the pipeline as a chain of blocks, source → stages → feeder → model.

The scene is rebuilt from the document on every change (a pipeline has a
handful of blocks); items carry only their block key. Dragging a stage
reorders it, dropping a palette kind inserts a stage where it lands, Delete
removes the selected stage. All of it goes through the document's undo stack.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from gui.document import FEEDER, MODEL, PIPELINE, SOURCE, PipelineDocument, stage_id_of, stage_key

STAGE_MIME = "application/x-pipescope-stage-kind"
BLOCK_W, BLOCK_H, GAP = 136.0, 80.0, 28.0
_FILL = {SOURCE: "#e8f1e4", FEEDER: "#f6ecd9", MODEL: "#e3e9f6", "stage": "#ffffff"}


class BlockItem(QtWidgets.QGraphicsObject):
    """A block; what it draws comes from the editor (document, problems, live figures)."""

    def __init__(self, editor: "PipelineEditor", key: str):
        super().__init__()
        self.editor = editor
        self.key = key
        movable = stage_id_of(key) is not None
        self.setFlag(QtWidgets.QGraphicsItem.ItemIsSelectable, True)
        self.setFlag(QtWidgets.QGraphicsItem.ItemIsMovable, movable)
        self.setCursor(QtCore.Qt.OpenHandCursor if movable else QtCore.Qt.PointingHandCursor)
        self.setToolTip(editor.tooltip_for(key))

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(-2, -2, BLOCK_W + 4, BLOCK_H + 4)

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        heading, label, live = self.editor.texts_for(self.key)
        problem = self.key in self.editor.document.problems()
        failed = self.key == self.editor.failed_key
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        border = QtGui.QColor("#d03030") if problem or failed else QtGui.QColor("#707070")
        pen = QtGui.QPen(QtGui.QColor("#2a6fdb") if self.isSelected() else border, 3 if self.isSelected() else 1.5)
        if problem or failed:
            pen.setWidthF(3)
            pen.setColor(border)
        painter.setPen(pen)
        painter.setBrush(QtGui.QColor(_FILL["stage" if stage_id_of(self.key) else self.key]))
        painter.drawRoundedRect(QtCore.QRectF(0, 0, BLOCK_W, BLOCK_H), 8, 8)
        painter.setPen(QtGui.QColor("#666"))
        painter.setFont(QtGui.QFont(painter.font().family(), 8))
        painter.drawText(QtCore.QRectF(8, 4, BLOCK_W - 16, 16), QtCore.Qt.AlignLeft, heading)
        painter.setPen(QtGui.QColor("#111"))
        font = QtGui.QFont(painter.font().family(), 9)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QtCore.QRectF(8, 20, BLOCK_W - 16, 34), QtCore.Qt.AlignLeft | QtCore.Qt.TextWordWrap, label)
        painter.setFont(QtGui.QFont(painter.font().family(), 8))
        painter.setPen(QtGui.QColor("#c02020") if problem or failed else QtGui.QColor("#1b7a3a"))
        painter.drawText(QtCore.QRectF(8, BLOCK_H - 22, BLOCK_W - 16, 18), QtCore.Qt.AlignLeft, live)

    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)
        self.editor.select(self.key)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        self.setY(0)  # stages move along the chain only

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self.flags() & QtWidgets.QGraphicsItem.ItemIsMovable:
            # Later: the drop rebuilds the scene, which deletes this item mid-event.
            key, centre = self.key, self.x() + BLOCK_W / 2
            QtCore.QTimer.singleShot(0, lambda: self.editor.stage_dropped(key, centre))


class PipelineView(QtWidgets.QGraphicsView):
    """Accepts stage kinds dragged from the palette."""

    def __init__(self, editor: "PipelineEditor"):
        super().__init__(editor.scene)
        self.editor = editor
        self.setAcceptDrops(True)
        self.setRenderHint(QtGui.QPainter.Antialiasing)
        self.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter)
        self.setMinimumHeight(int(BLOCK_H) + 40)

    def dragEnterEvent(self, event) -> None:
        event.setAccepted(event.mimeData().hasFormat(STAGE_MIME))

    def dragMoveEvent(self, event) -> None:
        event.setAccepted(event.mimeData().hasFormat(STAGE_MIME))

    def dropEvent(self, event) -> None:
        kind = bytes(event.mimeData().data(STAGE_MIME)).decode()
        x = self.mapToScene(event.pos()).x()
        self.editor.add_stage(kind, self.editor.index_at(x))
        event.acceptProposedAction()

    def keyPressEvent(self, event) -> None:
        if event.key() in (QtCore.Qt.Key_Delete, QtCore.Qt.Key_Backspace):
            self.editor.delete_selected()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)
        if self.itemAt(event.pos()) is None:
            self.editor.select(PIPELINE)


class PipelineEditor(QtWidgets.QWidget):
    block_selected = QtCore.pyqtSignal(str)

    def __init__(self, document: PipelineDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.selected = PIPELINE
        self.live: dict = {}
        self.failed_key: Optional[str] = None
        self.scene = QtWidgets.QGraphicsScene(self)
        self.view = PipelineView(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.items: dict[str, BlockItem] = {}
        document.changed.connect(self.rebuild)

    # ------------------------------------------------------------ what blocks show

    def block_keys(self) -> list[str]:
        return [SOURCE, *(stage_key(i) for i in self.document.stage_ids()), FEEDER, MODEL]

    def texts_for(self, key: str) -> tuple[str, str, str]:
        """(heading, label, live line) of a block."""
        kind = self.document.kind_of(key)
        block = self.document.block(key)
        try:
            label = kind.hooks["label"]({**kind.defaults(), **block})
        except Exception:  # an invalid value cannot be labelled; the block is marked instead
            label = kind.name
        stage_id = stage_id_of(key)
        heading = stage_id if stage_id is not None else key
        if key in self.document.problems():
            return heading, label, "⚠ invalid — see inspector"
        if key == self.failed_key:
            return heading, label, "✖ failed"
        return heading, label, _live_line(self.live.get(stage_id or key))

    def tooltip_for(self, key: str) -> str:
        problem = self.document.problems().get(key)
        return problem or self.document.kind_of(key).help

    # ------------------------------------------------------------ layout

    def rebuild(self) -> None:
        self.scene.clear()
        self.items = {}
        for index, key in enumerate(self.block_keys()):
            item = BlockItem(self, key)
            item.setPos(index * (BLOCK_W + GAP), 0)
            self.scene.addItem(item)
            self.items[key] = item
            if index:
                self._add_arrow(index)
        if self.selected not in self.items:
            self.selected = PIPELINE
        if self.selected in self.items:
            self.items[self.selected].setSelected(True)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-20, -20, 20, 20))

    def _add_arrow(self, index: int) -> None:
        x_end = index * (BLOCK_W + GAP)
        y = BLOCK_H / 2
        pen = QtGui.QPen(QtGui.QColor("#888"), 2)
        self.scene.addLine(x_end - GAP + 4, y, x_end - 4, y, pen)
        head = QtGui.QPolygonF([QtCore.QPointF(x_end - 4, y), QtCore.QPointF(x_end - 12, y - 5),
                                QtCore.QPointF(x_end - 12, y + 5)])
        self.scene.addPolygon(head, pen, QtGui.QBrush(QtGui.QColor("#888")))

    def index_at(self, x: float) -> int:
        """The stage index a drop at scene x means: before the first stage whose centre is right of x."""
        ids = self.document.stage_ids()
        for index in range(len(ids)):
            centre = (index + 1) * (BLOCK_W + GAP) + BLOCK_W / 2
            if x < centre:
                return index
        return len(ids)

    # ------------------------------------------------------------ actions

    def select(self, key: str) -> None:
        self.selected = key
        for item_key, item in self.items.items():
            item.setSelected(item_key == key)
        self.block_selected.emit(key)

    def add_stage(self, kind: str, index: Optional[int] = None) -> str:
        """Insert a stage (by default after the selected stage, else at the end) and select it."""
        if index is None:
            ids = self.document.stage_ids()
            selected = stage_id_of(self.selected)
            index = ids.index(selected) + 1 if selected in ids else len(ids)
        stage_id = self.document.insert_stage(index, kind)
        self.select(stage_key(stage_id))
        return stage_id

    def delete_selected(self) -> None:
        stage_id = stage_id_of(self.selected)
        if stage_id is not None:
            self.document.remove_stage(stage_id)
            self.select(PIPELINE)

    def move_selected(self, offset: int) -> None:
        stage_id = stage_id_of(self.selected)
        if stage_id is not None:
            self.document.move_stage(stage_id, self.document.stage_ids().index(stage_id) + offset)

    def stage_dropped(self, key: str, centre_x: float) -> None:
        stage_id = stage_id_of(key)
        ids = self.document.stage_ids()
        target = self.index_at(centre_x)
        old = ids.index(stage_id)
        new = target - 1 if target > old else target
        if new != old:
            self.document.move_stage(stage_id, new)
        else:
            self.rebuild()  # snap back into the chain

    # ------------------------------------------------------------ run state shown on blocks

    def show_live(self, figures: dict) -> None:
        self.live = figures
        self.scene.update()

    def show_failure(self, stage_id: Optional[str], key: Optional[str] = None) -> None:
        """Mark the block a failure names (a stage id, or a block key); None clears the mark."""
        self.failed_key = stage_key(stage_id) if stage_id else key
        self.scene.update()


def _live_line(figures: Optional[dict]) -> str:
    if not figures:
        return ""
    parts = [f"buf {figures['buffered']}"]
    rate = figures.get("elements_per_s")
    if rate is not None:
        parts.append(f"{rate:,.0f}/s")
    parallelism = figures.get("parameters", {}).get("parallelism")
    if parallelism:
        parts.append(f"×{parallelism:g}")
    if figures.get("fused_with"):
        parts.append(f"(fused: {figures['fused_with']})")
    return " · ".join(parts)


class Palette(QtWidgets.QListWidget):
    """Stage kinds to drag onto the canvas (or double-click to add after the selection)."""

    def __init__(self, editor: PipelineEditor, parent=None):
        super().__init__(parent)
        from core.stages import STAGES

        self.editor = editor
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        for kind in STAGES.kinds():
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

