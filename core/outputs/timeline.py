"""timeline.png: the app's three plots (queue fill, step time, the accelerator's busy/idle band) drawn without Qt.

This module owns the run's timeline image. The CLI writes it with --out, and the app's
run exports write the same file. It draws with matplotlib's object API on the Agg canvas
and never imports pyplot or a Qt backend, so it works headless and also inside the
running PyQt5 app. What it draws and in which colours follows gui/plots.py's
TimelinePlots, so the file matches what the app showed:

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea
from matplotlib.ticker import MaxNLocator

from core.outputs.busy_band import band_image
from core.outputs.palette import (BUSY_COLOR, CAPACITY_COLOR, CHANGE_COLOR, COMPUTE_COLOR, IDLE_COLOR,
                                  TRANSFER_COLOR, WAIT_COLOR, WARMUP_COLOR)
from core.spec.records import FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST

WARMUP_SHADE_ALPHA = 40 / 255
TITLE_COLOR = (150, 150, 150)  # pyqtgraph's grey for title text and axes
HEADLINE_COLOR = (32, 32, 32)

DPI = 100  # with this, `size` in pixels maps exactly to a figure size in inches
ONE_PIXEL = 72 / DPI  # line width in points: the app's pens are 1 px cosmetic pens
EMPTY_X_RANGE = (0.0, 10.0)  # the app's axes before any step: readable, not matplotlib's 0…1
EMPTY_FILL_RANGE = (0.0, 8.0)
EMPTY_STEP_MS_RANGE = (0.0, 20.0)
Y_PADDING = 0.05  # headroom over a plot's highest value, so a peak does not touch the top

# The layout, in pixels. Fixed margins give all three plots the same left and right edges,
# so the shared time axis lines up, just as the app gives every left axis the same width.
LEFT_PX, RIGHT_PX = 70, 24
HEADLINE_PX, TITLE_PX, GAP_PX, BOTTOM_PX = 34, 28, 52, 52
MIN_PLOT_PX = 40
TITLE_PT, LABEL_PT, TICK_PT, HEADLINE_PT = 11, 10, 9, 12


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
    figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)  # a canvas of our own choosing: no backend is looked up, so no Qt
    fill_axes, step_axes, band_axes = _three_plots(figure, size, bool(headline))
    if headline:
        figure.text(0.5, 1 - 8 / size[1], headline, ha="center", va="top", fontsize=HEADLINE_PT,
                    fontweight="bold", color=_rgb(HEADLINE_COLOR), parse_math=False)
    _titles(fill_axes, step_axes, band_axes, "" if headline else title)
    plot_pixels = size[0] - LEFT_PX - RIGHT_PX
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
    width, height = size
    top_px = (HEADLINE_PX if with_headline else 0) + TITLE_PX
    plot_px = (height - top_px - BOTTOM_PX - 2 * GAP_PX) / 3
    if plot_px < MIN_PLOT_PX or width - LEFT_PX - RIGHT_PX < 2 * MIN_PLOT_PX:
        raise ValueError(f"timeline size {width}×{height} px is too small for three plots")
    grid = figure.add_gridspec(3, 1, left=LEFT_PX / width, right=1 - RIGHT_PX / width,
                               top=1 - top_px / height, bottom=BOTTOM_PX / height, hspace=GAP_PX / plot_px)
    plots = tuple(figure.add_subplot(grid[index]) for index in range(3))
    for axes in plots:
        _look_like_the_app(axes)
    fill_axes, step_axes, band_axes = plots
    fill_axes.set_ylabel("elements", fontsize=LABEL_PT, color=_rgb(TITLE_COLOR))
    fill_axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # a buffer holds whole elements
    step_axes.set_ylabel("ms", fontsize=LABEL_PT, color=_rgb(TITLE_COLOR))
    band_axes.set_xlabel("time since start (s)", fontsize=LABEL_PT, color=_rgb(TITLE_COLOR))
    band_axes.set_ylim(-0.02, 1.02)
    band_axes.set_yticks([0.0, 0.5, 1.0], ["0", "50%", "100%"])
    return plots


def _look_like_the_app(axes) -> None:
    """pyqtgraph's look: grey left and bottom axes, a faint grid, no box."""
    grey = _rgb(TITLE_COLOR)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(grey)
    axes.tick_params(colors=grey, labelsize=TICK_PT)
    axes.grid(True, color=grey, alpha=0.25, linewidth=ONE_PIXEL)
    axes.set_axisbelow(True)


def _titles(fill_axes, step_axes, band_axes, pipeline_name: str) -> None:
    # Colour-keyed titles instead of legends, as in the app: each name is in its curve's colour.
    prefix = f"{pipeline_name} — " if pipeline_name else ""
    _colour_keyed_title(fill_axes, [(prefix, HEADLINE_COLOR), ("queue / prefetch fill", WAIT_COLOR),
                                    (" and capacity (dashed)", TITLE_COLOR)])
    _colour_keyed_title(step_axes, [("Step time: ", TITLE_COLOR), ("waiting", WAIT_COLOR), (", ", TITLE_COLOR),
                                    ("copy", TRANSFER_COLOR), (", ", TITLE_COLOR), ("whole step", COMPUTE_COLOR),
                                    ("; ", TITLE_COLOR), ("warm-up", WARMUP_COLOR)])
    _colour_keyed_title(band_axes, [("Accelerator: ", TITLE_COLOR), ("idle, waiting", IDLE_COLOR),
                                    (" under ", TITLE_COLOR), ("busy", BUSY_COLOR)])


def _colour_keyed_title(axes, pieces) -> None:
    """One centred line above `axes` whose pieces have their own colours (a title has only one)."""
    texts = [TextArea(text, textprops=dict(color=_rgb(color), fontsize=TITLE_PT, parse_math=False))
             for text, color in pieces if text]  # parse_math: a '$' in a pipeline's name is just a '$'
    line = HPacker(children=texts, align="baseline", pad=0, sep=0)
    axes.add_artist(AnchoredOffsetbox(loc="lower center", child=line, pad=0, borderpad=0, frameon=False,
                                      bbox_to_anchor=(0.5, 1.0), bbox_transform=axes.transAxes))


def _rgb(color, alpha: float = 1.0) -> tuple:
    return (*(channel / 255 for channel in color), alpha)


# --- the three plots -------------------------------------------------------------------------

def _draw_fill(axes, rows: np.ndarray, capacity, plot_pixels: int) -> None:
    times, fill = peak_envelope(rows[:, T_REQUEST], rows[:, FILL], plot_pixels)
    axes.plot(times, fill, color=_rgb(WAIT_COLOR), linewidth=ONE_PIXEL)
    top = float(fill.max())
    if capacity:
        axes.axhline(capacity, color=_rgb(CAPACITY_COLOR), linestyle="--", linewidth=ONE_PIXEL)
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
    axes.plot(*step_ms, color=_rgb(COMPUTE_COLOR), linewidth=ONE_PIXEL)
    # Waiting is filled in a lighter shade of its colour, as in the app.
    axes.fill_between(*wait_ms, 0.0, color=_rgb(_lighter(WAIT_COLOR)), linewidth=0)
    axes.plot(*wait_ms, color=_rgb(WAIT_COLOR), linewidth=ONE_PIXEL)
    axes.plot(*copy_ms, color=_rgb(TRANSFER_COLOR), linewidth=ONE_PIXEL)
    axes.plot(*warmup_ms, color=_rgb(WARMUP_COLOR), linewidth=ONE_PIXEL)
    if warmup_count:
        axes.axvspan(warmup[0, T_REQUEST], warmup[-1, T_DONE], color=_rgb(WARMUP_COLOR, WARMUP_SHADE_ALPHA),
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
        axes.vlines(times, 0.0, 1.0, colors=[_rgb(CHANGE_COLOR)], linestyles=":", linewidth=ONE_PIXEL * 1.5)


def _draw_nothing_yet(fill_axes, step_axes) -> None:
    fill_axes.set_ylim(*EMPTY_FILL_RANGE)
    step_axes.set_ylim(*EMPTY_STEP_MS_RANGE)
    step_axes.text(0.5, 0.5, "no steps recorded", transform=step_axes.transAxes, ha="center", va="center",
                   fontsize=TITLE_PT, color=_rgb(TITLE_COLOR))


# --- thinning: at most two points per pixel column --------------------------------------------

def peak_envelope(x: np.ndarray, y: np.ndarray, bins: int) -> tuple:
    """At most about 2 × `bins` points of (x, y): each bin's lowest and highest, in order.

    Drawn as a line, the envelope looks like the full series at this width (pyqtgraph's
    'peak' downsampling does the same): a single slow step stays as tall as it was.
    """
    if len(y) <= 2 * bins:
        return x, y
    per_bin = int(np.ceil(len(y) / bins))
    # The last bin is padded with the last value: a low or high found in the padding is that sample.
    padded = np.pad(y, (0, -len(y) % per_bin), mode="edge")
    chunks = padded.reshape(-1, per_bin)
    starts = np.arange(0, len(padded), per_bin)
    # In time order within each bin, so the line goes down to the low and up to the high as the data did.
    lows_and_highs = np.sort(np.column_stack((chunks.argmin(axis=1), chunks.argmax(axis=1))), axis=1)
    keep = np.minimum((starts[:, None] + lows_and_highs).ravel(), len(y) - 1)
    return x[keep], y[keep]
