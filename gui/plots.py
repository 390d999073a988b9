"""The timeline plots: fill level, step time split into wait and compute, and the
accelerator's busy/idle timeline, on one shared time axis.

`TimelinePlots.show_rows()` takes step records (see core.spec.records) and calls
setData once per curve; the live app calls it from a timer with the visible
window only. timeline.png is drawn alike, without Qt, by core.outputs.timeline.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from core.spec.records import FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST
from core.outputs.busy_band import band_image
from core.outputs.palette import (BUSY_COLOR, CAPACITY_COLOR, CHANGE_COLOR, COMPUTE_COLOR, IDLE_COLOR,
                                  TRANSFER_COLOR, WAIT_COLOR, WARMUP_COLOR)
from gui.change_labels import short_change
from gui.lag_monitor import FrameTimes

MAX_PLOTTED_STEPS = 3000  # drawing more than the screen has pixels for only costs time
LABEL_BAND = 0.36  # the top plot's share kept above the fill for the change markers' labels
LABEL_ROWS = 2
LABEL_FONT_SCALE = 0.85  # of the app's font: two rows of labels fit the band of a laptop-sized plot
EMPTY_X_RANGE = (0.0, 10.0)
HINTS = (
    "how full the queue or prefetch buffer is at each step; near zero, input cannot keep up.",
    "each step's time and the part spent waiting for input; warm-up steps grey, left out of the figures.",
    "the accelerator's share of time idle, waiting (red), and busy (green). Wheel to zoom, drag to pan.",
)


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


def _curve(plot, color, name, filled=False, ignore_bounds=False):
    # Fills are drawn only where they carry meaning: each one roughly doubles a frame's paint
    # time, and on a 2-core machine the GUI's paint time is taken from the training it watches.
    brush = pg.mkBrush(*(int(c + (255 - c) * 0.45) for c in color)) if filled else None
    curve = pg.PlotDataItem(pen=pg.mkPen(color=color, width=1), fillLevel=0 if filled else None, brush=brush,
                            name=name)
    plot.addItem(curve, ignoreBounds=ignore_bounds)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


def _colored(text: str, color) -> str:
    return f"<span style='color: rgb{tuple(color)}'>{text}</span>"


def _let_shrink(label: pg.LabelItem) -> None:
    """A label's text sets its minimum width, which on a narrow window pushed the plots out of view."""
    label.setMinimumWidth(0)


class TimelinePlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumSize(320, 330)  # below this the three plots' axes leave no room for data
        self.headline = pg.LabelItem("", size="10pt", bold=True, color="#202020")  # in the layout only when set
        # Colour-keyed titles instead of legends: a legend box hides the newest steps.
        self.fill_plot = self.addPlot(row=1, col=0)
        self.step_plot = self.addPlot(row=2, col=0, title=(
            f"Step time: {_colored('waiting', WAIT_COLOR)}, {_colored('copy', TRANSFER_COLOR)}, "
            f"{_colored('whole step', COMPUTE_COLOR)}; "
            f"{_colored('warm-up', WARMUP_COLOR)}"))
        self.timeline_plot = self.addPlot(row=3, col=0, title=(
            f"Accelerator: {_colored('idle, waiting', IDLE_COLOR)} under {_colored('busy', BUSY_COLOR)}"))
        _let_shrink(self.step_plot.titleLabel)
        _let_shrink(self.timeline_plot.titleLabel)
        self.set_title("")
        self._set_up_axes()
        self.fill_curve = _curve(self.fill_plot, WAIT_COLOR, "fill")
        self.capacity_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(CAPACITY_COLOR, style=2))
        self.fill_plot.addItem(self.capacity_line)
        self.step_curve = _curve(self.step_plot, COMPUTE_COLOR, "step (waiting + compute)")
        self.wait_curve = _curve(self.step_plot, WAIT_COLOR, "waiting: input + copy to device", filled=True)
        # A line, not a third fill (each fill costs paint time); about 0 on the CPU.
        self.transfer_curve = _curve(self.step_plot, TRANSFER_COLOR, "copy to device")
        # Warm-up steps (tracing: ~370 ms against ~25 ms) are shown but would flatten every other step.
        self.warmup_curve = _curve(self.step_plot, WARMUP_COLOR, "warm-up", ignore_bounds=True)
        self.warmup_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*WARMUP_COLOR, 40),
                                                 pen=pg.mkPen(None))
        self.step_plot.addItem(self.warmup_region, ignoreBounds=True)
        # The busy/idle band is an image: filling thousands of boxes as polygons cost ~150 ms
        # a frame, an image costs well under one.
        self.timeline_image = pg.ImageItem(axisOrder="row-major")
        self.timeline_plot.addItem(self.timeline_image)
        self.hint = QtWidgets.QLabel(self)  # over the empty plots: what to do first, what each will show
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("background: rgba(250, 250, 250, 235); color: #333; padding: 8px; "
                                "border: 1px solid #bbb; border-radius: 6px;")
        self._first_step = ""
        self._show_hint_text()
        self._change_markers: list = []  # (plot, line) for each change on each plot
        self._changes: tuple = ()
        self.frame_times = FrameTimes()
        self._show_empty()

    def plots(self) -> tuple:
        return self.fill_plot, self.step_plot, self.timeline_plot

    def _set_up_axes(self) -> None:
        for plot in self.plots():
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(56)  # equal widths keep the shared time axes aligned
        self.fill_plot.setLabel("left", "elements")
        self.step_plot.setLabel("left", "ms")
        self.timeline_plot.setLabel("bottom", "time since start", units="s")
        self.timeline_plot.setYRange(0, 1.0, padding=0.02)
        self.timeline_plot.getAxis("left").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")]])
        for plot in (self.fill_plot, self.step_plot):
            plot.setXLink(self.timeline_plot)

    def set_title(self, pipeline_name: str) -> None:
        prefix = f"{pipeline_name} — " if pipeline_name else ""
        self.fill_plot.setTitle(f"{prefix}{_colored('queue / prefetch fill', WAIT_COLOR)} and capacity (dashed)")
        _let_shrink(self.fill_plot.titleLabel)

    def set_headline(self, text: str) -> None:
        """A bold line above the plots (exports carry the pipeline's name and figures); "" removes it."""
        in_layout = self.headline in self.ci.items
        if text and not in_layout:
            self.ci.addItem(self.headline, row=0, col=0)
        elif not text and in_layout:
            self.ci.removeItem(self.headline)
        self.headline.setText(text)
        _let_shrink(self.headline)

    def set_first_step(self, text: str) -> None:
        """What to do first, shown over the empty plots above what each will show."""
        self._first_step = text
        self._show_hint_text()

    def _show_hint_text(self) -> None:
        first = f"<p><b>{self._first_step}</b></p>" if self._first_step else ""
        plots = "".join(f"<p><b>{where}:</b> {text}</p>" for where, text in zip(("Top", "Middle", "Bottom"), HINTS))
        self.hint.setText(first + plots)
        self._place_hint()

    def _place_hint(self) -> None:
        width = min(560, self.width() - 90)
        height = min(self.hint.heightForWidth(width), self.height() - 20)
        self.hint.setGeometry((self.width() - width) // 2 + 28, (self.height() - height) // 2, width, height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if hasattr(self, "hint"):  # pyqtgraph resizes once from its own constructor
            self._place_hint()

    def paintEvent(self, event) -> None:
        started = time.perf_counter()
        super().paintEvent(event)
        self.frame_times.add_paint(time.perf_counter() - started)

    def show_rows(self, rows: np.ndarray, capacity=None, changes=(), x_range=None,
                  warmup_end=None) -> None:
        """Draw these step records over `x_range` seconds; steps done by `warmup_end` are warm-up;
        `changes` are the run's what-if changes as (seconds since the start, description)."""
        started = time.perf_counter()
        try:
            self._show_rows(rows, capacity, changes, x_range, warmup_end)
        finally:
            self.frame_times.add_data_work(time.perf_counter() - started)

    def _show_rows(self, rows, capacity, changes, x_range, warmup_end) -> None:
        if len(rows) == 0:
            self._show_empty()
            return
        self.hint.hide()
        if x_range is None:
            x_range = (float(rows[0, T_REQUEST]), float(rows[-1, T_DONE]))
        sampled = thin_keeping_peaks(rows, MAX_PLOTTED_STEPS)
        self.fill_curve.setData(sampled[:, T_REQUEST], sampled[:, FILL])
        warm = sampled[:, T_DONE] <= warmup_end if warmup_end is not None else np.zeros(len(sampled), bool)
        self._show_step_times(sampled[~warm], sampled[warm])
        self._show_timeline(rows, x_range)
        self.capacity_line.setVisible(bool(capacity))
        if capacity:
            self.capacity_line.setValue(capacity)
        self._show_changes(changes)
        self.timeline_plot.setXRange(*x_range, padding=0)
        self.step_plot.enableAutoRange(axis="y")
        if self._change_markers:  # the labels get a band of their own above the fill, so they cover none of it
            top = max(float(sampled[:, FILL].max()), float(capacity or 0), 1.0)
            self.fill_plot.setYRange(0, top / (1.0 - LABEL_BAND), padding=0)
        else:
            self.fill_plot.enableAutoRange(axis="y")

    def _show_step_times(self, measured: np.ndarray, warmup: np.ndarray) -> None:
        # Waiting under the whole step (the runner's own time between steps, and a rebuild there,
        # is neither: summary.json has it as between_ms); the copy to the device as its own line.
        ends = measured[:, T_DONE]
        self.step_curve.setData(ends, (ends - measured[:, T_REQUEST]) * 1000.0)
        self.wait_curve.setData(ends, (measured[:, T_READY] - measured[:, T_REQUEST]) * 1000.0)
        self.transfer_curve.setData(ends, (measured[:, T_READY] - measured[:, T_FETCHED]) * 1000.0)
        self.warmup_curve.setData(warmup[:, T_DONE], (warmup[:, T_DONE] - warmup[:, T_REQUEST]) * 1000.0)
        self.warmup_region.setVisible(len(warmup) > 0)
        if len(warmup):
            self.warmup_region.setRegion((float(warmup[0, T_REQUEST]), float(warmup[-1, T_DONE])))

    def _show_empty(self) -> None:
        """No steps yet: readable axes (not pyqtgraph's −0.4…0.4) and what to do first."""
        for curve in (self.fill_curve, self.step_curve, self.wait_curve, self.transfer_curve, self.warmup_curve):
            curve.setData([], [])
        self.timeline_image.clear()
        self.capacity_line.setVisible(False)
        self.warmup_region.setVisible(False)
        self._show_changes(())
        self.timeline_plot.setXRange(*EMPTY_X_RANGE, padding=0)
        self.fill_plot.setYRange(0, 8, padding=0)
        self.step_plot.setYRange(0, 20, padding=0)
        self.hint.show()

    def _show_timeline(self, rows: np.ndarray, x_range) -> None:
        x_min, x_max = x_range
        if x_max <= x_min:
            return
        pixels = max(64, int(self.timeline_plot.getViewBox().width()))
        self.timeline_image.setImage(band_image(rows, x_min, x_max, pixels), autoLevels=False, levels=(0, 255))
        self.timeline_image.setRect(QtCore.QRectF(x_min, 0.0, x_max - x_min, 1.0))

    @property
    def changes_shown(self) -> tuple:
        """The (time, description) of each change marked on the plots."""
        return self._changes

    def _show_changes(self, changes) -> None:
        changes = tuple(changes)
        if changes == self._changes:
            return  # called at every live tick: only rebuild the markers when a change arrived
        self._changes = changes
        for plot, marker in self._change_markers:
            plot.removeItem(marker)
        self._change_markers = []
        for index, (t, description) in enumerate(changes):
            for plot in self.plots():
                marker = _change_marker(t, description, label_row=index % LABEL_ROWS if plot is self.fill_plot
                                        else None)
                plot.addItem(marker)
                self._change_markers.append((plot, marker))


def _change_marker(t: float, description: str, label_row=None) -> pg.InfiniteLine:
    """A dotted line at a change; labelled (on the top plot) in one of the rows of the label band, so
    the labels of changes close in time take turns instead of covering each other."""
    pen = pg.mkPen(CHANGE_COLOR, width=1, style=3)
    if label_row is None:
        marker = pg.InfiniteLine(pos=t, angle=90, movable=False, pen=pen)
    else:
        text = short_change(description).replace("{", "{{").replace("}", "}}")  # the label formats {value}
        position = 1.0 - (label_row + 0.5) * LABEL_BAND / LABEL_ROWS
        marker = pg.InfiniteLine(pos=t, angle=90, movable=False, pen=pen, label=text, labelOpts={
            "position": position, "color": CHANGE_COLOR, "fill": pg.mkBrush(255, 255, 255, 210)})
        font = marker.label.textItem.font()
        font.setPointSizeF(max(8.0, font.pointSizeF() * LABEL_FONT_SCALE))
        marker.label.setFont(font)
        marker.label.setToolTip(description)
    marker.setToolTip(description)
    return marker


def warmup_end_time(rows: np.ndarray, warmup_steps: int):
    """When the run's last warm-up step ended (None without warm-up steps recorded)."""
    if warmup_steps <= 0 or len(rows) == 0:
        return None
    return float(rows[min(warmup_steps, len(rows)) - 1, T_DONE])
