"""The timeline plots: fill level, step time split into wait and compute, and the
accelerator's busy/idle timeline, on one shared time axis.

`TimelinePlots.show_rows()` takes step records (see core.records) and calls
setData once per curve; the live app calls it from a timer with the visible
window only, and `render_timeline_png` uses the same widget for timeline.png.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from core.records import FILL, T_DONE, T_READY, T_REQUEST, derived

WAIT_COLOR = (230, 120, 40)
COMPUTE_COLOR = (60, 120, 220)
BUSY_COLOR = (70, 170, 90)
IDLE_COLOR = (220, 50, 50)
MAX_PLOTTED_STEPS = 3000  # drawing more than the screen has pixels for only costs time


def visible_rows(rows: np.ndarray, x_min: float, x_max: float,
                 max_rows: int = MAX_PLOTTED_STEPS) -> tuple[np.ndarray, bool]:
    """Rows overlapping [x_min, x_max], thinned to about max_rows keeping each chunk's peaks;
    and whether they were thinned."""
    if len(rows) == 0:
        return rows, False
    first = max(0, int(np.searchsorted(rows[:, T_DONE], x_min)) - 1)
    last = min(len(rows), int(np.searchsorted(rows[:, T_REQUEST], x_max)) + 1)
    part = rows[first:last]
    return thin_keeping_peaks(part, max_rows), len(part) > max_rows


def thin_keeping_peaks(rows: np.ndarray, max_rows: int) -> np.ndarray:
    """Per chunk of steps, keep the one that waited longest and the one that computed longest."""
    if len(rows) <= max_rows:
        return rows
    chunk = int(np.ceil(len(rows) / (max_rows / 2)))
    usable = len(rows) // chunk * chunk
    wait = (rows[:usable, T_READY] - rows[:usable, T_REQUEST]).reshape(-1, chunk)
    compute = (rows[:usable, T_DONE] - rows[:usable, T_READY]).reshape(-1, chunk)
    offsets = np.arange(0, usable, chunk)
    keep = np.union1d(offsets + wait.argmax(axis=1), offsets + compute.argmax(axis=1))
    keep = np.concatenate((keep, np.arange(usable, len(rows))))
    return rows[keep]


def interval_outline(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points tracing boxes of height 1 over [start, end] intervals (for filled curves)."""
    x = np.empty(4 * len(starts))
    y = np.zeros(4 * len(starts))
    x[0::4], x[1::4], x[2::4], x[3::4] = starts, starts, ends, ends
    y[1::4], y[2::4] = 1.0, 1.0
    return x, y


def _curve(plot, color, name, outline=True):
    # Interval boxes get no outline: a 1-pixel edge would make sub-pixel gaps look wide.
    pen = pg.mkPen(color=color, width=1) if outline else None
    # An opaque, lightened fill: blending a translucent one costs the raster engine most of a frame.
    light = tuple(int(c + (255 - c) * 0.45) for c in color)
    curve = plot.plot(pen=pen, fillLevel=0, brush=pg.mkBrush(*light), name=name)
    if outline:
        # Peak downsampling of interval boxes would cut false gaps into them; the caller thins those.
        curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


class TimelinePlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.fill_plot = self.addPlot(row=0, col=0, title="Queue / prefetch fill")
        self.step_plot = self.addPlot(row=1, col=0, title="Step time: waiting for input vs compute")
        self.timeline_plot = self.addPlot(row=2, col=0, title="Accelerator: busy and idle")
        for plot in (self.fill_plot, self.step_plot, self.timeline_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(56)  # equal widths keep the shared time axes aligned
            plot.addLegend(offset=(-10, 5), brush=pg.mkBrush(255, 255, 255, 220))
        self.fill_plot.setLabel("left", "elements")
        self.step_plot.setLabel("left", "ms")
        self.timeline_plot.setLabel("bottom", "time since start", units="s")
        self.timeline_plot.setYRange(0, 1.05)
        self.timeline_plot.getAxis("left").setTicks([[(0, ""), (1, "")]])
        for plot in (self.fill_plot, self.step_plot):
            plot.setXLink(self.timeline_plot)
        self.fill_curve = _curve(self.fill_plot, WAIT_COLOR, "fill")
        self.capacity_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((120, 120, 120), style=2))
        self.fill_plot.addItem(self.capacity_line)
        self.step_curve = _curve(self.step_plot, COMPUTE_COLOR, "compute")
        self.wait_curve = _curve(self.step_plot, WAIT_COLOR, "waiting")
        self.busy_curve = _curve(self.timeline_plot, BUSY_COLOR, "busy", outline=False)
        self.idle_curve = _curve(self.timeline_plot, IDLE_COLOR, "idle (waiting)", outline=False)
        self._change_lines: list = []
        self._change_times: tuple = ()

    def show_rows(self, rows: np.ndarray, capacity=None, change_times=(), x_range=None, thinned=False) -> None:
        """Draw these step records (already cut to what should be visible) over `x_range` seconds.

        `thinned` rows are a sample: the busy band is then drawn whole under the sampled idle gaps.
        """
        if len(rows) == 0:
            for curve in (self.fill_curve, self.step_curve, self.wait_curve, self.busy_curve, self.idle_curve):
                curve.setData([], [])
            return
        timings = derived(rows)
        t_request, t_ready, t_done = rows[:, T_REQUEST], rows[:, T_READY], rows[:, T_DONE]
        self.fill_curve.setData(t_request, rows[:, FILL], stepMode=None)
        # Stacked: waiting below, compute on top (a rebuild gap between steps is neither).
        self.step_curve.setData(t_done, timings["wait_ms"] + timings["compute_ms"])
        self.wait_curve.setData(t_done, timings["wait_ms"])
        if thinned:
            self.busy_curve.setData(*interval_outline(t_request[:1], t_done[-1:]))
        else:
            self.busy_curve.setData(*interval_outline(t_ready, t_done))
        self.idle_curve.setData(*interval_outline(t_request, t_ready))
        self.capacity_line.setVisible(bool(capacity))
        if capacity:
            self.capacity_line.setValue(capacity)
        self._show_changes(change_times)
        if x_range is not None:
            self.timeline_plot.setXRange(*x_range, padding=0)
        for plot in (self.fill_plot, self.step_plot):
            plot.enableAutoRange(axis="y")

    def _show_changes(self, change_times) -> None:
        if tuple(change_times) == self._change_times:
            return  # called at every live tick: only rebuild the markers when a change arrived
        self._change_times = tuple(change_times)
        for line in self._change_lines:
            self.timeline_plot.removeItem(line)
        self._change_lines = []
        for t in change_times:
            line = pg.InfiniteLine(pos=t, angle=90, pen=pg.mkPen((140, 60, 200), width=1, style=3))
            self.timeline_plot.addItem(line)
            self._change_lines.append(line)


def render_timeline_png(path, rows: np.ndarray, capacity=None, change_times=(), title: str = "",
                        size=(1400, 900)) -> None:
    """Write timeline.png: the app's plots rendered offscreen."""
    from PyQt5 import QtCore

    from gui.qt_app import ensure_qapp

    app = ensure_qapp(offscreen=True)
    plots = TimelinePlots()
    plots.setAttribute(QtCore.Qt.WA_DontShowOnScreen, True)
    plots.resize(*size)
    plots.show()
    if title:
        plots.fill_plot.setTitle(f"{title} — queue / prefetch fill")
    end = float(rows[-1, T_DONE]) if len(rows) else 1.0
    shown, thinned = visible_rows(rows, 0.0, end)
    plots.show_rows(shown, capacity, change_times, x_range=(0.0, end), thinned=thinned)
    app.processEvents()
    try:
        if not plots.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: cannot write PNG")
    finally:
        plots.close()
        plots.deleteLater()
