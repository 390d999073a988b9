"""The room the docks get: the palette's width, the right column's width and how its height is shared.

QMainWindow shares a window's growth or shrinking among the docks in proportion to the sizes they have,
so the share set here once, when the window is built, holds at any window size, unless a dock's minimum
distorts it: the docks of the column scroll rather than set a height of their own. The column is never
narrower than its tab titles need, measured by Qt's own tab bar in the app's font and style, since the
tab bars of tabified docks cut their titles short in a column too narrow for them.
"""
from __future__ import annotations

from PyQt5 import QtCore, QtWidgets

PALETTE_WIDTH = 120
COLUMN_WIDTH = 300  # the canvas keeps the rest: at 1600 wide, a chain of seven blocks at full size
# Below: the run's figures and the Runs list, read whole after each run. Above: the block's form and the
# what-if knobs, edited a few rows at a time and scrolled.
COLUMN_HEIGHT_SHARES = (2, 3)


def tab_row_width(titles) -> int:
    """What a row of tabs needs to show `titles` whole, as QTabBar works it out."""
    bar = QtWidgets.QTabBar()
    for title in titles:
        bar.addTab(title)
    return bar.sizeHint().width()


def keep_tab_titles_whole(tab_groups) -> None:
    """Every dock of the column at least as wide as its widest row of tabs."""
    width = max(tab_row_width([dock.windowTitle() for dock in group]) for group in tab_groups)
    for group in tab_groups:
        for dock in group:
            dock.setMinimumWidth(width)


def share_room(window: QtWidgets.QMainWindow, palette, tab_groups) -> None:
    """The palette and the column their widths; the column's height split between its groups of tabs."""
    keep_tab_titles_whole(tab_groups)
    column_width = max(COLUMN_WIDTH, tab_groups[0][0].minimumWidth())
    window.resizeDocks([palette, tab_groups[0][0]], [PALETTE_WIDTH, column_width], QtCore.Qt.Horizontal)
    heights = [share * window.height() // sum(COLUMN_HEIGHT_SHARES) for share in COLUMN_HEIGHT_SHARES]
    window.resizeDocks([group[0] for group in tab_groups], heights, QtCore.Qt.Vertical)
