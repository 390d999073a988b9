"""The A/B plots: runs overlaid on one time axis, each in its own colour, as compare.png draws them.

Each run is on its own clock, which starts at its first step, so the runs line up at t = 0. Top: each
step's time (request to done) drawn where the step began, thinned to the steps that waited or computed
longest (gui.plots.thin_keeping_peaks); warm-up steps faded and left out of the y range. Bottom: the
accelerator's idle share per window of the run (core.analysis.idle_share, the very curve compare.png
has). What-if changes are dotted lines in their run's colour.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg

from core.analysis.idle_share import idle_per_window, idle_window_s, run_end_s
from core.analysis.metrics import measured_rows
from core.outputs.palette import RUN_COLORS
from core.spec.records import T_DONE, T_REQUEST
from gui.plots import MAX_PLOTTED_STEPS, thin_keeping_peaks

LINE_WIDTH = 1.5  # a little heavier than the live plots': curves cross each other here
WARMUP_ALPHA = 70
EMPTY_X_RANGE = (0.0, 10.0)
AXIS_WIDTH = 56  # equal widths keep the two plots' time axes aligned


@dataclass
class OverlaidRun:
    label: str  # the legend's name for it: `#3 whatif`
    rows: np.ndarray  # its step records, on its own clock
    warmup_steps: int = 0
    change_times: list = field(default_factory=list)  # seconds since its start


def run_color(index: int) -> tuple:
    return RUN_COLORS[index % len(RUN_COLORS)]


def _duration(seconds: float) -> str:
    return f"{seconds:g} s" if seconds >= 1 else f"{seconds * 1000:g} ms"


class OverlayPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(360, 300)
        self.step_plot = self.addPlot(row=0, col=0, title="Step time, request to done (warm-up faded)")
        self.idle_plot = self.addPlot(row=1, col=0)
        for plot in (self.step_plot, self.idle_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.titleLabel.setMinimumWidth(0)  # a title's text would set the window's narrowest width
        self.step_plot.setXLink(self.idle_plot)
        self.step_plot.setLabel("left", "ms")
        self.idle_plot.setLabel("bottom", "time since the run's first step", units="s")
        self.idle_plot.getAxis("left").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")], [(0.25, ""), (0.75, "")]])
        self.step_curves: list[pg.PlotDataItem] = []  # per run, in the order given
        self.warmup_curves: list[pg.PlotDataItem] = []
        self.idle_curves: list[pg.PlotDataItem] = []
        self.window_s = idle_window_s(0.0, 1)
        self._set_idle_title()
        self.show_runs([])

    def show_runs(self, runs: list[OverlaidRun]) -> None:
        """Draw these runs, the first in RUN_COLORS' first colour; an empty list clears the plots."""
        for plot in (self.step_plot, self.idle_plot):
            plot.clear()
        self.step_curves, self.warmup_curves, self.idle_curves = [], [], []
        end = max((run_end_s(run.rows) for run in runs), default=0.0)
        self.window_s = idle_window_s(end, max(200, int(self.idle_plot.getViewBox().width())))
        self._set_idle_title()
        for index, run in enumerate(runs):
            self._draw_run(run, run_color(index))
        self.idle_plot.setYRange(0.0, 1.0, padding=0.08)  # with a grid, pyqtgraph drops labels crossing the edge
        self.idle_plot.setXRange(*((0.0, end) if end > 0 else EMPTY_X_RANGE), padding=0.01)
        self.step_plot.setYRange(0.0, _slowest_measured_ms(runs) or 1.0, padding=0.08)  # from 0, as compare.png's

    def _set_idle_title(self) -> None:
        self.idle_plot.setTitle(f"Accelerator idle: its share of each {_duration(self.window_s)} spent waiting "
                                "for input")

    def _draw_run(self, run: OverlaidRun, color: tuple) -> None:
        warmup = len(run.rows) - len(measured_rows(run.rows, run.warmup_steps))  # as the summary counts them
        measured, warming = run.rows[warmup:], run.rows[:warmup + 1]  # joined at a step, as compare.png's
        self.step_curves.append(self._step_curve(measured, pg.mkPen(color=color, width=LINE_WIDTH), run.label))
        self.warmup_curves.append(self._step_curve(warming, pg.mkPen(color=(*color, WARMUP_ALPHA), width=1),
                                                   None, ignore_bounds=True))  # tracing would flatten every run
        edges, idle = idle_per_window(run.rows, self.window_s)
        idle_curve = pg.PlotDataItem(edges, idle, stepMode="center", pen=pg.mkPen(color=color, width=LINE_WIDTH))
        self.idle_plot.addItem(idle_curve)
        self.idle_curves.append(idle_curve)
        for t in run.change_times:
            for plot in (self.step_plot, self.idle_plot):
                plot.addItem(pg.InfiniteLine(pos=t, angle=90, movable=False,
                                             pen=pg.mkPen(color=color, width=1, style=3)), ignoreBounds=True)

    def _step_curve(self, rows: np.ndarray, pen, name, ignore_bounds: bool = False) -> pg.PlotDataItem:
        shown = thin_keeping_peaks(rows, MAX_PLOTTED_STEPS)
        curve = pg.PlotDataItem(shown[:, T_REQUEST], (shown[:, T_DONE] - shown[:, T_REQUEST]) * 1000.0,
                                pen=pen, name=name)
        # No clipToView: these curves are removed when other runs are compared, and pyqtgraph's clipping then
        # asks the widget, no longer a ViewBox, for its range. Thinned, a run is a few thousand points.
        self.step_plot.addItem(curve, ignoreBounds=ignore_bounds)
        return curve


def _slowest_measured_ms(runs: list[OverlaidRun]) -> float:
    """The longest step after warm-up of any run: the top of the step plot (tracing would flatten the rest)."""
    measured = [measured_rows(run.rows, run.warmup_steps) for run in runs]
    return max((float(np.max(rows[:, T_DONE] - rows[:, T_REQUEST])) * 1000.0 for rows in measured if len(rows)),
               default=0.0)
