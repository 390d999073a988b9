"""The bottleneck panel's table: each stage's rate and the model's, the bottleneck marked.

A built-in pipeline's stages were measured on their own, beside tf.data's live rate in the last run; a
watched job's are tf.data's own figures from its run, each stage named with the line that made it.
"""
from __future__ import annotations

import math

from PyQt5 import QtCore, QtGui, QtWidgets

from gui import watched_analysis

BOTTLENECK_BRUSH = QtGui.QColor(255, 224, 178)
COLUMNS = ("stage", "elements/s", "steps/s", "live el/s")
WATCHED_COLUMNS = COLUMNS[:-1]  # a watched job's stage is not measured apart from its run: no live column


class FiguresTable(QtWidgets.QTableWidget):
    """As tall as its rows, and its scroll bar when the dock is narrower than they are: every row stays in
    sight (the bar would otherwise cover the model's)."""

    def fit_height(self) -> None:
        rows_height = sum(self.rowHeight(row) for row in range(self.rowCount()))
        bar = self.horizontalScrollBar().sizeHint().height() \
            if self.horizontalHeader().length() > self.viewport().width() else 0
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + rows_height + bar + 2 * self.frameWidth())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.rowCount():
            self.fit_height()


def figures_table() -> FiguresTable:
    table = FiguresTable(0, len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
    table.setMinimumHeight(120)
    return table


def fill_table(table: FiguresTable, analysis: dict) -> None:
    """A watched job's stage is named with its line (`slow_read` over `custom_loop.py:31`), and has no live
    column: its figures are the live ones."""
    stages = analysis["stages"]
    watched = analysis.get("source") == "watch"
    columns = WATCHED_COLUMNS if watched else COLUMNS
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(columns)
    ahead = analysis.get("model_launching_ahead_steps_per_s")
    table.setRowCount(len(stages) + 1 + (ahead is not None))
    for row, stage in enumerate(stages):
        cells = (stage["id"], _rate(stage["elements_per_s"]), _rate(stage["steps_per_s"]))
        if watched:
            cells = ("\n".join(filter(None, (stage["id"], watched_analysis.where(stage)))),) + cells[1:]
        else:
            live = stage.get("live_elements_per_s")
            cells += ("–" if live is None else _rate(live),)
        _set_row(table, row, cells, stage["id"] == analysis["bottleneck"],
                 watched_analysis.stage_tooltip(stage) if watched else stage["kind"])
    _set_row(table, len(stages), ("model", "", _rate(analysis["model_steps_per_s"]), "")[:len(columns)],
             analysis["bottleneck"] == "model", "the model alone")
    if ahead is not None:
        _set_row(table, len(stages) + 1, ("model, ahead", "", _rate(ahead), ""), False,
                 "the model alone, launching steps without waiting for each (model.sync: window)")
    table.resizeRowsToContents()
    table.fit_height()


def _rate(value: float) -> str:
    """Narrow enough for a dock: 282k, 915, 91.5 (– for none: a watched job's model that took no time)."""
    if not math.isfinite(value):
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _set_row(table, row: int, cells: tuple, bottleneck: bool, kind: str) -> None:
    for column, text in enumerate(cells):
        item = QtWidgets.QTableWidgetItem(text)
        item.setToolTip(kind)
        if column >= 1:
            item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        if bottleneck:
            item.setBackground(BOTTLENECK_BRUSH)
        table.setItem(row, column, item)
