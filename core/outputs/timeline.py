"""timeline.png: the app's three plots (queue fill, step time, the accelerator's busy/idle band) drawn without Qt.

This module owns the run's timeline image. The CLI writes it with --out, and the app's
run exports write the same file. It draws with matplotlib's object API on the Agg canvas
and never imports pyplot or a Qt backend, so it works headless and also inside the
running PyQt5 app (plot_kit.py holds what it shares with compare.png). What it draws and
in which colours follows gui/plots.py's TimelinePlots, so the file matches what the app showed:

- top: the queue or prefetch fill at each request, with the capacity as a dashed line;
- middle: each step's time (request to done) over its waiting (input + copy to the device,
  filled) and the copy as its own line; warm-up steps are grey, on a grey shade, and left out
  of the y range. The runner's own time between steps is not part of the input pipeline's
  time, so it is left out here just as in the app (summary.json reports it as between_ms);
- bottom: per pixel column, the accelerator's idle share (red, from the bottom) under its
  busy share (green), with configuration changes as dotted vertical lines.

A run can have millions of steps. No curve gets more than two points per pixel column
(each column's lowest and highest value, so peaks survive), and the band is computed at
pixel resolution from cumulative sums, so a million rows add a fraction of a second to
matplotlib's own fixed cost of drawing the figure.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from core.outputs.busy_band import band_image
from core.outputs.palette import (BUSY_COLOR, CAPACITY_COLOR, CHANGE_COLOR, COMPUTE_COLOR, IDLE_COLOR,
                                  TRANSFER_COLOR, WAIT_COLOR, WARMUP_COLOR)
from core.outputs.plot_kit import (DPI, HEADLINE_COLOR, ONE_PIXEL, TITLE_COLOR, TITLE_PT, agg_figure,
                                   colour_keyed_title, draw_headline, label_axes, peak_envelope,
                                   plot_columns, rgb, stacked_plots)
from core.spec.records import FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST

WARMUP_SHADE_ALPHA = 40 / 255
EMPTY_X_RANGE = (0.0, 10.0)  # the app's axes before any step: readable, not matplotlib's 0…1
EMPTY_FILL_RANGE = (0.0, 8.0)
EMPTY_STEP_MS_RANGE = (0.0, 20.0)
Y_PADDING = 0.05  # headroom over a plot's highest value, so a peak does not touch the top
HEADLINE_PX, TITLE_PX = 34, 28


def render_timeline_png(path, rows: np.ndarray, capacity=None, change_times=(), title: str = "",
                        size=(1400, 900), warmup_steps: int = 0, headline: str = "") -> None:
    """Write timeline.png, `size` (width, height) pixels: the app's plots, `headline` in bold above them.

    `rows` are step records (core.spec.records' columns); `capacity` is the queue's or
    prefetch buffer's (None or 0: no line); `change_times` are seconds since the start;
    the first `warmup_steps` rows are warm-up; `title` (the pipeline's name) heads the top
    plot when there is no headline (a headline names the pipeline itself).
    """
    figure = timeline_figure(rows, capacity, change_times, title, size, warmup_steps, headline)
    # An explicit format: the caller's file name decides nothing. Errors writing are OSErrors.
    figure.savefig(path, format="png", dpi=DPI)


def timeline_figure(rows: np.ndarray, capacity=None, change_times=(), title: str = "", size=(1400, 900),
                    warmup_steps: int = 0, headline: str = "") -> Figure:
    """The timeline as a matplotlib Figure on an Agg canvas (to save as PNG, SVG or PDF)."""
    rows = _as_rows(rows)
    figure = agg_figure(size)
    fill_axes, step_axes, band_axes = _three_plots(figure, size, bool(headline))
    if headline:
        draw_headline(figure, headline, size)
    _titles(fill_axes, step_axes, band_axes, "" if headline else title)
    plot_pixels = plot_columns(size)
    x_range = _time_range(rows)
    if len(rows):
        _draw_fill(fill_axes, rows, capacity, plot_pixels)
        _draw_step_times(step_axes, rows, min(max(0, warmup_steps), len(rows)), plot_pixels)
        _draw_band(band_axes, rows, x_range, plot_pixels)
    else:
        _draw_nothing_yet(fill_axes, step_axes)
    _draw_changes(band_axes, change_times)
    for axes in (fill_axes, step_axes, band_axes):
        axes.set_xlim(*x_range)
    return figure


def _as_rows(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return rows.reshape(0, T_FETCHED + 1) if rows.size == 0 else rows


def _time_range(rows: np.ndarray) -> tuple:
    """From the run's start to its last step's end, as the app shows a finished run."""
    end = float(rows[-1, T_DONE]) if len(rows) else 0.0
    return (0.0, end) if end > 0 else EMPTY_X_RANGE


# --- layout and text -------------------------------------------------------------------------

def _three_plots(figure: Figure, size, with_headline: bool) -> tuple:
    top_px = (HEADLINE_PX if with_headline else 0) + TITLE_PX
    plots = stacked_plots(figure, size, 3, top_px, "timeline")
    fill_axes, step_axes, band_axes = plots
    label_axes(fill_axes, y="elements")
    fill_axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # a buffer holds whole elements
    label_axes(step_axes, y="ms")
    label_axes(band_axes, x="time since start (s)")
    band_axes.set_ylim(-0.02, 1.02)
    band_axes.set_yticks([0.0, 0.5, 1.0], ["0", "50%", "100%"])
    return plots


def _titles(fill_axes, step_axes, band_axes, pipeline_name: str) -> None:
    # Colour-keyed titles instead of legends, as in the app: each name is in its curve's colour.
    prefix = f"{pipeline_name} — " if pipeline_name else ""
    colour_keyed_title(fill_axes, [(prefix, HEADLINE_COLOR), ("queue / prefetch fill", WAIT_COLOR),
                                    (" and capacity (dashed)", TITLE_COLOR)])
    colour_keyed_title(step_axes, [("Step time: ", TITLE_COLOR), ("waiting", WAIT_COLOR), (", ", TITLE_COLOR),
                                    ("copy", TRANSFER_COLOR), (", ", TITLE_COLOR), ("whole step", COMPUTE_COLOR),
                                    ("; ", TITLE_COLOR), ("warm-up", WARMUP_COLOR)])
    colour_keyed_title(band_axes, [("Accelerator: ", TITLE_COLOR), ("idle, waiting", IDLE_COLOR),
                                    (" under ", TITLE_COLOR), ("busy", BUSY_COLOR)])


# --- the three plots -------------------------------------------------------------------------

def _draw_fill(axes, rows: np.ndarray, capacity, plot_pixels: int) -> None:
    times, fill = peak_envelope(rows[:, T_REQUEST], rows[:, FILL], plot_pixels)
    axes.plot(times, fill, color=rgb(WAIT_COLOR), linewidth=ONE_PIXEL)
    top = float(fill.max())
    if capacity:
        axes.axhline(capacity, color=rgb(CAPACITY_COLOR), linestyle="--", linewidth=ONE_PIXEL)
        # Unlike the app, which scales to the fill alone, keep the dashed capacity in view:
        # a file cannot be zoomed out to find it.
        top = max(top, float(capacity))
    axes.set_ylim(0.0, max(top, 1.0) * (1 + Y_PADDING))


def _draw_step_times(axes, rows: np.ndarray, warmup_count: int, plot_pixels: int) -> None:
    warmup, measured = rows[:warmup_count], rows[warmup_count:]
    ends = measured[:, T_DONE]
    step_ms = _envelope_ms(ends, measured[:, T_DONE] - measured[:, T_REQUEST], plot_pixels)
    wait_ms = _envelope_ms(ends, measured[:, T_READY] - measured[:, T_REQUEST], plot_pixels)
    copy_ms = _envelope_ms(ends, measured[:, T_READY] - measured[:, T_FETCHED], plot_pixels)
    warmup_ms = _envelope_ms(warmup[:, T_DONE], warmup[:, T_DONE] - warmup[:, T_REQUEST], plot_pixels)
    axes.plot(*step_ms, color=rgb(COMPUTE_COLOR), linewidth=ONE_PIXEL)
    # Waiting is filled in a lighter shade of its colour, as in the app.
    axes.fill_between(*wait_ms, 0.0, color=rgb(_lighter(WAIT_COLOR)), linewidth=0)
    axes.plot(*wait_ms, color=rgb(WAIT_COLOR), linewidth=ONE_PIXEL)
    axes.plot(*copy_ms, color=rgb(TRANSFER_COLOR), linewidth=ONE_PIXEL)
    axes.plot(*warmup_ms, color=rgb(WARMUP_COLOR), linewidth=ONE_PIXEL)
    if warmup_count:
        axes.axvspan(warmup[0, T_REQUEST], warmup[-1, T_DONE], color=rgb(WARMUP_COLOR, WARMUP_SHADE_ALPHA),
                     linewidth=0)
    # Warm-up steps (tracing: ~370 ms against ~25 ms) are drawn but would flatten every other step.
    shown = step_ms[1] if len(measured) else warmup_ms[1]
    top = float(shown.max()) if len(shown) else 0.0
    axes.set_ylim(0.0, (top if top > 0 else 1.0) * (1 + Y_PADDING))


def _envelope_ms(times: np.ndarray, seconds: np.ndarray, plot_pixels: int) -> tuple:
    times, seconds = peak_envelope(times, seconds, plot_pixels)
    return times, seconds * 1000.0


def _lighter(color) -> tuple:
    return tuple(int(channel + (255 - channel) * 0.45) for channel in color)


def _draw_band(axes, rows: np.ndarray, x_range: tuple, plot_pixels: int) -> None:
    x_min, x_max = x_range
    band = band_image(rows, x_min, x_max, plot_pixels)
    # One image column per screen pixel: 'nearest' keeps red, green and white unblended.
    axes.imshow(band, origin="lower", extent=(x_min, x_max, 0.0, 1.0), aspect="auto",
                interpolation="nearest")


def _draw_changes(axes, change_times) -> None:
    # On the accelerator's band only, as in the app (its plots share the time axis).
    times = np.asarray(list(change_times), dtype=np.float64)
    if len(times):
        axes.vlines(times, 0.0, 1.0, colors=[rgb(CHANGE_COLOR)], linestyles=":", linewidth=ONE_PIXEL * 1.5)


def _draw_nothing_yet(fill_axes, step_axes) -> None:
    fill_axes.set_ylim(*EMPTY_FILL_RANGE)
    step_axes.set_ylim(*EMPTY_STEP_MS_RANGE)
    step_axes.text(0.5, 0.5, "no steps recorded", transform=step_axes.transAxes, ha="center", va="center",
                   fontsize=TITLE_PT, color=rgb(TITLE_COLOR))
