"""compare.png: runs overlaid on one time axis, each in its own colour, so an A/B change is seen at a glance.

Two plots share the x axis, time since each run's start (the runs' own clocks, so they line up at 0):

- top: each step's time, request to done (as timeline.png's whole step), thinned to two points per
  pixel column so a long run's peaks survive; warm-up steps are faded and left out of the y range;
- bottom: the accelerator's idle share, the time it waited for input in each window of the run
  (core.analysis.idle_share: the app's A/B view draws the same curve), from the same running sums as
  timeline.png's band.

Above them a legend names each run (its letter, name, folder and steps/s). Configuration changes
(what-if) are dotted lines in their run's colour. Drawn with plot_kit, headless and without Qt.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.lines import Line2D

from core.analysis.idle_share import idle_per_window, idle_window_s, run_end_s
from core.analysis.metrics import measured_rows
from core.outputs.palette import RUN_COLORS
from core.outputs.plot_kit import (DPI, LEFT_PX, ONE_PIXEL, TITLE_COLOR, TITLE_PT, agg_figure, colour_keyed_title,
                                   draw_headline, label_axes, peak_envelope, plot_columns, rgb, stacked_plots)
from core.spec.records import T_DONE, T_REQUEST

SIZE = (1400, 800)
HEADLINE_PX, LEGEND_LINE_PX, TITLE_PX = 34, 20, 30
LINE_WIDTH = 1.5 * ONE_PIXEL  # a little heavier than the timeline's: curves cross each other here
WARMUP_ALPHA = 0.3
THINNED_ALPHA = 0.6
Y_PADDING = 0.05
EMPTY_X_RANGE = (0.0, 10.0)


@dataclass
class PlottedRun:
    label: str  # the legend's line: `A  whatif — runs/a — 117.7 steps/s`
    rows: np.ndarray  # step records (core.spec.records' columns)
    warmup_steps: int = 0
    change_times: list = field(default_factory=list)  # seconds since the run's start


def render_compare_png(path, runs: list[PlottedRun], headline: str = "", size=SIZE) -> None:
    """Write compare.png, `size` (width, height) pixels. Errors writing are OSErrors."""
    figure = agg_figure(size)
    top_px = HEADLINE_PX + LEGEND_LINE_PX * len(runs) + TITLE_PX
    step_axes, idle_axes = stacked_plots(figure, size, 2, top_px, "compare.png")
    step_axes.sharex(idle_axes)
    draw_headline(figure, headline or "compare", size)
    end = max((run_end_s(run.rows) for run in runs), default=0.0)
    window = idle_window_s(end, plot_columns(size))
    _titles(step_axes, idle_axes, window)
    for index, run in enumerate(runs):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        _draw_step_times(step_axes, run, color, plot_columns(size))
        _draw_idle(idle_axes, run, color, window)
        _draw_changes((step_axes, idle_axes), run.change_times, color)
    _step_range(step_axes, runs)
    idle_axes.set_xlim(*((0.0, end) if end > 0 else EMPTY_X_RANGE))
    _legend(figure, runs, size)
    figure.savefig(path, format="png", dpi=DPI)  # an explicit format: the file's name decides nothing


def _titles(step_axes, idle_axes, window_s: float) -> None:
    grey = TITLE_COLOR
    colour_keyed_title(step_axes, [("Step time, request to done (warm-up faded)", grey)])
    colour_keyed_title(idle_axes, [(f"Accelerator idle: its share of each {_duration(window_s)} spent waiting "
                                    "for input", grey)])
    label_axes(step_axes, y="ms")
    label_axes(idle_axes, x="time since start (s)", y="idle")
    idle_axes.set_ylim(-0.02, 1.02)
    idle_axes.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])


def _duration(seconds: float) -> str:
    return f"{seconds:g} s" if seconds >= 1 else f"{seconds * 1000:g} ms"


def _draw_step_times(axes, run: PlottedRun, color, columns: int) -> None:
    warmup = len(run.rows) - len(_measured(run))
    for rows, alpha in ((run.rows[:warmup + 1], WARMUP_ALPHA), (run.rows[warmup:], 1.0)):  # joined at a step
        if len(rows):
            times, seconds = peak_envelope(rows[:, T_DONE], rows[:, T_DONE] - rows[:, T_REQUEST], columns)
            thinned = len(times) < len(rows)  # a band of lows and highs: let the runs under it show through
            axes.plot(times, seconds * 1000.0, color=rgb(color, alpha * (THINNED_ALPHA if thinned else 1.0)),
                      linewidth=LINE_WIDTH)


def _step_range(axes, runs: list[PlottedRun]) -> None:
    """From 0 to the slowest measured step: warm-up (tracing, ~50× a step) would flatten every run."""
    measured = [_measured(run) for run in runs]
    top = max((float(np.max(rows[:, T_DONE] - rows[:, T_REQUEST])) * 1000.0 for rows in measured if len(rows)),
              default=0.0)
    axes.set_ylim(0.0, (top if top > 0 else 1.0) * (1 + Y_PADDING))


def _measured(run: PlottedRun) -> np.ndarray:
    return measured_rows(run.rows, run.warmup_steps)  # as the summary counts them


def _draw_idle(axes, run: PlottedRun, color, window_s: float) -> None:
    edges, idle = idle_per_window(run.rows, window_s)
    if len(idle):  # each window's share held across the whole window: the last value once more for its end
        axes.plot(edges, np.append(idle, idle[-1]), color=rgb(color), linewidth=LINE_WIDTH, drawstyle="steps-post")


def _draw_changes(plots, change_times, color) -> None:
    for axes in plots:
        for t in change_times:
            axes.axvline(t, color=rgb(color, 0.8), linestyle=":", linewidth=LINE_WIDTH)


def _legend(figure, runs: list[PlottedRun], size) -> None:
    """One line per run under the headline, left-aligned with the plots."""
    handles = [Line2D([], [], color=rgb(RUN_COLORS[index % len(RUN_COLORS)]), linewidth=3 * ONE_PIXEL)
               for index in range(len(runs))]
    legend = figure.legend(handles, [run.label for run in runs], loc="upper left", frameon=False,
                           bbox_to_anchor=(LEFT_PX / size[0], 1 - (HEADLINE_PX - 4) / size[1]),
                           fontsize=TITLE_PT, handlelength=2.0, borderaxespad=0, labelspacing=0.3)
    for text in legend.get_texts():
        text.set_parse_math(False)  # a '$' in a name or folder is just a '$'
