"""The app as a new user meets it: a laptop-sized window, loading while running, typed values,
stopping early, the first launch, warm-up steps, and exports. Runs are fakes replaying recorded steps."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt5 import QtCore, QtWidgets

from core.spec.params import SpecError
from core.spec.presets import load_preset
from core.spec.records import T_DONE
from core.spec.pipeline import apply_overrides
from gui.canvas_layout import MIN_SCALE
from gui.document import stage_key
from gui.plots import TimelinePlots, warmup_end_time
from gui.problems import problem_from_error
from tests.gui.conftest import type_into
from tests.gui.fakes import recorded_rows


def settle(qapp, window, size=None):
    if size:
        window.resize(*size)
    for _ in range(3):
        qapp.processEvents()


def run_held_at(window, qtbot, fake_runs, held_at: int, steps: int):
    fake_runs.hold_at = held_at
    window.load_spec(apply_overrides(window.document.spec(), [("run.steps", steps)]))
    assert window.start_run()
    qtbot.waitUntil(lambda: window.live_view.summary.latest.get("steps") == held_at, timeout=10_000)
    return fake_runs.made[-1]


def finished(window, qtbot):
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    return window.controller.last_run


@pytest.mark.parametrize("preset", ["images_tf", "whatif"])
def test_a_laptop_window_shows_usable_plots_and_the_whole_pipeline(window, qapp, preset):
    window.load_spec(load_preset(preset))
    settle(qapp, window, (1000, 650))
    plots = window.live_view.plots
    assert plots.isVisible() and plots.width() >= 450 and plots.height() >= 250
    for plot in plots.plots():  # the plots are not clipped by their neighbours
        right_edge = plot.mapRectToScene(plot.boundingRect()).right()
        assert right_edge <= plots.viewport().width() + 1
    view = window.editor.view
    assert view.transform().m11() >= MIN_SCALE
    viewport = view.viewport().rect()
    for key, item in window.editor.items.items():
        assert viewport.contains(view.mapFromScene(item.sceneBoundingRect()).boundingRect()), key


def test_a_wide_window_draws_the_chain_in_one_row_at_full_size(window, qapp):
    settle(qapp, window, (1600, 1000))
    view = window.editor.view
    assert window.editor.layout_in_view.rows == 1 and view.transform().m11() == pytest.approx(1.0)


def test_a_drop_on_the_second_row_inserts_there(window, qapp):
    window.load_spec(load_preset("images_tf"))
    settle(qapp, window, (1000, 650))
    layout = window.editor.layout_in_view
    assert layout.rows == 2
    model = window.editor.items["model"]
    stages = window.document.stage_ids()
    window.editor.stage_dropped(stage_key(stages[0]), model.pos() + QtCore.QPointF(-5, 40))
    assert window.document.stage_ids()[-1] == stages[0]  # moved to the end, before the feeder


def test_loading_a_preset_mid_run_asks_stops_and_clears_the_old_pipeline(window, qtbot, fake_runs, monkeypatch):
    run = run_held_at(window, qtbot, fake_runs, held_at=40, steps=500)
    window.live_view.stage_figures.emit({"io": {"buffered": 3}})  # a badge on a block
    answers = [QtWidgets.QMessageBox.Cancel, QtWidgets.QMessageBox.Yes]
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *args, **kwargs: answers.pop(0))
    window.ask_load_preset("seed_tf_data")  # cancelled: nothing changes
    assert window.controller.running and window.document.title == "whatif"
    window.ask_load_preset("seed_tf_data")
    assert not window.controller.running and run.outcome.status == "stopped"
    assert run.changes_requested == []  # never hot-swapped into the run
    assert window.document.title == "seed_tf_data"
    assert window.controller.last_run is None and len(window.live_view.buffer) == 0
    assert window.live_view.summary.latest == {} and window.live_view.summary.values["steps"].text() == "–"
    drawn_x = window.live_view.plots.step_curve.getData()[0]
    assert drawn_x is None or len(drawn_x) == 0
    assert window.editor.live == {}
    assert window.toolbar.progress.value() == 0 and window.toolbar.progress.format() == "no run yet"


def test_a_typed_value_is_committed_as_typed_and_explained_at_the_field(window):
    window.editor.select(stage_key("batch"))
    editor = window.inspector.editors["batch_size"]
    type_into(editor.field, "-1")
    assert window.document.block(stage_key("batch"))["batch_size"] == -1  # not clamped to 1
    assert not editor.problem_label.isHidden()
    assert editor.problem_label.text().startswith("stage 'batch': batch_size must be ≥ 1")
    assert editor.problem_label.text().endswith("got -1")
    assert not window.toolbar.run_action.isEnabled()
    assert "stage 'batch'" in window.toolbar.blocked_reason.text()
    type_into(editor.field, "lots")
    assert window.document.block(stage_key("batch"))["batch_size"] == "lots"  # kept, not vanished
    assert editor.field.text() == "lots" and "got 'lots'" in editor.problem_label.text()
    type_into(editor.field, "64")
    assert window.document.block(stage_key("batch"))["batch_size"] == 64
    assert editor.problem_label.isHidden() and window.toolbar.run_action.isEnabled()


def test_the_run_length_is_not_clamped_either(window):
    type_into(window.toolbar.steps, "0")
    assert window.document.block("pipeline")["steps"] == 0
    reason = window.toolbar.blocked_reason.text()
    assert "steps must be ≥ 1" in reason and reason.endswith("got 0")


def test_problems_use_a_spec_errors_structured_fields_when_it_has_them():
    data = load_preset("whatif").to_dict()
    error = SpecError("stages[1].ms: must be ≥ 0, got -2")
    assert problem_from_error(error, data).text == "stage 'io': ms must be ≥ 0, got -2"
    problem = problem_from_error(SpecError("stages.io.ms: must be ≥ 0, got -3"), data)
    assert (problem.key, problem.param, problem.text) == ("stages.io", "ms", "stage 'io': ms must be ≥ 0, got -3")


def test_stopping_early_shows_how_far_the_run_got_and_one_step_count(window, qtbot, fake_runs):
    run_held_at(window, qtbot, fake_runs, held_at=321, steps=5000)
    qtbot.waitUntil(lambda: " 321 steps" in window.status_label.text(), timeout=5_000)
    assert window.live_view.summary.values["steps"].text() == "321"  # the panel and the status bar agree
    assert window.toolbar.progress.format() == "321 / 5,000 steps"
    window.controller.stop()
    run = finished(window, qtbot)
    assert run.outcome.status == "stopped"
    assert window.toolbar.progress.value() == 64  # 6.4%, not 100%
    assert window.toolbar.progress.format() == "321 / 5,000 steps"
    assert window.status_label.text().startswith("Stopped · 321 steps")


def test_a_finished_run_fills_the_bar(window, qtbot, fake_runs):
    fake_runs.rows = recorded_rows(120)
    window.load_spec(apply_overrides(window.document.spec(), [("run.steps", 120)]))
    window.start_run()
    finished(window, qtbot)
    assert window.toolbar.progress.value() == 1000 and window.toolbar.progress.format() == "120 / 120 steps"


def test_first_launch_says_what_to_do_and_what_each_plot_shows(window, qapp):
    settle(qapp, window)
    plots = window.live_view.plots
    assert plots.hint.isVisible()
    assert "Run (F5)" in plots.hint.text() and "'whatif'" in plots.hint.text() and "500 steps" in plots.hint.text()
    assert all(word in plots.hint.text() for word in ("Top:", "Middle:", "Bottom:"))
    assert plots.timeline_plot.getViewBox().viewRange()[0] == pytest.approx([0.0, 10.0])
    assert plots.step_plot.getViewBox().viewRange()[1][0] == pytest.approx(0.0)
    assert window.toolbar.progress.format() == "no run yet"


def test_while_a_run_starts_the_hint_says_so_not_press_run(window, qtbot, fake_runs):
    fake_runs.hold_at = 0
    assert window.start_run()
    assert "Starting" in window.live_view.plots.hint.text() and "Run (F5)" not in window.live_view.plots.hint.text()
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert "Run (F5)" in window.live_view.plots.hint.text()


def test_a_stall_shows_in_the_status_line_and_the_summary(window, qtbot, fake_runs):
    from core.engine.stalls import Stall

    run = run_held_at(window, qtbot, fake_runs, held_at=40, steps=500)
    run.outcome.stalls.append(Stall(t=1.0, seconds=6.5, stage="io"))
    qtbot.waitUntil(lambda: "STALLED" in window.status_label.text(), timeout=5_000)
    assert "no batch for 6.5 s: the work is stuck in stage 'io'" in window.status_label.text()
    assert window.live_view.summary.values["stalls"].text() == "1; longest 6.5 s in stage 'io'"
    assert window.live_view.summary.values["device"].text() == "/FAKE:0 · a recorded run"
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def test_each_preset_is_described_in_the_menu(window):
    presets = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Presets")
    texts = [action.text() for action in presets.actions()]
    assert len(texts) >= 6
    assert all(" — " in text and len(text.split(" — ", 1)[1]) > 10 for text in texts)


def test_a_pipelines_own_description_comes_first():
    from gui.menus import describe_pipeline

    spec = load_preset("whatif")
    assert describe_pipeline(spec) == spec.description and len(spec.description) > 10
    spec.description = ""
    assert describe_pipeline(spec).startswith("synthetic → batch → io")


def test_warm_up_steps_are_drawn_but_kept_out_of_the_range(qtbot, qapp):
    plots = TimelinePlots()
    qtbot.addWidget(plots)
    plots.resize(800, 600)
    plots.show()
    rows = recorded_rows(300, wait_s=0.004, compute_s=0.006, first_step_s=0.37)
    plots.show_rows(rows, capacity=4, warmup_end=warmup_end_time(rows, 10))
    qapp.processEvents()
    low, high = plots.step_plot.getViewBox().viewRange()[1]
    assert 10.0 <= high < 30.0  # set by the 10 ms steps, not by the 370 ms tracing step
    warm_x, warm_y = plots.warmup_curve.getData()
    assert len(warm_x) == 10 and max(warm_y) == pytest.approx(370.0)
    assert plots.warmup_region.isVisible() and not plots.hint.isVisible()


def test_exports_say_what_they_wrote_and_remember_the_folder(window, qtbot, fake_runs, tmp_path, monkeypatch):
    fake_runs.rows = recorded_rows(80)
    window.load_spec(apply_overrides(window.document.spec(), [("run.steps", 80)]))
    window.start_run()
    finished(window, qtbot)
    asked = []

    def save_dialog(parent, caption, start, *args, **kwargs):
        asked.append(start)
        return str(answers.pop(0)), ""

    answers = [tmp_path / "new" / "deeper", tmp_path / "new" / "plots.png"]
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", save_dialog)
    headlines = []
    monkeypatch.setattr("gui.exports.save_widget_png",
                        lambda widget, path: (headlines.append(widget.headline.text), Path(path).write_bytes(b"png")))
    window.export_actions._ask_folder()
    written = window.statusBar().currentMessage()
    assert (tmp_path / "new" / "deeper" / "summary.json").is_file()  # the folder it was given, created
    assert "summary.json" in written and "steps.csv" in written and str(tmp_path / "new" / "deeper") in written
    window.export_actions._ask_file("png", window.export_actions.plots_png)
    assert Path(asked[1]).parent == tmp_path / "new"  # the dialog starts in the last folder used
    assert "plots.png" in window.statusBar().currentMessage()
    assert headlines[0].startswith("whatif — 80 steps") and "steps/s" in headlines[0] and "idle" in headlines[0]
    assert window.live_view.plots.headline.text == ""  # only the export carries it
