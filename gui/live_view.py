"""The plots of the run history's current run: pulls new step records on a timer and draws the visible window.

The main window hands it the history's current entry (`show_entry`). While
that run goes, this view pulls its new rows (into the entry's own copy) at
10 Hz and re-plots only what is visible (a scrolling
window of the last seconds while following, else the zoomed range), thinned to
a few thousand steps while keeping each stretch's longest wait and compute.
At 2 Hz it refreshes the blocks' live figures, and the running summary and the figures per configuration
(before and after each what-if change; the main window shows both in a dock of
their own, so the plots keep the window's width; less often once a long run's take longer:
`SUMMARY_SHARE`), or the reason core gives for the live figures' absence (a line of the summary).
"""
from __future__ import annotations

import time
from typing import Optional

from PyQt5 import QtCore, QtWidgets

from core.analysis.segments import segments
from core.engine.outcome import RunStatus
from core.spec.records import T_DONE, StepRecords
from gui.plots import TimelinePlots, visible_rows, warmup_end_time
from gui.segments_table import SegmentsTable
from gui.summary_panel import SummaryPanel

PLOT_HZ = 10
SLOW_HZ = 2
SUMMARY_SHARE = 0.05
WINDOWS_S = {"2 s": 2.0, "5 s": 5.0, "10 s": 10.0, "30 s": 30.0, "60 s": 60.0, "whole run": None}


class LiveView(QtWidgets.QWidget):
    stage_figures = QtCore.pyqtSignal(dict)
    figures_updated = QtCore.pyqtSignal(dict)  # the summary shown was refreshed: the status line follows it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots = TimelinePlots()
        self.summary = SummaryPanel()
        self.segments = SegmentsTable()  # the main window places it under the summary
        self.window_combo = QtWidgets.QComboBox()
        self.window_combo.addItems(list(WINDOWS_S))
        self.window_combo.setCurrentText("10 s")
        self.window_combo.setToolTip("Width of the scrolling time window while following the run")
        self.window_combo.activated.connect(lambda _i: self.follow_check.setChecked(True))
        self.follow_check = QtWidgets.QCheckBox("Follow")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Scroll with the run; zooming or panning a plot turns this off")
        self.follow_check.toggled.connect(lambda _on: self.redraw())
        self._build_layout()
        self.entry = None  # the history's entry shown; `run` is its run, `buffer` its pulled steps
        self.buffer = StepRecords()
        self.run = None
        self.capacity = None
        self._drawing = False
        self._draw_times: list[float] = []
        self._summary_due = 0.0  # perf_counter time the running summary is next refreshed
        self.plot_timer = self._timer("pipescope-plots", 1000 // PLOT_HZ, self._tick)
        self.slow_timer = self._timer("pipescope-summary", 1000 // SLOW_HZ, self._slow_tick)
        for plot in self.plots.plots():
            plot.getViewBox().sigRangeChangedManually.connect(self._zoomed_by_user)
        self.plots.timeline_plot.sigXRangeChanged.connect(self._range_changed)

    def _build_layout(self) -> None:
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(6, 2, 6, 0)
        controls.addWidget(QtWidgets.QLabel("Window"))
        controls.addWidget(self.window_combo)
        controls.addWidget(self.follow_check)
        controls.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.plots, 1)

    def _timer(self, name: str, interval_ms: int, callback) -> QtCore.QTimer:
        timer = QtCore.QTimer(self)
        timer.setObjectName(name)
        timer.setInterval(interval_ms)
        timer.timeout.connect(callback)
        return timer

    # ------------------------------------------------------------ a run's life

    def show_entry(self, entry) -> None:
        """Show a run of the history: followed while it goes, whole once it has ended; None shows none."""
        self.clear()
        if entry is None:
            return
        self.entry, self.run, self.buffer = entry, entry.run, entry.steps
        self.plots.frame_times.reset()
        if entry.ended:  # a run recorded on disk, or one picked again from the history
            self.finish()
            self._show_stage_figures()  # as they were at its end
            return
        self.plot_timer.start()
        self.slow_timer.start()

    def clear(self) -> None:
        """Forget the shown run (another pipeline was loaded): empty plots, figures and badges."""
        self.plot_timer.stop()
        self.slow_timer.stop()
        self._forget_run()

    def _forget_run(self) -> None:
        self.entry = self.run = None
        self._summary_due = 0.0
        self.buffer = StepRecords()
        self.capacity = None
        self.summary.clear()
        self.segments.clear_segments()
        self.follow_check.setChecked(True)
        self.plots.show_rows(self.buffer.rows())
        self.stage_figures.emit({})

    def finish(self) -> None:
        """The run ended: stop pulling, draw the whole run once, final figures."""
        self.plot_timer.stop()
        self.slow_timer.stop()
        if self.run is None:
            return
        self._pull()
        self.follow_check.setChecked(False)
        end = float(self.buffer.rows()[-1, T_DONE]) if len(self.buffer) else 1.0
        self.redraw(x_range=(0.0, end))
        self._update_summary()  # the blocks keep their last live figures until the next run

    @property
    def running(self) -> bool:
        return self.plot_timer.isActive()

    # ------------------------------------------------------------ drawing

    def _pull(self) -> int:
        self.capacity = self.run.capacity
        return self.entry.pull()

    def _tick(self) -> None:
        started = time.perf_counter()
        pulled = self._pull()
        self.plots.frame_times.add_data_work(time.perf_counter() - started)
        # Nothing new, nothing to paint: the CPU is the run's. A change is new (a stalled run shows it too).
        if pulled or len(self.run.outcome.changes) != len(self.plots.changes_shown):
            self.redraw()

    def follow_range(self) -> tuple[float, float]:
        end = float(self.buffer.rows()[-1, T_DONE]) if len(self.buffer) else 0.0
        width = WINDOWS_S[self.window_combo.currentText()]
        if width is None:
            return 0.0, max(end, 1.0)
        return max(0.0, end - width), max(end, width)

    def redraw(self, x_range: Optional[tuple] = None) -> None:
        if self._drawing:
            return
        if x_range is None:
            x_range = self.follow_range() if self.follow_check.isChecked() else \
                tuple(self.plots.timeline_plot.getViewBox().viewRange()[0])
        self._drawing = True
        try:
            rows = visible_rows(self.buffer.rows(), *x_range)
            changes = [(change.t, change.description) for change in self.run.outcome.changes] if self.run else []
            self.plots.show_rows(rows, self.capacity, changes, x_range=x_range, warmup_end=self._warmup_end())
        finally:
            self._drawing = False
        now = time.perf_counter()
        self._draw_times = [t for t in self._draw_times if now - t < 1.0] + [now]

    def _warmup_end(self):
        warmup_steps = self.run.spec.run["warmup_steps"] if self.run is not None else 0
        return warmup_end_time(self.buffer.rows(), warmup_steps)

    def _zoomed_by_user(self, *_args) -> None:
        self.follow_check.setChecked(False)

    def _range_changed(self, *_args) -> None:
        if not self._drawing and not (self.running and self.follow_check.isChecked()):
            self.redraw()  # zooming after (or while not following) a run shows the steps now in view

    # ------------------------------------------------------------ slower figures

    def _slow_tick(self) -> None:
        started = time.perf_counter()
        if started >= self._summary_due:
            self._update_summary()
            # The figures are over every step so far: a long run's take longer, so they come less often,
            # never taking more than SUMMARY_SHARE of the GUI thread, whose Python holds the GIL the run needs.
            self._summary_due = started + (time.perf_counter() - started) / SUMMARY_SHARE
        if self.run is not None and self.run.outcome.status is RunStatus.RUNNING:
            self._show_stage_figures()

    def _show_stage_figures(self) -> None:
        latest = self.run.stage_records.latest()  # the run's probes sampled them: no TensorFlow here
        self.stage_figures.emit(latest.figures)
        self.summary.show_stage_figures(latest.unavailable, latest.partial, bool(latest.figures))

    def _update_summary(self) -> None:
        if self.run is None:
            return
        rows = self.buffer.rows()
        self.summary.show_run(self.run, rows, len(self._draw_times))
        self._update_segments(rows)
        self.figures_updated.emit(self.summary.latest)

    def _update_segments(self, rows) -> None:
        # NumPy over the pulled rows: about 11 ms for 100,000 steps here, so at 2 Hz it can redo them all.
        descriptions = {change.version: change.description for change in self.run.outcome.changes}
        self.segments.show_segments(segments(rows, self.run.spec.run["warmup_steps"], self.capacity, descriptions))
