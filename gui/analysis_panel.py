"""The bottleneck panel: measure each stage and the model on their own, name the bottleneck, offer each
recommendation as a one-click change, then set what the change achieved beside what it predicted.

Measuring runs on an `AnalysisWorker` while no run goes (a run alongside would halve both). A
recommendation applied while a run goes reaches it at the next step boundary, like any what-if edit,
and is judged by the run's figures after that change (its segment); applied between runs, it starts a
run and is judged by that run. The window does the applying (`apply_requested`) and hands this panel
the history's current run at the live view's pace (`follow_run`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from core.analysis.metrics import summarize
from core.analysis.segments import segments
from core.spec.params import SpecError
from core.spec.pipeline import parse_assignment
from gui.analysis_worker import AnalysisWorker
from gui.change_labels import change_parts

MIN_STEPS_TO_JUDGE = 50  # measured steps after a change before its achieved rate is shown
BOTTLENECK_BRUSH = QtGui.QColor(255, 224, 178)
COLUMNS = ("stage", "elements/s", "steps/s", "live el/s")


@dataclass
class Prediction:
    change: str  # PATH=VALUE
    expected: float  # steps/s
    run_id: Optional[int]  # the run it was applied to while going; None until the run it started is seen
    started_after: Optional[int] = None  # applied between runs: the id of the run current then
    achieved: Optional[float] = None
    judged_steps: int = 0

    def text(self) -> str:
        said = f"{self.change}: predicted {self.expected:.1f} steps/s"
        if self.achieved is None:
            return f"{said} · measuring…"
        return f"{said} · achieved {self.achieved:.1f} ({100 * self.achieved / self.expected:.0f}%, " \
               f"{self.judged_steps:,} steps)"


class AnalysisPanel(QtWidgets.QWidget):
    apply_requested = QtCore.pyqtSignal(str, float)  # "PATH=VALUE", expected steps/s

    def __init__(self, current_spec: Callable, run_summary_for: Callable, is_running: Callable, parent=None):
        super().__init__(parent)
        self._current_spec, self._run_summary_for, self._is_running = current_spec, run_summary_for, is_running
        self.worker: Optional[AnalysisWorker] = None
        self.analysis: Optional[dict] = None
        self.predictions: list[Prediction] = []
        self.analyze_button = QtWidgets.QPushButton("Analyze")
        self.analyze_button.setToolTip("Measure the source alone, each prefix of the pipeline and the model alone")
        self.analyze_button.clicked.connect(self.start)
        self.status = _wrapping_label("Find the stage that holds the steps back: press Analyze (a few seconds).")
        self.table = _figures_table()
        self.verdict = _wrapping_label("")
        self.recommendations = QtWidgets.QVBoxLayout()
        self.applied = _wrapping_label("")
        self._build_layout()

    def _build_layout(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.analyze_button)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.table)
        layout.addWidget(self.verdict)
        layout.addLayout(self.recommendations)
        layout.addWidget(self.applied)
        layout.addStretch(1)

    # ------------------------------------------------------------ measuring

    def update_enabled(self) -> None:
        busy = self.worker is not None
        running = self._is_running()
        self.analyze_button.setEnabled(not busy and not running)
        self.analyze_button.setToolTip("Stop the run first: measuring beside it would slow both" if running else
                                       "Measure the source alone, each prefix of the pipeline and the model alone")

    def start(self) -> None:
        if self.worker is not None or self._is_running():
            return
        try:
            spec = self._current_spec()
        except Exception as error:  # the description has a problem the editor shows: say it here too
            self.status.setText(f"Cannot analyze: {error}")
            return
        self.worker = AnalysisWorker(spec, self._run_summary_for(spec), self)
        self.worker.progress.connect(lambda part: self.status.setText(f"Measuring {part}…"))
        self.worker.analysed.connect(self.show_analysis)
        self.worker.failed.connect(lambda text: self.status.setText(f"Analysis failed: {text}"))
        self.worker.finished.connect(self._worker_finished)
        self.update_enabled()
        self.worker.start()

    def _worker_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        self.update_enabled()

    def shutdown(self) -> None:
        """The window closes: wait for a measurement in progress (it cannot be interrupted)."""
        if self.worker is not None:
            self.worker.wait()
            self._worker_finished()

    # ------------------------------------------------------------ showing

    def show_analysis(self, analysis: dict) -> None:
        self.analysis = analysis
        self.status.setText("Measured in isolation; live el/s is tf.data's own figure during the last run.")
        _fill_table(self.table, analysis)
        measured = analysis.get("measured")
        achieved = f"; the last run achieved {measured['steps_per_s']:.1f}" if measured else ""
        self.verdict.setText(f"<b>Bottleneck: {analysis['bottleneck']}</b> — the input gives "
                             f"{analysis['input_steps_per_s']:.1f} steps/s, the model takes "
                             f"{analysis['model_steps_per_s']:.1f}: predicted {analysis['predicted_steps_per_s']:.1f}"
                             f" steps/s{achieved}.")
        self._show_recommendations(analysis["recommendations"])

    def _show_recommendations(self, recommendations: list[dict]) -> None:
        _clear(self.recommendations)
        if not recommendations:
            self.recommendations.addWidget(_wrapping_label("Nothing to change in the input for more steps/s."))
        for recommendation in recommendations:
            self.recommendations.addWidget(self._recommendation_row(recommendation))

    def _recommendation_row(self, recommendation: dict) -> QtWidgets.QWidget:
        row = QtWidgets.QFrame()
        row.setFrameShape(QtWidgets.QFrame.StyledPanel)
        layout = QtWidgets.QHBoxLayout(row)
        layout.addWidget(_wrapping_label(f"{recommendation['text']} — about "
                                         f"{recommendation['expected_steps_per_s']:.1f} steps/s"), 1)
        button = QtWidgets.QPushButton("Apply")
        button.setToolTip(f"Set {recommendation['change']} (while a run goes: at its next step)")
        button.clicked.connect(lambda: self.apply(recommendation))
        layout.addWidget(button)
        return row

    def apply(self, recommendation: dict) -> None:
        self.apply_requested.emit(recommendation["change"], recommendation["expected_steps_per_s"])

    # ------------------------------------------------------------ predicted against achieved

    def expect(self, change: str, expected: float, running_id: Optional[int], current_id: Optional[int]) -> None:
        """The window applied `change`: to the run `running_id` while it goes, or (None) to the next run
        it starts, the first with an id after `current_id`, the run shown then."""
        self.predictions.append(Prediction(change, expected, running_id, started_after=current_id))
        self._show_predictions()

    def follow_run(self, entry) -> None:
        """The history's current run, at the live view's pace: judge what has been applied to it."""
        if entry is None or not any(p.achieved is None or p.run_id == entry.id for p in self.predictions):
            return
        rows, warmup = entry.rows(), entry.spec.run["warmup_steps"]
        for prediction in self.predictions:
            if prediction.run_id is None and not entry.loaded and entry.id > (prediction.started_after or 0):
                prediction.run_id = entry.id  # applied between runs: this is the run it started
            if prediction.run_id == entry.id:
                _judge(prediction, rows, warmup, entry)
        self._show_predictions()

    def _show_predictions(self) -> None:
        self.applied.setText("<br>".join(["<b>Applied</b>"] + [p.text() for p in self.predictions])
                             if self.predictions else "")


def _judge(prediction: Prediction, rows, warmup: int, entry) -> None:
    changes = {c.version: c.description for c in entry.outcome.changes}
    wanted = parse_assignment(prediction.change)
    after = [s for s in segments(rows, warmup, None, changes) if s["change"] and wanted in _assignments(s["change"])]
    if after:
        steps, rate = after[-1]["measured_steps"], after[-1]["steps_per_s"]
    elif not changes:  # the run started with the change in its description
        figures = summarize(rows, warmup, None) if len(rows) else {}
        steps, rate = len(rows) - figures.get("warmup_steps", 0), figures.get("steps_per_s")
    else:
        return
    if steps >= MIN_STEPS_TO_JUDGE and rate:
        prediction.achieved, prediction.judged_steps = float(rate), int(steps)


def _assignments(description: str) -> list[tuple]:
    """The (path, value) pairs a change's description sets (`feeder.kind="tf_data"` → ("feeder.kind", "tf_data")),
    so that `…=4` is not found in `…=48`; parts that set no value (a stage added or moved) are left out."""
    pairs = []
    for part in change_parts(description):
        try:
            pairs.append(parse_assignment(part))
        except SpecError:
            continue
    return pairs


def _figures_table() -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
    table.setMinimumHeight(120)
    return table


def _fill_table(table: QtWidgets.QTableWidget, analysis: dict) -> None:
    stages = analysis["stages"]
    ahead = analysis.get("model_launching_ahead_steps_per_s")
    table.setRowCount(len(stages) + 1 + (ahead is not None))
    for row, stage in enumerate(stages):
        live = stage.get("live_elements_per_s")
        cells = (stage["id"], _rate(stage["elements_per_s"]), _rate(stage["steps_per_s"]),
                 "–" if live is None else _rate(live))
        _set_row(table, row, cells, stage["id"] == analysis["bottleneck"], stage["kind"])
    _set_row(table, len(stages), ("model", "", _rate(analysis["model_steps_per_s"]), ""),
             analysis["bottleneck"] == "model", "the model alone")
    if ahead is not None:
        _set_row(table, len(stages) + 1, ("model, ahead", "", _rate(ahead), ""), False,
                 "the model alone, launching steps without waiting for each (model.sync: window)")
    table.resizeRowsToContents()
    rows_height = sum(table.rowHeight(row) for row in range(table.rowCount()))
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows_height + 2 * table.frameWidth())


def _rate(value: float) -> str:
    """Narrow enough for a dock: 282k, 915, 91.5."""
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _set_row(table, row: int, cells: tuple, bottleneck: bool, kind: str) -> None:
    for column, text in enumerate(cells):
        item = QtWidgets.QTableWidgetItem(text)
        item.setToolTip(kind)
        if column >= 1:
            item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        if bottleneck:
            item.setBackground(BOTTLENECK_BRUSH)
        table.setItem(row, column, item)


def _wrapping_label(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    return label


def _clear(layout: QtWidgets.QLayout) -> None:
    while layout.count():
        widget = layout.takeAt(0).widget()
        if widget is not None:
            widget.deleteLater()
