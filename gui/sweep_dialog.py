"""The sweep dialog: pick one to three knobs and their values, run every combination, apply the best.

What can be swept, the values to start from, the combinations, their order and the best are
core.experiments.sweep's (the `sweep` command's too); this dialog only asks for the grid and shows
the results. The combinations run one after another, each on a `RunWorker` (the app's QThread for
one core Run, TensorFlow imported there); the dialog reads a run's records only to show progress,
and its figures once its thread has ended. It is window-modal, so the window starts no run of its own
beside a sweep (two at once would halve both); `is_running` says when the window's own run goes.
Cancel stops the current run at its next step and keeps the combinations already run; closing the
dialog stops it and waits for its thread (the window closes an open dialog when it closes).

Wiring it into the window (the caller owns menus and the document):

    open_sweep_dialog(window, window.document.spec(), apply_best=lambda assignments:
                      apply_to_document(window.document, assignments),
                      is_running=lambda: window.controller.running)

and call `dialog.update_enabled()` when the window's run starts or ends (gui.tuning_actions does both).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import pyqtgraph
from PyQt5 import QtCore, QtGui, QtWidgets

from core.analysis.metrics import summarize
from core.engine.outcome import RunStatus
from core.experiments.sweep import (MAX_PARAMETERS, Combination, Heatmap, Sweep, SweepKnob,
                                    build_sweep, suggested_values, sweep_base, sweepable_knobs)
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec
from gui.worker import RunWorker

Assignments = list[tuple[str, Any]]
DEFAULT_STEPS = 300  # as the `sweep` command's
PROGRESS_MS = 200
STOP_WAIT_MS = 30_000  # closing mid-run waits this long for the run's thread, then leaves it to end
NONE_CHOSEN = "(none)"
BEST_BACKGROUND = QtGui.QColor(220, 242, 220)
FAILED_BACKGROUND = QtGui.QColor(238, 238, 238)
BEST_TEXT = "★ "
FIGURE_COLUMNS = ("steps/s", "idle", "step p50", "status")
HEATMAP_CELL_WIDTH, HEATMAP_CELL_HEIGHT = 72, 34  # pixels: room for "★ 1234.5" in bold


def open_sweep_dialog(parent, spec: PipelineSpec, apply_best: Callable[[Assignments], None],
                      is_running: Callable[[], bool] = lambda: False) -> "SweepDialog":
    """Show the dialog over `parent` (window-modal, not blocking) and return it."""
    dialog = SweepDialog(spec, apply_best, is_running, parent)
    dialog.setAttribute(QtCore.Qt.WA_DeleteOnClose)
    dialog.show()
    return dialog


def apply_to_document(document, assignments: Assignments) -> None:
    """The best combination into the editor, one undoable edit per value (gui.document's `set_path`)."""
    for path, value in assignments:
        document.set_path(path, value)


class GridRow:
    """One parameter of the grid: which knob, and its values as comma text."""

    def __init__(self, knobs: list[SweepKnob], chosen: Optional[SweepKnob]):
        self.knobs = knobs
        self.choice = QtWidgets.QComboBox()
        self.choice.addItem(NONE_CHOSEN, None)
        for knob in knobs:
            self.choice.addItem(knob.label, knob.path)
            self.choice.setItemData(self.choice.count() - 1, f"{knob.path}: {knob.param.help}", QtCore.Qt.ToolTipRole)
        self.values = QtWidgets.QLineEdit()
        self.values.setPlaceholderText("values, comma-separated: 1,2,4,8")
        self.choice.currentIndexChanged.connect(self._prefill)
        if chosen is not None:
            self.choice.setCurrentIndex(knobs.index(chosen) + 1)

    @property
    def knob(self) -> Optional[SweepKnob]:
        index = self.choice.currentIndex()
        return self.knobs[index - 1] if index > 0 else None

    def _prefill(self) -> None:
        knob = self.knob
        self.values.setText(suggested_values(knob) if knob else "")
        self.values.setEnabled(knob is not None)


def default_knobs(knobs: list[SweepKnob]) -> list[SweepKnob]:
    """The first rows' knobs: parallelism (where more may help most), then buffers; at most two."""
    ranked = ([k for k in knobs if k.parallel and not k.param.optional] + [k for k in knobs if k.role == "buffer"])
    return ranked[:2] or knobs[:1]


class SweepDialog(QtWidgets.QDialog):
    sweep_finished = QtCore.pyqtSignal()  # every combination ran, or the sweep was cancelled

    def __init__(self, spec: PipelineSpec, apply_best: Callable[[Assignments], None],
                 is_running: Callable[[], bool] = lambda: False, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Sweep — {spec.name}")
        self.setWindowModality(QtCore.Qt.WindowModal)
        self.spec, self._apply_best, self._is_running = spec, apply_best, is_running
        self.sweep: Optional[Sweep] = None
        self.worker: Optional[RunWorker] = None
        self._combination: Optional[Combination] = None
        self._cancelled = False
        self._progress_timer = QtCore.QTimer(self)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        knobs = sweepable_knobs(spec)
        chosen = default_knobs(knobs)
        self.rows = [GridRow(knobs, chosen[i] if i < len(chosen) else None) for i in range(MAX_PARAMETERS)]
        self._build_widgets()
        self._build_layout()
        for row in self.rows:
            row.choice.currentIndexChanged.connect(self._check_grid)
            row.values.textChanged.connect(self._check_grid)
        self.steps.valueChanged.connect(self._check_grid)
        self._grid_valid = False
        self._check_grid()

    # ------------------------------------------------------------ widgets

    def _build_widgets(self) -> None:
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(10, 1_000_000)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setSuffix(" steps")
        self.steps.setToolTip("How long each combination runs (warm-up included)")
        self.grid_status = QtWidgets.QLabel()
        self.grid_status.setWordWrap(True)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current combination; the ones already run are kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button = QtWidgets.QPushButton("Apply best")
        self.apply_button.setToolTip("Set the best combination's values in the pipeline (undoable)")
        self.apply_button.clicked.connect(self.apply_best)
        self.close_button = QtWidgets.QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QtWidgets.QLabel("Choose up to three parameters and their values, then Run.")
        self.status.setWordWrap(True)
        self.results = ResultsTable()
        self.heatmap = HeatmapTable()
        self.page = QtWidgets.QComboBox()  # the third parameter's value the heatmap shows
        self.heatmap_caption = QtWidgets.QLabel("steps/s per combination")
        self.heatmap_caption.setWordWrap(True)
        self.page.currentIndexChanged.connect(self._show_heatmap)
        self.page.setVisible(False)  # shown for a third parameter only

    def _build_layout(self) -> None:
        grid = QtWidgets.QGridLayout()
        for index, row in enumerate(self.rows):
            grid.addWidget(QtWidgets.QLabel(f"Parameter {index + 1}"), index, 0)
            grid.addWidget(row.choice, index, 1)
            grid.addWidget(row.values, index, 2)
        grid.addWidget(QtWidgets.QLabel("Each run"), MAX_PARAMETERS, 0)
        grid.addWidget(self.steps, MAX_PARAMETERS, 1)
        grid.addWidget(self.grid_status, MAX_PARAMETERS, 2)
        grid.setColumnStretch(2, 1)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.run_button, self.cancel_button, self.apply_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        heatmap_box = QtWidgets.QWidget()
        heatmap_layout = QtWidgets.QVBoxLayout(heatmap_box)
        heatmap_layout.setContentsMargins(0, 0, 0, 0)
        heatmap_layout.addWidget(self.heatmap_caption)
        heatmap_layout.addWidget(self.page)
        heatmap_layout.addWidget(self.heatmap, 1)
        split = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        split.addWidget(self.results)
        split.addWidget(heatmap_box)
        split.setStretchFactor(0, 3)  # the table's columns need the room; the heatmap's cells are narrow
        split.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.resize(1100, 640)

    # ------------------------------------------------------------ the grid

    def grid(self) -> list[tuple[str, str, str]]:
        """(path, values text, label) for each chosen parameter, as core's build_sweep takes them."""
        return [(row.knob.path, row.values.text(), row.knob.label) for row in self.rows if row.knob is not None]

    def build(self) -> Sweep:
        grid = self.grid()
        if not grid:
            raise SpecError("choose a parameter to sweep")
        return build_sweep(sweep_base(self.spec, steps=self.steps.value()), grid)

    def _check_grid(self) -> Optional[Sweep]:
        try:
            sweep = self.build()
        except SpecError as error:
            self.grid_status.setText(f"<span style='color:#b00020'>{error}</span>")
            sweep = None
        else:
            count = len(sweep.combinations)
            self.grid_status.setText(f"{count} combination{'s' if count != 1 else ''} × {self.steps.value()} steps")
        self._grid_valid = sweep is not None
        self.update_enabled()
        return sweep

    @property
    def running(self) -> bool:
        return self.worker is not None

    def update_enabled(self) -> None:
        window_busy = self._is_running()
        self.run_button.setEnabled(self._grid_valid and not self.running and not window_busy)
        self.run_button.setToolTip("Stop the window's run first: a sweep beside it would slow both"
                                   if window_busy else "Run every combination, one after another")
        self.cancel_button.setEnabled(self.running and not self._cancelled)
        self.apply_button.setEnabled(not self.running and self.sweep is not None and self.sweep.best is not None)
        for row in self.rows:
            row.choice.setEnabled(not self.running)
            row.values.setEnabled(not self.running and row.knob is not None)
        self.steps.setEnabled(not self.running)

    # ------------------------------------------------------------ running

    def start(self) -> None:
        if self.running or self._is_running():
            return
        sweep = self._check_grid()
        if sweep is None:
            return
        self.sweep, self._cancelled = sweep, False
        self.results.start(sweep)
        self._fill_pages(sweep)
        self._show_heatmap()
        self._progress_timer.start()
        self._next()

    def cancel(self) -> None:
        """Stop the current combination at its next step; `sweep_finished` follows when its thread ends."""
        if self.worker is None:
            return
        self._cancelled = True
        self.worker.run_obj.request_stop()
        self.status.setText("Stopping…")
        self.update_enabled()

    def _next(self) -> None:
        combination = None if self._cancelled else self.sweep.ask()
        if combination is None:
            self._end()
            return
        self._combination = combination
        self.worker = RunWorker(combination.spec, self)
        self.worker.finished.connect(self._combination_ended)
        self.worker.start()
        self._say_combination("starting (the first loads TensorFlow)" if combination.number == 1 else "starting")
        self.update_enabled()

    def _combination_ended(self) -> None:
        worker, combination = self.worker, self._combination
        worker.wait()
        self.worker, self._combination = None, None
        run = worker.run_obj
        worker.deleteLater()
        if self._cancelled and run.outcome.status == RunStatus.STOPPED:
            self._next()  # cut short by Cancel: not a result; _next ends the sweep
            return
        summary, error = _figures_of(run)
        self.sweep.tell(combination, summary, error)
        self.results.show_combination(combination, self.sweep.best)
        self._show_heatmap()
        self._next()

    def _end(self) -> None:
        self._progress_timer.stop()
        self.progress.setValue(1000 if not self._cancelled else self.progress.value())
        best = self.sweep.best
        done = f"{len(self.sweep.done)} of {len(self.sweep.combinations)} combinations run"
        if self._cancelled:
            done = f"Cancelled: {done}"
        self.status.setText(f"{done}; best: {best.describe()} — {best.steps_per_s:.1f} steps/s" if best else
                            f"{done}; none ran to a result")
        if best is not None:
            self.results.scrollToItem(self.results.item(best.number - 1, 0))
        self.update_enabled()
        self.sweep_finished.emit()

    def _show_progress(self) -> None:
        if self.worker is None or self.sweep is None:
            return
        run = self.worker.run_obj
        steps, seconds = run.target()
        fraction = len(run.records) / steps if steps else min(1.0, run.elapsed_s() / seconds)
        total = len(self.sweep.combinations)
        self.progress.setValue(int(1000 * (self._combination.number - 1 + min(1.0, fraction)) / total))
        done = len(run.records)
        self._say_combination(f"{done} steps" if done else "building the pipeline")

    def _say_combination(self, detail: str) -> None:
        combination = self._combination
        self.status.setText(f"combination {combination.number}/{len(self.sweep.combinations)}: "
                            f"{combination.describe()} — {detail}")

    def apply_best(self) -> None:
        best = self.sweep.best if self.sweep is not None else None
        if best is not None and not self.running:
            self._apply_best(best.assignments)
            self.status.setText(f"Applied: {best.describe()}")

    # ------------------------------------------------------------ the heatmap

    def _fill_pages(self, sweep: Sweep) -> None:
        self.page.blockSignals(True)  # filling must not redraw once per item
        self.page.clear()
        for heatmap in sweep.heatmaps():
            self.page.addItem(heatmap.title)
        self.page.blockSignals(False)
        self.page.setVisible(len(sweep.axes) == MAX_PARAMETERS)

    def _show_heatmap(self) -> None:
        if self.sweep is None:
            return
        heatmaps = self.sweep.heatmaps()
        heatmap = heatmaps[max(0, self.page.currentIndex())]
        self.heatmap.show_heatmap(heatmap, heatmaps)
        self.heatmap_caption.setText(f"steps/s — rows: {heatmap.row_path}, columns: {heatmap.column_path}"
                                     if heatmap.row_path else f"steps/s — columns: {heatmap.column_path}")

    # ------------------------------------------------------------ closing

    def closeEvent(self, event) -> None:
        self._stop_and_wait()
        super().closeEvent(event)

    def reject(self) -> None:  # Escape
        self._stop_and_wait()
        super().reject()

    def _stop_and_wait(self) -> None:
        """No run outlives the dialog: stop it and wait for its thread."""
        self._progress_timer.stop()
        if self.worker is not None:
            worker, self.worker = self.worker, None
            self._cancelled = True
            worker.finished.disconnect(self._combination_ended)
            if not worker.stop(STOP_WAIT_MS):
                _leave_running(worker)


_LEFT_RUNNING: set = set()  # runs that did not stop in time, kept until their threads end


def _leave_running(worker: RunWorker) -> None:
    """A run still going when its dialog closes must not be deleted with the dialog (WA_DeleteOnClose): a
    QThread destroyed while it runs aborts the app. It leaves the dialog, and goes once its thread ends."""
    worker.setParent(None)
    _LEFT_RUNNING.add(worker)

    def ended() -> None:
        if worker in _LEFT_RUNNING:  # once: the signal, or the check below if it ended before connecting
            _LEFT_RUNNING.discard(worker)
            worker.deleteLater()

    worker.finished.connect(ended)
    if worker.isFinished():
        ended()


def _figures_of(run) -> tuple[Optional[dict], Optional[str]]:
    """The run's figures (as summary.json has them) and why it failed, read once its thread has ended."""
    rows = run.records.snapshot()
    error = None if run.outcome.error is None else str(run.outcome.error)
    if not len(rows):
        return None, error or "no steps recorded"
    return summarize(rows, run.spec.run["warmup_steps"], run.capacity), error


class ResultsTable(QtWidgets.QTableWidget):
    """One row per combination, in running order; the best row highlighted."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)  # the status, a failure's message the longest
        self._sweep: Optional[Sweep] = None

    def start(self, sweep: Sweep) -> None:
        self._sweep = sweep
        self.clear()
        self.setColumnCount(len(sweep.paths) + len(FIGURE_COLUMNS))
        self.setHorizontalHeaderLabels([path.split(".", 1)[1] if path.startswith("stages.") else path
                                        for path in sweep.paths] + list(FIGURE_COLUMNS))
        for column, path in enumerate(sweep.paths):
            self.horizontalHeaderItem(column).setToolTip(path)
        self.setRowCount(len(sweep.combinations))
        for combination in sweep.combinations:
            self._fill(combination, best=False)
        self.resizeColumnsToContents()

    def show_combination(self, combination: Combination, best: Optional[Combination]) -> None:
        for other in self._sweep.combinations:
            if other.done:
                self._fill(other, best=other is best)
        self.resizeColumnsToContents()

    def _fill(self, combination: Combination, best: bool) -> None:
        row = combination.number - 1
        for column, text in enumerate([*combination.texts, *_figure_texts(combination)]):
            item = QtWidgets.QTableWidgetItem(text)
            if column >= len(combination.texts) and column < len(combination.texts) + 3:
                item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
            if best:
                item.setBackground(BEST_BACKGROUND)
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            elif combination.done and not combination.succeeded:
                item.setBackground(FAILED_BACKGROUND)
                item.setToolTip(combination.error or "")
            self.setItem(row, column, item)


def _figure_texts(combination: Combination) -> list[str]:
    if not combination.done:
        return ["", "", "", "waiting"]
    if not combination.succeeded:
        return ["", "", "", f"failed: {combination.error}"]
    figures = combination.figures()
    return [f"{figures['steps_per_s']:.1f}", f"{100 * figures['idle_fraction']:.1f}%",
            f"{figures['step_ms_p50']:.2f} ms", "done"]


class HeatmapTable(QtWidgets.QTableWidget):
    """Steps/s as coloured cells (sweep.png's colours, on one scale across the third parameter's pages),
    the figure written in; the best cell starred."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.NoSelection)
        self.horizontalHeader().setMinimumSectionSize(HEATMAP_CELL_WIDTH)
        self.verticalHeader().setDefaultSectionSize(HEATMAP_CELL_HEIGHT)

    def show_heatmap(self, heatmap: Heatmap, all_pages: list[Heatmap]) -> None:
        finite = [value for page in all_pages for value in page.values.ravel() if value == value]
        low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
        self.setRowCount(len(heatmap.row_labels))
        self.setColumnCount(len(heatmap.column_labels))
        self.setHorizontalHeaderLabels(list(heatmap.column_labels))
        self.setVerticalHeaderLabels(list(heatmap.row_labels) if heatmap.row_path else ["steps/s"])
        self.horizontalHeader().setToolTip(heatmap.column_path)
        self.verticalHeader().setToolTip(heatmap.row_path or "")
        self.setToolTip(f"rows: {heatmap.row_path}, columns: {heatmap.column_path}" if heatmap.row_path
                        else f"columns: {heatmap.column_path}")
        for (row, column), value in _cells(heatmap):
            self.setItem(row, column, _heatmap_item(heatmap, (row, column), value, low, high))
        self.resizeColumnsToContents()


@functools.lru_cache(maxsize=1)
def _heatmap_colours() -> pyqtgraph.ColorMap:
    """sweep.png's colours, loaded on the first heatmap drawn, not when the app starts."""
    return pyqtgraph.colormap.get("viridis")


def _cells(heatmap: Heatmap):
    for row in range(heatmap.values.shape[0]):
        for column in range(heatmap.values.shape[1]):
            yield (row, column), float(heatmap.values[row, column])


def _heatmap_item(heatmap: Heatmap, cell: tuple[int, int], value: float, low: float,
                  high: float) -> QtWidgets.QTableWidgetItem:
    if value != value:  # NaN: failed, or not run yet
        item = QtWidgets.QTableWidgetItem("failed" if cell in heatmap.failed else "")
        item.setBackground(FAILED_BACKGROUND)
    else:
        best = heatmap.best == cell
        item = QtWidgets.QTableWidgetItem(f"{BEST_TEXT if best else ''}{value:.1f}")
        colour = _heatmap_colours().map((value - low) / (high - low) if high > low else 1.0, mode="qcolor")
        item.setBackground(colour)
        item.setForeground(QtGui.QColor("black" if colour.lightnessF() > 0.5 else "white"))
        if best:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
    item.setTextAlignment(QtCore.Qt.AlignCenter)
    return item
