"""The bottleneck panel: measure each stage and the model on their own, name the bottleneck, offer each
recommendation as a one-click change, then set what the change achieved beside what it predicted.

Measuring runs on an `AnalysisWorker` while no run goes (a run alongside would halve both). A
recommendation applied while a run goes reaches it at the next step boundary, like any what-if edit,
and is judged by the run's figures after that change (its segment); applied between runs, it starts a
run and is judged by that run. The window does the applying (`apply_requested`) and hands this panel
the history's current run at the live view's pace (`follow_run`).

On a watched script's job (`current_run`), whose stages are the script's code, nothing is measured:
Analyze reads what tf.data measured while it trained (`gui.watched_analysis`), also while it still
trains, and shows it in the same table with the line that made each stage. A recommendation applied
while the job trains reaches the script at its next step (the window sends it as any what-if edit);
once the job has ended, the panel says how to make the change instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from PyQt5 import QtCore, QtWidgets

from core.analysis.metrics import summarize
from core.analysis.segments import segments
from core.experiments.watching import analyze_watched_run
from core.spec.params import SpecError
from core.spec.pipeline import parse_assignment
from gui import watched_analysis
from gui.analysis_table import figures_table, fill_table
from gui.analysis_worker import AnalysisWorker
from gui.change_labels import change_parts

MIN_STEPS_TO_JUDGE = 50  # measured steps after a change before its achieved rate is shown
MEASURE_TIP = "Measure the source alone, each prefix of the pipeline and the model alone"
WATCHED_TIP = "Read what tf.data measured while the script trained: nothing is run, so also while it trains"


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

    def __init__(self, current_spec: Callable, run_summary_for: Callable, is_running: Callable, parent=None,
                 current_run: Callable = lambda: None):
        """`current_run`: the history's current entry (None when none), so that a watched job is read."""
        super().__init__(parent)
        self._current_spec, self._run_summary_for, self._is_running = current_spec, run_summary_for, is_running
        self._current_run = current_run
        self.worker: Optional[AnalysisWorker] = None
        self.analysis: Optional[dict] = None
        self.analyzed_entry = None  # the watched job the analysis shown is of; None for a built-in pipeline's
        self.predictions: list[Prediction] = []
        self.analyze_button = QtWidgets.QPushButton("Analyze")
        self.analyze_button.setToolTip(MEASURE_TIP)
        self.analyze_button.clicked.connect(self.start)
        self.status = _wrapping_label("Find the stage that holds the steps back: press Analyze (a few seconds).")
        self.table = figures_table()
        self.verdict = _wrapping_label("")
        self.recommendations = QtWidgets.QVBoxLayout()
        self.how_to_apply = _wrapping_label("")  # a watched job's change, once the job has ended
        self.how_to_apply.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
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
        layout.addWidget(self.how_to_apply)
        layout.addWidget(self.applied)
        layout.addStretch(1)

    # ------------------------------------------------------------ measuring

    def _watched_entry(self):
        """The history's current entry when it is a watched job, else None."""
        entry = self._current_run()
        return entry if entry is not None and watched_analysis.is_watched(entry.run) else None

    def update_enabled(self) -> None:
        busy = self.worker is not None
        watched = self._watched_entry() is not None
        running = self._is_running() and not watched
        self.analyze_button.setEnabled(not busy and not running)
        self.analyze_button.setToolTip("Stop the run first: measuring beside it would slow both" if running else
                                       WATCHED_TIP if watched else MEASURE_TIP)

    def start(self) -> None:
        entry = self._watched_entry()
        if self.worker is None and entry is not None:
            self._analyze_watched(entry)
            return
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

    def _analyze_watched(self, entry) -> None:
        try:
            analysis = analyze_watched_run(entry.run)
        except SpecError as error:
            self.status.setText(f"Cannot analyze yet: {error}")
            return
        self.show_analysis(analysis, entry)

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

    def show_analysis(self, analysis: dict, watched_entry=None) -> None:
        """`watched_entry`: the watched job `analysis` is of (analysis.json's `source: "watch"`)."""
        self.analysis, self.analyzed_entry = analysis, watched_entry
        self.how_to_apply.setText("")
        fill_table(self.table, analysis)
        if watched_entry is not None:
            self.status.setText(watched_analysis.about(watched_entry.run, analysis, not watched_entry.ended))
            self.verdict.setText(watched_analysis.verdict(analysis))
            self._show_recommendations(analysis["recommendations"])
            return
        self.status.setText("Measured in isolation; live el/s is tf.data's own figure during the last run.")
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
        watched = self.analyzed_entry is not None
        text = recommendation["text"]  # a watched job's names its line and the steps/s to expect
        layout.addWidget(_wrapping_label(text if watched else
                                         f"{text} — about {recommendation['expected_steps_per_s']:.1f} steps/s"), 1)
        if not recommendation.get("change"):
            return row  # nothing tf.data can change there
        button = QtWidgets.QPushButton("Apply")
        button.setToolTip(f"Send {recommendation['change']} to the script, made at its next step while it trains "
                          "(once it has ended: how to make it)" if watched else
                          f"Set {recommendation['change']} (while a run goes: at its next step)")
        button.clicked.connect(lambda: self.apply(recommendation))
        layout.addWidget(button)
        return row

    def apply(self, recommendation: dict) -> None:
        """A watched job that has ended takes no change: say how to make it instead."""
        entry = self.analyzed_entry
        if entry is not None and (entry.ended or not entry.run.accepts_changes):
            self.how_to_apply.setText(watched_analysis.how_to_apply(entry.run, recommendation))
            return
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


def _wrapping_label(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    return label


def _clear(layout: QtWidgets.QLayout) -> None:
    while layout.count():
        widget = layout.takeAt(0).widget()
        if widget is not None:
            widget.deleteLater()
