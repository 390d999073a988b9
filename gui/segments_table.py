"""The run's figures per configuration, side by side: a column per description version.

Version 0 is the run as it started ("start"); each what-if change starts the next column, headed by
what it changed. One cumulative summary blurs exactly what the user changed; this table shows before
and after. The column with the most steps per second is highlighted. The figures are
core.analysis.segments' (the same as summary.json's `segments`), from the rows the live view pulled.
"""
from __future__ import annotations

from typing import Callable, Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from gui.change_labels import short_change

BEST_BACKGROUND = QtGui.QColor(220, 242, 220)
CELL_PADDING = 10  # pixels beside a figure's text in its cell
MIN_COLUMN_TEXT = "start 00.0"  # a column is never narrower than this text (its header stays readable)


def _ms(figures: Optional[dict]) -> str:
    return "–" if not figures or figures.get("p50") is None else f"{figures['p50']:.2f}"


def _number(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _percent(fraction) -> str:
    return "–" if fraction is None else f"{100 * fraction:.1f}"


# (row label, the text of a segment's figure); times are medians in ms, as the caption and tooltip say
ROWS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("steps", lambda segment: f"{segment['steps']:,}"),
    ("steps/s", lambda segment: _number(segment["steps_per_s"], "{:.1f}")),
    ("idle %", lambda segment: _percent(segment["idle_fraction"])),
    ("step p50", lambda segment: _ms(segment["step_ms"])),
    ("wait p50", lambda segment: _ms(segment["wait_ms"])),
    ("compute p50", lambda segment: _ms(segment["compute_ms"])),
    ("verdict", lambda segment: segment["verdict"] or "–"),
)


class SegmentsTable(QtWidgets.QTableWidget):
    configuration_added = QtCore.pyqtSignal()  # a what-if change started a column of its own

    def __init__(self, parent=None):
        super().__init__(len(ROWS), 0, parent)
        self.setVerticalHeaderLabels([label for label, _ in ROWS])
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.NoSelection)
        self.setFocusPolicy(QtCore.Qt.NoFocus)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)  # two configurations side by side fit a dock's width
        self.setFont(font)
        self.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        # Columns as wide as their figures: a change's header may be longer, so it is cut (whole in its
        # tooltip), and the newest configuration has room beside the one before it.
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.Fixed)
        self.horizontalHeader().setTextElideMode(QtCore.Qt.ElideRight)
        self.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollPerItem)  # whole columns, not half of one
        # As wide as the dock it is in: more columns scroll sideways instead of widening the dock.
        self.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Fixed)
        self.setMinimumWidth(0)
        self.setToolTip("Figures per configuration: the run as it started, then after each what-if change "
                        "(warm-up steps left out); step, wait and compute are medians in ms. Highlighted: the "
                        "most steps per second.")
        self.segments: list[dict] = []
        self.best: Optional[int] = None  # the highlighted column
        self._following_newest = True  # until the user scrolls the table
        self.horizontalScrollBar().actionTriggered.connect(self._scrolled_by_user)
        self._fit_height()

    def clear_segments(self) -> None:
        self.show_segments([])

    def show_segments(self, segments: list[dict]) -> None:
        """One column per segment (core.analysis.segments.segments' dicts, in version order)."""
        added = len(segments) > max(1, len(self.segments))
        self.segments = segments
        self.setColumnCount(len(segments))
        self.best = _best(segments)
        for column, segment in enumerate(segments):
            self.setHorizontalHeaderItem(column, _header(segment, highlighted=column == self.best))
            for row, (_label, text_of) in enumerate(ROWS):
                self.setItem(row, column, self._cell(text_of(segment), column == self.best))
            self.setColumnWidth(column, self._figures_width(column))
        self._fit_height()  # the headers' heights follow their texts
        if added:
            self._following_newest = True
        if self._following_newest:
            self._show_newest()
        if added:
            self.configuration_added.emit()

    def column_texts(self, column: int) -> dict[str, str]:
        """Row label → the text shown (for tests and exports)."""
        return {label: self.item(row, column).text() for row, (label, _) in enumerate(ROWS)}

    def _cell(self, text: str, highlighted: bool) -> QtWidgets.QTableWidgetItem:
        item = QtWidgets.QTableWidgetItem(text)
        item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        if highlighted:  # its header is bold; bold figures would widen the column
            item.setBackground(BEST_BACKGROUND)
        return item

    def _figures_width(self, column: int) -> int:
        texts = [self.item(row, column).text() for row in range(len(ROWS))] + [MIN_COLUMN_TEXT]
        return max(self.fontMetrics().horizontalAdvance(text) for text in texts) + CELL_PADDING

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._following_newest:  # in a tab behind another, the table learns its width only when shown
            self._show_newest()

    def _scrolled_by_user(self, _action) -> None:
        self._following_newest = False

    def _show_newest(self) -> None:
        """Scroll (by whole columns) to the newest configuration and as many before it as fit."""
        if not self.columnCount():
            return
        first, room = self.columnCount() - 1, self.viewport().width() - self.columnWidth(self.columnCount() - 1)
        while first > 0 and self.columnWidth(first - 1) <= room:
            first -= 1
            room -= self.columnWidth(first)
        self.horizontalScrollBar().setValue(first)

    def _fit_height(self) -> None:
        """Every row shows; room is kept for the sideways scroll bar, so it never hides the last row."""
        rows = self.verticalHeader().length()
        header = self.horizontalHeader().sizeHint().height()
        scroll_bar = self.style().pixelMetric(QtWidgets.QStyle.PM_ScrollBarExtent)
        self.setFixedHeight(rows + header + scroll_bar + 2 * self.frameWidth() + 2)


def _best(segments: list[dict]) -> Optional[int]:
    """The column with the most steps per second, once there are two to choose from."""
    rated = [(segment["steps_per_s"], column) for column, segment in enumerate(segments)
             if segment["steps_per_s"] is not None]
    return max(rated)[1] if len(rated) > 1 else None


def _header(segment: dict, highlighted: bool) -> QtWidgets.QTableWidgetItem:
    change = segment["change"]
    item = QtWidgets.QTableWidgetItem("start" if segment["version"] == 0 else
                                      short_change(change or f"version {segment['version']}"))
    said = "the run as it started" if segment["version"] == 0 else (change or "a change")
    item.setToolTip(f"v{segment['version']}: {said} — from step {segment['first_step']:,}, "
                    f"{segment['measured_steps']:,} steps measured")
    if highlighted:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item
