"""A sweep's files: sweep.csv (one row per combination) and sweep.png (steps/s as a heatmap).

The sweep itself (core.experiments.sweep) hands over plain rows and its heatmaps; outputs and
experiments never import each other, so a heatmap here is anything with that module's `Heatmap`
fields (title, row_path, row_labels, column_path, column_labels, values, best, failed). The
picture is drawn with matplotlib's object API on the Agg canvas, never pyplot or a Qt backend, so
it works headless and inside the app alike: two parameters are a matrix of coloured cells with
their steps/s written in, one is a bar chart, three are one matrix per value of the third on a
shared colour scale. The best combination is outlined in every case; one that failed, or did not
run (an interrupted sweep), is a grey cell or a missing bar that says which.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

CSV_NAME, PNG_NAME = "sweep.csv", "sweep.png"
DPI = 100
COLORMAP = "viridis"  # ordered light-to-dark, and legible to colour-blind readers
NOT_RUN_COLOR = "#d9d9d9"
BEST_COLOR = "#e8175d"
BAR_COLOR = "#3c78dc"
CELL_INCHES, MIN_MATRIX_INCHES = 1.1, 3.5
TITLE_PT, LABEL_PT, CELL_PT = 14, 11, 11


def write_sweep_csv(path, columns: list[str], rows: list[list]) -> None:
    """One row per combination; an empty cell where a figure is missing (a failed run)."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if cell is None else cell for cell in row])


def write_sweep_files(out_dir, columns: list[str], rows: list[list], heatmaps: list, title: str,
                      caption: str = "") -> list[Path]:
    """sweep.csv and sweep.png into `out_dir`; returns their paths."""
    out = Path(out_dir)
    write_sweep_csv(out / CSV_NAME, columns, rows)
    render_sweep_png(out / PNG_NAME, heatmaps, title, caption)
    return [out / CSV_NAME, out / PNG_NAME]


def render_sweep_png(path, heatmaps: list, title: str, caption: str = "") -> None:
    figure = sweep_figure(heatmaps, title, caption)
    figure.savefig(path, format="png", dpi=DPI)


def sweep_figure(heatmaps: list, title: str, caption: str = "") -> Figure:
    """Steps/s over the grid: a bar chart for one parameter, else one matrix per heatmap."""
    one_parameter = heatmaps[0].row_path is None
    figure = Figure(figsize=_figure_inches(heatmaps, one_parameter), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=TITLE_PT, fontweight="bold")
    if caption:
        figure.supxlabel(caption, fontsize=LABEL_PT)
    if one_parameter:
        _draw_bars(figure.add_subplot(), heatmaps[0])
    else:
        _draw_matrices(figure, heatmaps)
    return figure


def _figure_inches(heatmaps: list, one_parameter: bool) -> tuple[float, float]:
    columns = len(heatmaps[0].column_labels)
    if one_parameter:
        return max(6.0, 1.0 * columns + 2.5), 5.0
    rows = len(heatmaps[0].row_labels)
    matrix_width = max(MIN_MATRIX_INCHES, CELL_INCHES * columns + 1.2)
    width = matrix_width * len(heatmaps) + 1.5  # the colour bar
    height = max(MIN_MATRIX_INCHES, CELL_INCHES * rows + 1.2) + 1.0  # the title and caption
    return max(6.0, width), height


def _draw_bars(axes, heatmap) -> None:
    values = heatmap.values[0]
    positions = np.arange(len(values))
    heights = np.nan_to_num(values, nan=0.0)
    bars = axes.bar(positions, heights, color=BAR_COLOR, width=0.6)
    best = heatmap.best[1] if heatmap.best is not None else None
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    for index, (bar, value) in enumerate(zip(bars, values)):
        if index == best:
            bar.set_facecolor(BEST_COLOR)
        text = _missing_text(heatmap, (0, index)) if math.isnan(value) else _figure_text(value)
        axes.text(bar.get_x() + bar.get_width() / 2, (0 if math.isnan(value) else value) + 0.01 * top, text,
                  ha="center", va="bottom", fontsize=CELL_PT, fontweight="bold" if index == best else "normal")
    axes.set_xticks(positions, heatmap.column_labels, fontsize=LABEL_PT)
    axes.set_xlabel(heatmap.column_path, fontsize=LABEL_PT)
    axes.set_ylabel("steps/s", fontsize=LABEL_PT)
    axes.set_ylim(0, top * 1.12)
    axes.spines[["top", "right"]].set_visible(False)


def _draw_matrices(figure: Figure, heatmaps: list) -> None:
    finite = np.concatenate([heatmap.values.ravel() for heatmap in heatmaps])
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if high <= low:
        low, high = low - 1.0, high + 1.0  # one result, or all equal: still a colour scale
    colormap = colormaps[COLORMAP].with_extremes(bad=NOT_RUN_COLOR)
    grid = figure.subplots(1, len(heatmaps), squeeze=False)[0]
    image = None
    for axes, heatmap in zip(grid, heatmaps):
        image = axes.imshow(np.ma.masked_invalid(heatmap.values), cmap=colormap, vmin=low, vmax=high,
                            aspect="equal")
        _write_cells(axes, heatmap, colormap, low, high)
        _label_matrix(axes, heatmap, first=axes is grid[0])
    colour_bar = figure.colorbar(image, ax=list(grid), shrink=0.8)
    colour_bar.set_label("steps/s", fontsize=LABEL_PT)


def _write_cells(axes, heatmap, colormap, low: float, high: float) -> None:
    for (row, column), value in np.ndenumerate(heatmap.values):
        best = heatmap.best == (row, column)
        if math.isnan(value):
            axes.text(column, row, _missing_text(heatmap, (row, column)), ha="center", va="center",
                      fontsize=CELL_PT, color="#555555")
            continue
        shade = colormap((value - low) / (high - low))
        axes.text(column, row, _figure_text(value), ha="center", va="center", fontsize=CELL_PT,
                  color=_text_colour_on(shade), fontweight="bold" if best else "normal")
        if best:
            axes.add_patch(Rectangle((column - 0.47, row - 0.47), 0.94, 0.94, fill=False,
                                     edgecolor=BEST_COLOR, linewidth=3.5))


def _label_matrix(axes, heatmap, first: bool) -> None:
    axes.set_xticks(range(len(heatmap.column_labels)), heatmap.column_labels, fontsize=LABEL_PT)
    axes.set_yticks(range(len(heatmap.row_labels)), heatmap.row_labels, fontsize=LABEL_PT)
    axes.set_xlabel(heatmap.column_path, fontsize=LABEL_PT)
    if first:  # the pages share their rows: say what they are once
        axes.set_ylabel(heatmap.row_path, fontsize=LABEL_PT)
    if heatmap.title:
        axes.set_title(heatmap.title, fontsize=LABEL_PT)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)


def _missing_text(heatmap, cell: tuple[int, int]) -> str:
    return "failed" if cell in heatmap.failed else "not run"


def _text_colour_on(rgba) -> str:
    red, green, blue = rgba[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _figure_text(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"
