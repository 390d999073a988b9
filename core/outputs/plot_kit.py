"""What the run images share (timeline.png, compare.png): a figure on matplotlib's Agg canvas sized in
pixels, plots stacked on one time axis with fixed margins, the app's look, colour-keyed titles, and the
thinning that keeps a million steps drawable.

matplotlib's object API on an Agg canvas, never pyplot or a Qt backend: the images are drawn headless
and inside the running PyQt5 app alike.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox, HPacker, TextArea

TITLE_COLOR = (150, 150, 150)  # pyqtgraph's grey for title text and axes
HEADLINE_COLOR = (32, 32, 32)

DPI = 100  # with this, a size in pixels maps exactly to a figure size in inches
ONE_PIXEL = 72 / DPI  # line width in points: the app's pens are 1 px cosmetic pens

# The layout, in pixels. Fixed margins give all plots the same left and right edges, so the shared
# time axis lines up, just as the app gives every left axis the same width.
LEFT_PX, RIGHT_PX = 70, 24
GAP_PX, BOTTOM_PX = 52, 52
MIN_PLOT_PX = 40
TITLE_PT, LABEL_PT, TICK_PT, HEADLINE_PT = 11, 10, 9, 12


def agg_figure(size) -> Figure:
    """A white figure of `size` (width, height) pixels on an Agg canvas of our own choosing: no backend is
    looked up, so no Qt."""
    figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def stacked_plots(figure: Figure, size, count: int, top_px: float, what: str) -> tuple:
    """`count` plots one above the other under `top_px` pixels of headline and titles, in the app's look.

    Raises ValueError naming `what` (the image) when `size` leaves a plot too small to read."""
    width, height = size
    plot_px = (height - top_px - BOTTOM_PX - (count - 1) * GAP_PX) / count
    if plot_px < MIN_PLOT_PX or width - LEFT_PX - RIGHT_PX < 2 * MIN_PLOT_PX:
        raise ValueError(f"{what} size {width}×{height} px is too small for {count} plots")
    grid = figure.add_gridspec(count, 1, left=LEFT_PX / width, right=1 - RIGHT_PX / width,
                               top=1 - top_px / height, bottom=BOTTOM_PX / height, hspace=GAP_PX / plot_px)
    plots = tuple(figure.add_subplot(grid[index]) for index in range(count))
    for axes in plots:
        look_like_the_app(axes)
    return plots


def plot_columns(size) -> int:
    """How many pixel columns a plot of a `size` image has: what thinning keeps two points per."""
    return int(size[0] - LEFT_PX - RIGHT_PX)


def look_like_the_app(axes) -> None:
    """pyqtgraph's look: grey left and bottom axes, a faint grid, no box."""
    grey = rgb(TITLE_COLOR)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(grey)
    axes.tick_params(colors=grey, labelsize=TICK_PT)
    axes.grid(True, color=grey, alpha=0.25, linewidth=ONE_PIXEL)
    axes.set_axisbelow(True)


def label_axes(axes, x: str = "", y: str = "") -> None:
    """Axis labels in the app's grey."""
    style = dict(fontsize=LABEL_PT, color=rgb(TITLE_COLOR))
    if x:
        axes.set_xlabel(x, **style)
    if y:
        axes.set_ylabel(y, **style)


def draw_headline(figure: Figure, text: str, size) -> None:
    """A bold line at the top of the image."""
    figure.text(0.5, 1 - 8 / size[1], text, ha="center", va="top", fontsize=HEADLINE_PT, fontweight="bold",
                color=rgb(HEADLINE_COLOR), parse_math=False)


def colour_keyed_title(axes, pieces) -> None:
    """One centred line above `axes` whose (text, colour) pieces have their own colours (a title has only one)."""
    texts = [TextArea(text, textprops=dict(color=rgb(color), fontsize=TITLE_PT, parse_math=False))
             for text, color in pieces if text]  # parse_math: a '$' in a pipeline's name is just a '$'
    line = HPacker(children=texts, align="baseline", pad=0, sep=0)
    axes.add_artist(AnchoredOffsetbox(loc="lower center", child=line, pad=0, borderpad=0, frameon=False,
                                      bbox_to_anchor=(0.5, 1.0), bbox_transform=axes.transAxes))


def rgb(color, alpha: float = 1.0) -> tuple:
    """An (r, g, b) of 0…255, as the palette holds colours, in matplotlib's 0…1."""
    return (*(channel / 255 for channel in color), alpha)


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
