"""The accelerator's busy/idle band: per pixel column, a bar of its idle share over its busy share.

Colouring each column by a mix of green and red blended alternating steps into
a brown that matched neither colour once zoomed out. A column here is only
ever red (idle, from the bottom), green (busy, above it) and white (neither,
e.g. a rebuild between steps): zoomed out it reads as a bar chart of the idle
share; zoomed in to single steps, columns are wholly red or wholly green. In
between, where a step is a few pixels wide, a pixel's share depends on where
the step boundaries fall and the bars flicker between 0 and 100%; there each
bar spans several steps (STEPS_PER_BAR), so its height is the idle share again.
"""
from __future__ import annotations

import numpy as np

from core.analysis.idle_share import busy_idle_per_pixel
from core.outputs.palette import BUSY_COLOR, EMPTY_COLOR, IDLE_COLOR
from core.spec.records import T_DONE, T_REQUEST

BAND_ROWS = 40  # vertical resolution of the bars: 2.5% of a column's time per row
NOISE_SHARE = 1e-3  # shares below this are float noise of the interpolation, not a gap
STEPS_PER_BAR = 8  # a bar this many steps wide is off its true share by at most about 1/8
DETAIL_STEP_PIXELS = 6  # steps at least this wide are drawn one by one


def bar_width(rows: np.ndarray, x_min: float, x_max: float, pixels: int) -> int:
    """Pixels per bar: 1 when zoomed out or in to single steps, else wide enough for STEPS_PER_BAR steps."""
    if len(rows) == 0 or x_max <= x_min:
        return 1
    step_pixels = float(np.median(rows[:, T_DONE] - rows[:, T_REQUEST])) * pixels / (x_max - x_min)
    if step_pixels >= DETAIL_STEP_PIXELS or step_pixels * STEPS_PER_BAR <= 1:
        return 1
    return int(np.ceil(step_pixels * STEPS_PER_BAR))


def band_image(rows: np.ndarray, x_min: float, x_max: float, pixels: int) -> np.ndarray:
    """The band over [x_min, x_max] seconds, `pixels` columns wide."""
    width = bar_width(rows, x_min, x_max, pixels)
    seconds_per_pixel = (x_max - x_min) / pixels
    seconds_per_bar = seconds_per_pixel * width
    # Wide bars sit on a grid of absolute time: following a run, their edges (and heights) stay put.
    first = np.floor(x_min / seconds_per_bar) * seconds_per_bar if width > 1 else x_min
    offset = int(round((x_min - first) / seconds_per_pixel))
    bars = int(np.ceil((pixels + offset) / width))
    busy, idle = busy_idle_per_pixel(rows, first, first + bars * seconds_per_bar, bars)
    return np.repeat(timeline_band(busy, idle), width, axis=1)[:, offset:offset + pixels]


def _at_least_one_row(share: np.ndarray) -> np.ndarray:
    """A real but tiny share still gets one row, so a short gap never disappears."""
    return np.where(share > NOISE_SHARE, np.maximum(share, 1.0 / BAND_ROWS), 0.0)


def timeline_band(busy: np.ndarray, idle: np.ndarray) -> np.ndarray:
    """RGB image (BAND_ROWS, pixels, 3), row 0 at the bottom: red up to the idle share, green above."""
    idle_top = _at_least_one_row(idle)
    busy_top = np.minimum(1.0, idle_top + _at_least_one_row(busy))
    row_centres = ((np.arange(BAND_ROWS) + 0.5) / BAND_ROWS)[:, None]
    band = np.empty((BAND_ROWS, len(idle), 3), dtype=np.uint8)
    band[:] = EMPTY_COLOR
    band[row_centres < busy_top] = BUSY_COLOR
    band[row_centres < idle_top] = IDLE_COLOR
    return band
