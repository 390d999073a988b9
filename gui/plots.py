"""The timeline plots: fill level, step time split into wait and compute, and the
accelerator's busy/idle timeline, on one shared time axis.

`TimelinePlots.show_rows()` takes step records (see core.records) and calls
setData once per curve; the live app calls it from a timer with the visible
window only, and `render_timeline_png` uses the same widget for timeline.png.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore

from core.records import FILL, T_DONE, T_READY, T_REQUEST, derived

WAIT_COLOR = (230, 120, 40)
COMPUTE_COLOR = (60, 120, 220)
BUSY_COLOR = (70, 170, 90)
IDLE_COLOR = (220, 50, 50)
MAX_PLOTTED_STEPS = 3000  # drawing more than the screen has pixels for only costs time
IDLE_TINT_POWER = 0.7  # < 1 tints pixels with short gaps more than their share, so they show


def visible_rows(rows: np.ndarray, x_min: float, x_max: float) -> np.ndarray:
    """The rows of steps overlapping [x_min, x_max] seconds (a view, not a copy)."""
    if len(rows) == 0:
        return rows
    first = max(0, int(np.searchsorted(rows[:, T_DONE], x_min)) - 1)
    last = min(len(rows), int(np.searchsorted(rows[:, T_REQUEST], x_max)) + 1)
    return rows[first:last]


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


def busy_idle_per_pixel(rows: np.ndarray, x_min: float, x_max: float, pixels: int):
    """Fractions of each pixel column's time the accelerator was busy and idle-waiting.

    Exact at any zoom: cumulative busy and idle time are piecewise linear in t, so each
    column's share is a difference of two interpolations over all visible steps.
    """
    t_request, t_ready, t_done = rows[:, T_REQUEST], rows[:, T_READY], rows[:, T_DONE]
    times = np.column_stack((t_request, t_ready, t_done)).ravel()
    wait, compute = t_ready - t_request, t_done - t_ready
    idle_before = np.concatenate(([0.0], np.cumsum(wait)[:-1]))
    busy_before = np.concatenate(([0.0], np.cumsum(compute)[:-1]))
    cumulative_idle = np.column_stack((idle_before, idle_before + wait, idle_before + wait)).ravel()
    cumulative_busy = np.column_stack((busy_before, busy_before, busy_before + compute)).ravel()
    edges = np.linspace(x_min, x_max, pixels + 1)
    width = (x_max - x_min) / pixels
    idle = np.diff(np.interp(edges, times, cumulative_idle)) / width
    busy = np.diff(np.interp(edges, times, cumulative_busy)) / width
    return np.clip(busy, 0.0, 1.0), np.clip(idle, 0.0, 1.0)


def timeline_colors(busy: np.ndarray, idle: np.ndarray) -> np.ndarray:
    """RGB per pixel: green where busy, red where waiting; any idle gap stays visible."""
    highlighted = idle ** IDLE_TINT_POWER
    busy = np.minimum(busy, 1.0 - highlighted)
    white = 1.0 - busy - highlighted
    rgb = (white[:, None] * 255.0 + busy[:, None] * np.array(BUSY_COLOR)
           + highlighted[:, None] * np.array(IDLE_COLOR))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _curve(plot, color, name, filled=False):
    # Fills are drawn only where they carry meaning: each one roughly doubles a frame's paint
    # time, and on a 2-core machine the GUI's paint time is taken from the training it watches.
    brush = pg.mkBrush(*(int(c + (255 - c) * 0.45) for c in color)) if filled else None
    curve = plot.plot(pen=pg.mkPen(color=color, width=1), fillLevel=0 if filled else None, brush=brush,
                      name=name)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


def _colored(text: str, color) -> str:
    return f"<span style='color: rgb{tuple(color)}'>{text}</span>"


class TimelinePlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        # Colour-keyed titles instead of legends: a legend box hides the newest steps.
        self.fill_plot = self.addPlot(row=0, col=0)
        self.step_plot = self.addPlot(row=1, col=0, title=(
            f"Step time: {_colored('waiting for input', WAIT_COLOR)} and {_colored('whole step', COMPUTE_COLOR)}"))
        self.timeline_plot = self.addPlot(row=2, col=0, title=(
            f"Accelerator: {_colored('busy', BUSY_COLOR)} and {_colored('idle, waiting for input', IDLE_COLOR)}"))
        self.set_title("")
        for plot in (self.fill_plot, self.step_plot, self.timeline_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(56)  # equal widths keep the shared time axes aligned
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
        self.step_curve = _curve(self.step_plot, COMPUTE_COLOR, "step (waiting + compute)")
        self.wait_curve = _curve(self.step_plot, WAIT_COLOR, "waiting", filled=True)
        # The busy/idle band is an image of one pixel row: filling thousands of boxes as
        # polygons cost ~150 ms a frame, an image costs well under one.
        self.timeline_image = pg.ImageItem(axisOrder="row-major")
        self.timeline_plot.addItem(self.timeline_image)
        self._change_lines: list = []
        self._change_times: tuple = ()

    def set_title(self, pipeline_name: str) -> None:
        prefix = f"{pipeline_name} — " if pipeline_name else ""
        self.fill_plot.setTitle(f"{prefix}{_colored('queue / prefetch fill', WAIT_COLOR)} against its capacity (dashed)")

    def show_rows(self, rows: np.ndarray, capacity=None, change_times=(), x_range=None) -> None:
        """Draw these step records (cut to what is visible) over `x_range` seconds."""
        if len(rows) == 0:
            for curve in (self.fill_curve, self.step_curve, self.wait_curve):
                curve.setData([], [])
            self.timeline_image.clear()
            return
        if x_range is None:
            x_range = (float(rows[0, T_REQUEST]), float(rows[-1, T_DONE]))
        sampled = thin_keeping_peaks(rows, MAX_PLOTTED_STEPS)
        timings = derived(sampled)
        self.fill_curve.setData(sampled[:, T_REQUEST], sampled[:, FILL])
        # Stacked: waiting below, compute on top (a rebuild gap between steps is neither).
        self.step_curve.setData(sampled[:, T_DONE], timings["wait_ms"] + timings["compute_ms"])
        self.wait_curve.setData(sampled[:, T_DONE], timings["wait_ms"])
        self._show_timeline(rows, x_range)
        self.capacity_line.setVisible(bool(capacity))
        if capacity:
            self.capacity_line.setValue(capacity)
        self._show_changes(change_times)
        self.timeline_plot.setXRange(*x_range, padding=0)
        for plot in (self.fill_plot, self.step_plot):
            plot.enableAutoRange(axis="y")

    def _show_timeline(self, rows: np.ndarray, x_range) -> None:
        x_min, x_max = x_range
        if x_max <= x_min:
            return
        pixels = max(64, int(self.timeline_plot.getViewBox().width()))
        colors = timeline_colors(*busy_idle_per_pixel(rows, x_min, x_max, pixels))
        self.timeline_image.setImage(colors[None, :, :], autoLevels=False, levels=(0, 255))
        self.timeline_image.setRect(QtCore.QRectF(x_min, 0.0, x_max - x_min, 1.0))

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
    from gui.qt_app import ensure_qapp

    app = ensure_qapp(offscreen=True)
    plots = TimelinePlots()
    plots.setAttribute(QtCore.Qt.WA_DontShowOnScreen, True)
    plots.resize(*size)
    plots.show()
    plots.set_title(title)
    end = float(rows[-1, T_DONE]) if len(rows) else 1.0
    plots.show_rows(visible_rows(rows, 0.0, end), capacity, change_times, x_range=(0.0, end))
    app.processEvents()
    try:
        if not plots.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: cannot write PNG")
    finally:
        plots.close()
        plots.deleteLater()
