"""The canvas: the pipeline as a chain of blocks, source → stages → feeder → model.

The scene is rebuilt from the document on every change (a pipeline has a
handful of blocks); items carry only their block key. The chain wraps into
rows and is zoomed to fit the view (see canvas_layout). Dragging a stage
reorders it, dropping a palette kind inserts a stage where it lands, Delete
removes the selected stage. All of it goes through the document's undo stack.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from core.spec.kinds.stages import moved_stages
from core.spec.pipeline import where_made
from gui.canvas_layout import BLOCK_H, BLOCK_W, MARGIN, MIN_SCALE, ROW_GAP, ChainLayout, fitting_layout
from gui.document import FEEDER, MODEL, PIPELINE, SOURCE, PipelineDocument, stage_id_of, stage_key

STAGE_MIME = "application/x-pipescope-stage-kind"
ARROW_PEN = QtGui.QPen(QtGui.QColor("#888"), 2)
_FILL = {SOURCE: "#e8f1e4", FEEDER: "#f6ecd9", MODEL: "#e3e9f6", "stage": "#ffffff", "moved": "#efe6f7"}


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
        moved = self.editor.moved_to(self.key) is not None
        painter.setBrush(QtGui.QColor(_FILL["moved" if moved else "stage" if stage_id_of(self.key) else self.key]))
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

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self.flags() & QtWidgets.QGraphicsItem.ItemIsMovable:
            # Later: the drop rebuilds the scene, which deletes this item mid-event.
            key, centre = self.key, self.pos() + QtCore.QPointF(BLOCK_W / 2, BLOCK_H / 2)
            QtCore.QTimer.singleShot(0, lambda: self.editor.stage_dropped(key, centre))


class PipelineView(QtWidgets.QGraphicsView):
    """Accepts stage kinds dragged from the palette."""

    def __init__(self, editor: "PipelineEditor"):
        super().__init__(editor.scene)
        self.editor = editor
        self.setAcceptDrops(True)
        self.setRenderHint(QtGui.QPainter.Antialiasing)
        self.setAlignment(QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter)
        self.setMinimumHeight(int(MIN_SCALE * BLOCK_H + 2 * MARGIN) + 8)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.editor.fit_to_view()

    def fit(self, layout: ChainLayout) -> None:
        """Zoom so the whole chain shows; below MIN_SCALE, scroll to the selected block instead."""
        viewport = self.viewport().size()
        scale = max(MIN_SCALE, layout.scale_in(viewport.width() - 2, viewport.height() - 2))
        self.resetTransform()
        self.scale(scale, scale)
        selected = self.editor.items.get(self.editor.selected)
        if selected is not None:
            self.ensureVisible(selected)

    def dragEnterEvent(self, event) -> None:
        event.setAccepted(event.mimeData().hasFormat(STAGE_MIME))

    def dragMoveEvent(self, event) -> None:
        event.setAccepted(event.mimeData().hasFormat(STAGE_MIME))

    def dropEvent(self, event) -> None:
        kind = bytes(event.mimeData().data(STAGE_MIME)).decode()
        self.editor.add_stage(kind, self.editor.index_at(self.mapToScene(event.pos())))
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
        self.layout_in_view = ChainLayout(count=3, columns=3)
        document.changed.connect(self.rebuild)

    # ------------------------------------------------------------ what blocks show

    def block_keys(self) -> list[str]:
        return [SOURCE, *(stage_key(i) for i in self.document.stage_ids()), FEEDER, MODEL]

    def texts_for(self, key: str) -> tuple[str, str, str]:
        """(heading, label, live line) of a block."""
        kind = self.document.kind_of(key)
        block = self.document.block(key)
        try:
            label = kind.label_for({**kind.defaults(), **block})
        except Exception:  # an invalid value cannot be labelled; the block is marked instead
            label = kind.name
        stage_id = stage_id_of(key)
        heading = stage_id if stage_id is not None else key
        moved_to = self.moved_to(key)
        heading = f"{heading} · {moved_to}" if moved_to else heading
        if key in self.document.problems():
            return heading, label, "⚠ invalid — see inspector"
        if key == self.failed_key:
            return heading, label, "✖ failed"
        return heading, label, _live_line(self.live.get(stage_id or key))

    def moved_to(self, key: str) -> Optional[str]:
        """Where a later stage moves this block's work ("on tf.data service"); None: the training process.
        The source moves with the stages."""
        ids = self.document.stage_ids()
        moved = moved_stages([self.document.block(stage_key(i))["kind"] for i in ids])
        if key == SOURCE:
            return moved.get(-1)
        stage_id = stage_id_of(key)
        return moved.get(ids.index(stage_id)) if stage_id in ids else None

    def tooltip_for(self, key: str) -> str:
        problem = self.document.problems().get(key)
        if problem:
            return problem
        origin = self.document.block(key).get("origin")  # a stage of a watched script's pipeline
        help_text = self.document.kind_of(key).help
        return f"{help_text}\nMade at {where_made(origin)}" if origin else help_text

    # ------------------------------------------------------------ layout

    def rebuild(self) -> None:
        keys = self.block_keys()
        viewport = self.view.viewport().size()
        self.layout_in_view = fitting_layout(len(keys), viewport.width(), viewport.height())
        self.scene.clear()
        self.items = {}
        for index, key in enumerate(keys):
            item = BlockItem(self, key)
            item.setPos(*self.layout_in_view.position(index))
            self.scene.addItem(item)
            self.items[key] = item
            if index:
                self._add_arrow(index)
        if self.selected not in self.items:
            self.selected = PIPELINE
        if self.selected in self.items:
            self.items[self.selected].setSelected(True)
        width, height = self.layout_in_view.size()
        self.scene.setSceneRect(-MARGIN, -MARGIN, width, height)
        self.view.fit(self.layout_in_view)

    def fit_to_view(self) -> None:
        """The view was resized: re-wrap the chain if another number of columns fits better."""
        if not self.items:
            return  # nothing loaded yet
        viewport = self.view.viewport().size()
        best = fitting_layout(len(self.items), viewport.width(), viewport.height())
        if best.columns != self.layout_in_view.columns:
            self.rebuild()
        else:
            self.view.fit(self.layout_in_view)

    def _add_arrow(self, index: int) -> None:
        """From the block before to this one: along the row, or down and back to the next row's start."""
        x0, y0 = self.layout_in_view.position(index - 1)
        x1, y1 = self.layout_in_view.position(index)
        if y0 == y1:
            points = [(x0 + BLOCK_W + 4, y0 + BLOCK_H / 2), (x1 - 4, y1 + BLOCK_H / 2)]
        else:
            turn_y = y0 + BLOCK_H + ROW_GAP / 2
            points = [(x0 + BLOCK_W / 2, y0 + BLOCK_H + 4), (x0 + BLOCK_W / 2, turn_y),
                      (x1 + BLOCK_W / 2, turn_y), (x1 + BLOCK_W / 2, y1 - 4)]
        path = QtGui.QPainterPath(QtCore.QPointF(*points[0]))
        for point in points[1:]:
            path.lineTo(*point)
        self.scene.addPath(path, ARROW_PEN)
        self._add_arrow_head(points[-2], points[-1])

    def _add_arrow_head(self, start: tuple, tip: tuple) -> None:
        line = QtCore.QLineF(QtCore.QPointF(*tip), QtCore.QPointF(*start))
        head = QtGui.QPolygonF([QtCore.QPointF(*tip)])
        for turn in (-25, 25):
            side = QtCore.QLineF(line)
            side.setLength(9)
            side.setAngle(line.angle() + turn)
            head.append(side.p2())
        self.scene.addPolygon(head, ARROW_PEN, QtGui.QBrush(QtGui.QColor("#888")))

    def index_at(self, point: QtCore.QPointF) -> int:
        """The stage index a drop at a scene point means: after the stages before it in reading order."""
        before = self.layout_in_view.blocks_before(point.x(), point.y())
        return max(0, min(before - 1, len(self.document.stage_ids())))  # the source comes first

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

    def stage_dropped(self, key: str, centre: QtCore.QPointF) -> None:
        stage_id = stage_id_of(key)
        ids = self.document.stage_ids()
        target = self.index_at(centre)
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
