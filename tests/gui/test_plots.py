"""The timeline plots: exact busy/idle shares per pixel, and long runs drawn from a window."""
import numpy as np
import pytest

from core.spec.records import COLUMNS
from core.outputs.busy_band import BAND_ROWS, busy_idle_per_pixel, timeline_band
from core.outputs.palette import BUSY_COLOR, EMPTY_COLOR, IDLE_COLOR
from gui.plots import MAX_PLOTTED_STEPS, TimelinePlots, visible_rows


def synthetic_rows(steps: int, wait_s: float, compute_s: float, gap_s: float = 0.0) -> np.ndarray:
    rows = np.zeros((steps, len(COLUMNS)))
    period = wait_s + compute_s + gap_s
    rows[:, 0] = np.arange(steps) * period
    rows[:, 1] = rows[:, 0] + wait_s
    rows[:, 2] = rows[:, 1] + compute_s
    return rows


def test_busy_and_idle_shares_are_exact_at_any_zoom():
    rows = synthetic_rows(100, wait_s=0.004, compute_s=0.006)  # 40% idle by construction
    busy, idle = busy_idle_per_pixel(rows, 0.0, 1.0, pixels=10)  # 10 steps per pixel
    assert np.allclose(idle, 0.4) and np.allclose(busy, 0.6)
    busy, idle = busy_idle_per_pixel(rows, 0.0, 0.01, pixels=10)  # one step over 10 pixels
    assert list(idle) == pytest.approx([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert list(busy) == pytest.approx([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])


def colors_in(band: np.ndarray) -> set:
    return {tuple(int(c) for c in pixel) for pixel in band.reshape(-1, 3)}


def test_band_never_blends_busy_and_idle_into_a_third_colour():
    # Zoomed out over alternating steps, every column is partly busy and partly idle.
    rows = synthetic_rows(2000, wait_s=0.004, compute_s=0.006)
    band = timeline_band(*busy_idle_per_pixel(rows, 0.0, 20.0, pixels=300))
    assert band.shape == (BAND_ROWS, 300, 3)
    assert colors_in(band) <= {BUSY_COLOR, IDLE_COLOR, EMPTY_COLOR}
    red_share = (band == IDLE_COLOR).all(axis=2).mean(axis=0)
    assert np.allclose(red_share, 0.4, atol=1.0 / BAND_ROWS)  # the idle share is the red bar's height
    assert (band[0] == IDLE_COLOR).all()  # red from the bottom (row 0)


def test_any_idle_gap_stays_visible_in_red():
    band = timeline_band(np.array([1.0, 0.99, 0.0]), np.array([0.0, 0.01, 0.0]))
    assert colors_in(band[:, 0]) == {BUSY_COLOR}
    assert tuple(band[0, 1]) == IDLE_COLOR  # a 1% gap still gets a row of red
    assert colors_in(band[:, 2]) == {EMPTY_COLOR}
    assert colors_in(timeline_band(np.array([0.0]), np.array([1.0]))) == {IDLE_COLOR}


def test_a_long_run_is_drawn_from_its_visible_window(qtbot):
    plots = TimelinePlots()
    qtbot.addWidget(plots)
    rows = synthetic_rows(200_000, wait_s=0.0002, compute_s=0.0008)
    window = visible_rows(rows, 150.0, 160.0)
    assert 9_000 < len(window) < 11_000 and window[0, 0] <= 150.0 <= window[-1, 2]
    plots.show_rows(rows, capacity=4, x_range=(0.0, float(rows[-1, 2])))  # the whole run at once
    x, _ = plots.step_curve.getData()
    assert len(x) <= MAX_PLOTTED_STEPS + 2
    band = plots.timeline_image.image
    assert band.shape[0] == BAND_ROWS and band.shape[2] == 3


def test_where_steps_are_a_few_pixels_wide_bars_span_several_steps_and_read_true():
    from core.outputs.busy_band import band_image

    rows = synthetic_rows(600, wait_s=0.004, compute_s=0.006)  # 6 s of 40%-idle steps
    band = band_image(rows, 0.0, 6.0, pixels=1100)  # ~1.8 pixels per step: pixels alone would flicker
    red_share = (band == IDLE_COLOR).all(axis=2).mean(axis=0)[:-40]  # the last bar runs past the data
    assert np.all(np.abs(red_share - 0.4) <= 1 / 8 + 1 / BAND_ROWS)
