"""Where the canvas puts a chain of blocks: in rows that wrap, zoomed to fit the view.

A long pipeline (the image presets have ten blocks) in one row pushed the model
off the canvas. The chain is laid out in reading order, row after row; the
number of columns is the one that lets the whole chain be drawn largest in
the view, and it is never drawn smaller than MIN_SCALE (the view scrolls then).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

BLOCK_W, BLOCK_H, GAP, ROW_GAP = 136.0, 80.0, 28.0, 34.0
MARGIN = 16.0
MIN_SCALE = 0.6  # smaller than this, block labels cannot be read


@dataclass(frozen=True)
class ChainLayout:
    count: int
    columns: int

    @property
    def rows(self) -> int:
        return max(1, math.ceil(self.count / self.columns))

    def position(self, index: int) -> tuple[float, float]:
        """Top-left corner of the block at chain position `index`."""
        row, column = divmod(index, self.columns)
        return column * (BLOCK_W + GAP), row * (BLOCK_H + ROW_GAP)

    def size(self) -> tuple[float, float]:
        """Width and height of the drawing, margins included."""
        columns = min(self.count, self.columns)
        return (columns * (BLOCK_W + GAP) - GAP + 2 * MARGIN,
                self.rows * (BLOCK_H + ROW_GAP) - ROW_GAP + 2 * MARGIN)

    def scale_in(self, view_width: float, view_height: float) -> float:
        width, height = self.size()
        return min(1.0, view_width / width, view_height / height)

    def blocks_before(self, x: float, y: float) -> int:
        """How many blocks come before the point (x, y) in reading order, judged by their centres."""
        row = min(self.rows - 1, max(0, int((y + ROW_GAP / 2) // (BLOCK_H + ROW_GAP))))
        in_row = sum(1 for column in range(self.columns) if column * (BLOCK_W + GAP) + BLOCK_W / 2 < x)
        return min(self.count, row * self.columns + in_row)


def fitting_layout(count: int, view_width: float, view_height: float) -> ChainLayout:
    """The layout of `count` blocks drawn largest in the view (fewer rows when it is a tie)."""
    layouts = [ChainLayout(count, math.ceil(count / rows)) for rows in range(1, max(1, count) + 1)]
    return max(layouts, key=lambda layout: (round(layout.scale_in(view_width, view_height), 3), layout.columns))
