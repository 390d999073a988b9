"""The bottleneck panel: the analysis shown with its bottleneck marked, a recommendation applied in one
click, and what the change achieved set beside what it predicted."""
from types import SimpleNamespace

import numpy as np
from PyQt5 import QtWidgets

from core.engine.outcome import ConfigChange
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from core.spec.records import CONFIG_VERSION
from gui import analysis_worker
from gui.analysis_panel import AnalysisPanel
from tests.gui.fakes import recorded_rows

ANALYSIS = {
    "stages": [{"id": "source", "kind": "synthetic", "elements_per_s": 9000.0, "steps_per_s": 281.2},
               {"id": "io", "kind": "latency", "elements_per_s": 125.0, "steps_per_s": 125.0,
                "live_elements_per_s": 121.0}],
    "input_steps_per_s": 125.0, "model_steps_per_s": 333.0, "predicted_steps_per_s": 125.0, "bottleneck": "io",
    "recommendations": [{"text": "io limits the input: set io.num_parallel_calls to 3",
                         "change": "stages.io.num_parallel_calls=3", "expected_steps_per_s": 281.2}],
    "measured": {"steps_per_s": 118.0},
}


def panel(qtbot, running=False, spec=None):
    widget = AnalysisPanel(lambda: spec or load_preset("whatif"), lambda _spec: None, lambda: running)
    qtbot.addWidget(widget)
    return widget


def test_the_bottleneck_is_marked_and_a_recommendation_applies_in_one_click(qtbot):
    widget = panel(qtbot)
    widget.show_analysis(ANALYSIS)
    table = widget.table
    assert table.rowCount() == 3 and table.item(1, 0).text() == "io" and table.item(1, 3).text() == "121"
    marked = [table.item(row, 0).background().color().name() for row in range(3)]
    assert marked[1] != marked[0] and marked[0] == marked[2]
    assert table.item(0, 1).text() == "9,000" and table.item(1, 0).toolTip() == "latency"
    assert "Bottleneck: io" in widget.verdict.text() and "118.0" in widget.verdict.text()
    apply = [button for button in widget.findChildren(QtWidgets.QPushButton) if button.text() == "Apply"]
    with qtbot.waitSignal(widget.apply_requested) as applied:
        apply[0].click()
    assert applied.args == ["stages.io.num_parallel_calls=3", 281.2]


def test_the_model_launching_ahead_has_a_row_of_its_own(qtbot):
    widget = panel(qtbot)
    widget.show_analysis(ANALYSIS | {"model_launching_ahead_steps_per_s": 410.0})
    table = widget.table
    assert table.rowCount() == 4 and table.item(3, 0).text() == "model, ahead" and table.item(3, 2).text() == "410"


def test_a_change_made_during_a_run_is_judged_by_the_steps_after_it(qtbot):
    widget = panel(qtbot)
    widget.expect("stages.io.num_parallel_calls=3", 281.2, running_id=4, current_id=4)
    rows = recorded_rows(300, wait_s=0.004, compute_s=0.003)
    rows[150:, CONFIG_VERSION] = 1
    change = ConfigChange(150, float(rows[150, 0]), 1, "stages.io.num_parallel_calls=3")
    entry = SimpleNamespace(id=4, loaded=False, spec=load_preset("whatif"), rows=lambda: rows,
                            outcome=SimpleNamespace(changes=[change]))
    widget.follow_run(entry)
    (prediction,) = widget.predictions
    assert prediction.judged_steps == 150 and np.isclose(prediction.achieved, 1000 / 7, rtol=1e-3)
    assert "achieved 142.9" in widget.applied.text() and "51%" in widget.applied.text()


def run_changed_at_150(description: str):
    """A run of 300 steps whose second half ran after the change `description` (as core wrote it)."""
    rows = recorded_rows(300, wait_s=0.004, compute_s=0.003)
    rows[150:, CONFIG_VERSION] = 1
    change = ConfigChange(150, float(rows[150, 0]), 1, description)
    return SimpleNamespace(id=4, loaded=False, spec=load_preset("whatif"), rows=lambda: rows,
                           outcome=SimpleNamespace(changes=[change]))


def test_a_change_is_matched_by_its_value_not_by_a_prefix_of_it(qtbot):
    widget = panel(qtbot)
    widget.expect("stages.io.num_parallel_calls=4", 281.2, running_id=4, current_id=4)
    widget.follow_run(run_changed_at_150("stages.io.num_parallel_calls=48"))
    assert widget.predictions[0].achieved is None  # 48 is another change than 4


def test_a_change_is_found_among_the_parts_core_wrote_with_json_values(qtbot):
    widget = panel(qtbot)
    widget.expect("feeder.kind=tf_data", 281.2, running_id=4, current_id=4)
    widget.follow_run(run_changed_at_150('stages.io.ms=2.0, feeder.kind="tf_data", stages: + cache (after io)'))
    (prediction,) = widget.predictions
    assert prediction.judged_steps == 150 and np.isclose(prediction.achieved, 1000 / 7, rtol=1e-3)


def test_a_change_made_between_runs_is_judged_by_the_next_run_only(qtbot):
    widget = panel(qtbot)
    widget.expect("stages.io.num_parallel_calls=3", 200.0, running_id=None, current_id=2)
    old = SimpleNamespace(id=2, loaded=False, spec=load_preset("whatif"), rows=lambda: recorded_rows(300),
                          outcome=SimpleNamespace(changes=[]))
    widget.follow_run(old)
    assert widget.predictions[0].achieved is None and "measuring" in widget.applied.text()
    new = SimpleNamespace(id=3, loaded=False, spec=load_preset("whatif"), rows=lambda: recorded_rows(120),
                          outcome=SimpleNamespace(changes=[]))
    widget.follow_run(new)
    assert widget.predictions[0].run_id == 3 and widget.predictions[0].judged_steps == 100


def test_analyze_waits_for_the_run_to_end(qtbot):
    widget = panel(qtbot, running=True)
    widget.update_enabled()
    assert not widget.analyze_button.isEnabled() and "Stop the run" in widget.analyze_button.toolTip()
    widget.start()
    assert widget.worker is None


def test_a_real_analysis_of_whatif_names_io(qtbot, monkeypatch):
    monkeypatch.setattr(analysis_worker, "SECONDS_PER_PART", 0.3)
    # io's 30 ms a batch (a wait, no CPU) is slower than the synthetic source and the 2 ms model on any host
    spec = apply_overrides(load_preset("whatif"), [("stages.io.ms", 30.0), ("model.step_ms", 2.0),
                                                   ("stages.cpu.ms", 0.0)])
    widget = panel(qtbot, spec=spec)
    with qtbot.assertNotEmitted(widget.apply_requested):
        widget.start()
        qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert widget.analysis is not None and widget.analysis["bottleneck"] == "io", widget.status.text()
    assert widget.analysis["recommendations"][0]["change"].startswith("stages.io.num_parallel_calls=")


def test_in_the_window_an_applied_recommendation_changes_the_document_and_starts_a_run(window, qtbot, monkeypatch):
    started = []
    monkeypatch.setattr(window, "start_run", lambda record_to=None: started.append(True) or True)
    window.tuning.apply_recommendation("stages.io.num_parallel_calls=3", 250.0)
    assert window.document.spec().stage("io").params["num_parallel_calls"] == 3 and started == [True]
    assert window.tuning.panel.predictions[0].change == "stages.io.num_parallel_calls=3"
    window.tuning.apply_recommendation("model.sync=window", 330.0)
    assert window.document.spec().model.params["sync"] == "window"
    window.tuning.apply_recommendation("feeder.kind=queue_runner", 200.0)
    assert window.document.spec().feeder.kind == "queue_runner"
    window.document.undo_stack.undo()
    assert window.document.spec().feeder.kind == "tf_data"
    actions = [action.text() for action in window.menuBar().actions()[3].menu().actions()]
    assert "&Analyze the pipeline" in actions and "S&weep…" in actions
