"""The what-if panel, the change markers on the plots and the figures per configuration.

The panel's knobs come from the kind catalog and reach the run through the document; runs are fakes
replaying recorded steps (tests/gui/fakes.py), except one that changes a knob of the real engine.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt5 import QtWidgets

from core.engine.outcome import ConfigChange
from core.experiments.history import RunHistory
from core.spec.params import AUTOTUNE
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from core.spec.records import CONFIG_VERSION, T_DONE, T_FETCHED, T_READY, T_REQUEST
from gui.change_labels import short_change
from gui.live_view import LiveView
from tests.gui.fakes import FakeRun, recorded_rows

WHATIF_KNOBS = {"batch · batch_size", "io · ms", "io · num_parallel_calls", "cpu · ms", "cpu · num_parallel_calls",
                "prefetch · buffer_size", "model · step_ms"}


def drag(row, position: int) -> None:
    """Press the slider's handle, move it through a few places, let go (as a mouse drag does)."""
    row.slider.setSliderDown(True)
    for between in range(row.slider.minimum(), position + 1):
        row.slider.setValue(between)
    row.slider.setSliderDown(False)


def stage_param(window, stage_id: str, name: str):
    return window.document.block(f"stages.{stage_id}")[name]


def change_markers(plot) -> list:
    return [item for item in plot.items if isinstance(item, pg.InfiniteLine) and item.angle == 90]


def wait_finished(window, qtbot, timeout=10_000):
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=timeout)
    return window.controller.last_run


# ------------------------------------------------------------ the knobs, from the catalog

def test_the_knobs_of_whatif_come_from_its_kinds(window):
    rows = window.whatif.rows
    assert set(rows) == WHATIF_KNOBS
    with_auto = {label for label, row in rows.items() if row.auto is not None}
    assert with_auto == {"io · num_parallel_calls", "cpu · num_parallel_calls", "prefetch · buffer_size"}
    parallel = rows["io · num_parallel_calls"]
    assert (parallel.slider.minimum(), parallel.slider.maximum()) == (1, 16)  # 1–256 clipped to a usable span
    assert parallel.number.maximum() == 256  # the number still takes the whole range
    assert rows["io · ms"].number.value() == 4.0 and rows["model · step_ms"].number.value() == 6.0


def test_another_pipeline_rebuilds_the_panel(window):
    window.load_spec(load_preset("seed_queue_runner"))
    assert set(window.whatif.rows) == {"batch · batch_size", "feeder · capacity", "feeder · threads"}
    capacity = window.whatif.row("feeder · capacity")
    assert capacity.number.value() == 5 and capacity.auto is None


def test_launching_ahead_is_a_toggle_of_the_models_sync(window):
    check = window.whatif.ahead_check
    assert not check.isHidden() and not check.isChecked()
    check.setChecked(True)
    assert window.document.spec().model.params["sync"] == "window"
    window.document.undo_stack.undo()
    assert not check.isChecked() and window.document.spec().model.params["sync"] == "every_step"


# ------------------------------------------------------------ changes go through the document

def test_a_drag_is_one_edit_sent_on_release(window):
    row = window.whatif.row("io · num_parallel_calls")
    edits = window.document.undo_stack.count()
    row.slider.setSliderDown(True)
    row.slider.setValue(5)
    assert stage_param(window, "io", "num_parallel_calls") == 1 and row.number.value() == 5  # shown, not sent
    row.slider.setSliderDown(False)
    assert stage_param(window, "io", "num_parallel_calls") == 5
    assert window.document.undo_stack.count() == edits + 1
    window.document.undo_stack.undo()  # undo reaches the panel too
    assert row.slider.value() == 1 and row.number.value() == 1


def test_wheel_and_key_steps_are_gathered_into_one_edit(window, qtbot):
    row = window.whatif.row("prefetch · buffer_size")
    edits = window.document.undo_stack.count()
    for _ in range(3):
        row.slider.triggerAction(QtWidgets.QAbstractSlider.SliderSingleStepAdd)
    assert stage_param(window, "prefetch", "buffer_size") == 4  # not yet
    qtbot.waitUntil(lambda: stage_param(window, "prefetch", "buffer_size") == 7, timeout=2_000)
    assert window.document.undo_stack.count() == edits + 1


def test_the_number_sets_exact_values_and_auto_sets_autotune(window):
    window.whatif.row("io · ms").number.setValue(12.5)
    assert stage_param(window, "io", "ms") == 12.5
    assert window.whatif.row("io · ms").slider.value() == 125  # tenths of a millisecond
    window.whatif.row("model · step_ms").number.setValue(250.0)  # beyond the slider's usual span
    assert window.document.block("model")["step_ms"] == 250.0
    assert window.whatif.row("model · step_ms").slider.maximum() == 2500
    cpu = window.whatif.row("cpu · num_parallel_calls")
    cpu.auto.setChecked(True)
    assert stage_param(window, "cpu", "num_parallel_calls") == AUTOTUNE and not cpu.slider.isEnabled()
    cpu.auto.setChecked(False)
    assert stage_param(window, "cpu", "num_parallel_calls") == 1 and cpu.slider.isEnabled()


def test_an_edit_elsewhere_is_shown_without_echoing_back(window):
    edits = window.document.undo_stack.count()
    window.document.set_value("stages.cpu", "ms", 7.5)  # as the inspector does
    row = window.whatif.row("cpu · ms")
    assert row.number.value() == 7.5 and row.slider.value() == 75
    assert window.document.undo_stack.count() == edits + 1  # the panel showed it and sent nothing
    window.document.set_value("stages.io", "num_parallel_calls", AUTOTUNE)
    io = window.whatif.row("io · num_parallel_calls")
    assert io.auto.isChecked() and not io.number.isEnabled()


def test_the_cache_is_inserted_moved_and_removed(window):
    panel = window.whatif
    places = [panel.cache_combo.itemText(i) for i in range(panel.cache_combo.count())]
    assert places == ["off", "after source", "after batch", "after io", "after cpu", "after prefetch"]
    choose = lambda text: panel.cache_combo.activated.emit(panel.cache_combo.findText(text))  # noqa: E731
    choose("after io")
    assert window.document.stage_ids() == ["batch", "io", "cache", "cpu", "prefetch"]
    assert window.document.block("stages.cache")["kind"] == "cache"
    assert panel.cache_combo.currentText() == "after io"
    assert "never fills" in panel.cache_note.text()  # whatif's synthetic source never ends
    choose("after batch")
    assert window.document.stage_ids() == ["batch", "cache", "io", "cpu", "prefetch"]
    choose("off")
    assert window.document.stage_ids() == ["batch", "io", "cpu", "prefetch"]
    assert panel.cache_combo.currentText() == "off"
    assert panel.cache_note.isHidden()
    window.document.undo_stack.undo()
    assert panel.cache_combo.currentText() == "after batch"


def test_a_cache_over_finite_data_is_not_warned_about(window):
    window.load_spec(apply_overrides(window.document.spec(), [("source.count", 4096)]))
    window.whatif.place_cache(1)
    assert window.document.stage_ids()[1] == "cache" and window.whatif.cache_note.isHidden()
    window.document.insert_stage(0, "repeat")
    assert "'repeat' before the cache" in window.whatif.cache_note.text()


def test_a_cache_never_goes_after_a_stage_that_must_be_last(window):
    window.document.insert_stage(4, "prefetch_to_device")
    places = [window.whatif.cache_combo.itemText(i) for i in range(window.whatif.cache_combo.count())]
    assert places[-1] == "after prefetch" and "after prefetch_to_device" not in places


# ------------------------------------------------------------ while a run goes

def test_a_knob_change_reaches_the_run_and_is_marked_on_every_plot(window, qtbot, fake_runs):
    fake_runs.hold_at = 40
    window.load_spec(apply_overrides(window.document.spec(), [("run.seconds", 60.0)]))
    assert window.start_run()
    assert not window.whatif_dock.visibleRegion().isEmpty()  # a run brings the knobs to the front
    qtbot.waitUntil(lambda: len(window.live_view.buffer) == 40, timeout=10_000)
    drag(window.whatif.row("io · num_parallel_calls"), 3)
    run = fake_runs.made[-1]
    assert len(run.changes_requested) == 1  # the release, not every place the handle passed
    assert run.changes_requested[0].stage("io").params["num_parallel_calls"] == 3
    change = run.outcome.changes[0]
    plots = window.live_view.plots
    qtbot.waitUntil(lambda: all(change_markers(plot) for plot in plots.plots()), timeout=5_000)
    for plot in plots.plots():
        assert [marker.value() for marker in change_markers(plot)] == [change.t]
    label = change_markers(plots.fill_plot)[0].label
    assert label.toPlainText() == "io.num_parallel_calls=3" and label.toolTip() == change.description
    markers = change_markers(plots.fill_plot)
    plots.show_rows(window.live_view.buffer.rows(), 4, [(change.t, change.description)])
    assert change_markers(plots.fill_plot) == markers  # the same change: the markers are kept, not redrawn
    window.controller.stop()
    assert wait_finished(window, qtbot).outcome.status == "stopped"


def test_labels_of_changes_close_in_time_take_turns(qtbot):
    from gui.plots import TimelinePlots

    plots = TimelinePlots()
    qtbot.addWidget(plots)
    changes = [(1.0, "stages.io.ms=1.0"), (1.05, "stages.io.ms=2.0"), (1.1, "model.step_ms=3.0")]
    plots.show_rows(recorded_rows(300), capacity=4, changes=changes)
    labels = [marker.label for marker in change_markers(plots.fill_plot)]
    assert [label.toPlainText() for label in labels] == ["io.ms=1.0", "io.ms=2.0", "model.step_ms=3.0"]
    assert labels[0].orthoPos != labels[1].orthoPos and labels[0].orthoPos == labels[2].orthoPos
    assert all(getattr(marker, "label", None) is None for marker in change_markers(plots.step_plot))
    low, high = plots.fill_plot.getViewBox().viewRange()[1]
    assert high > 4 / 0.7  # room above the fill for the labels


def test_changes_are_said_briefly():
    assert short_change("stages.io.num_parallel_calls=3") == "io.num_parallel_calls=3"
    assert short_change('stages.io.num_parallel_calls="AUTOTUNE"') == "io.num_parallel_calls=AUTOTUNE"
    assert short_change("stages: + cache (after batch)") == "+ cache (after batch)"
    assert short_change("stages.io.ms=1.0, stages.cpu.ms=0.5, model.step_ms=2.0", 20) == "io.ms=1.0, cpu.ms=0…"


# ------------------------------------------------------------ the figures per configuration

def two_configurations() -> np.ndarray:
    """100 steps waiting 4 ms and computing 6 ms, then 100 waiting 1 ms (version 1)."""
    before = recorded_rows(100, wait_s=0.004, compute_s=0.006)
    after = recorded_rows(100, wait_s=0.001, compute_s=0.006, first_step_s=0.007)
    for column in (T_REQUEST, T_READY, T_DONE, T_FETCHED):
        after[:, column] += before[-1, T_DONE]
    after[:, CONFIG_VERSION] = 1
    return np.concatenate((before, after))


def test_the_segments_table_sets_the_configurations_side_by_side(qtbot):
    rows = two_configurations()
    run = FakeRun(load_preset("whatif"), rows).finish_now()
    run.outcome.changes.append(ConfigChange(100, float(rows[100, T_REQUEST]), 1, "stages.io.ms=1.0"))
    view = LiveView()
    qtbot.addWidget(view)
    view.show_entry(RunHistory().add(run))
    table = view.segments
    assert table.columnCount() == 2
    assert [table.horizontalHeaderItem(column).text() for column in range(2)] == ["start", "io.ms=1.0"]
    assert "stages.io.ms=1.0" in table.horizontalHeaderItem(1).toolTip()
    before, after = table.column_texts(0), table.column_texts(1)
    assert before["steps"] == after["steps"] == "100"
    assert float(before["steps/s"]) == pytest.approx(100.0, rel=0.01)  # 10 ms steps, warm-up left out
    assert float(after["steps/s"]) == pytest.approx(1000 / 7, rel=0.01)
    assert (before["idle %"], after["idle %"]) == ("40.0", "14.3")
    assert (before["wait p50"], after["wait p50"]) == ("4.00", "1.00")
    assert before["compute p50"] == after["compute p50"] == "6.00"
    assert (before["step p50"], after["step p50"]) == ("10.00", "7.00")
    assert before["verdict"] == "input-bound"
    assert table.best == 1 and table.horizontalHeaderItem(1).font().bold()
    assert table.item(1, 1).background() != table.item(1, 0).background()
    view.clear()
    assert table.columnCount() == 0


# ------------------------------------------------------------ the real engine

def test_a_knob_changed_mid_run_through_the_panel_by_the_real_engine(window, qtbot):
    window.load_spec(apply_overrides(window.document.spec(), [("run.steps", 150), ("run.warmup_steps", 5)]))
    assert window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 20, timeout=60_000)
    drag(window.whatif.row("io · ms"), 10)  # 4 ms → 1 ms of simulated I/O per batch
    run = wait_finished(window, qtbot, timeout=60_000)
    assert run.outcome.status == "finished" and len(run.records) == 150
    change = run.outcome.changes[0]
    assert "stages.io.ms=1.0" in change.description and 20 < change.step < 150
    assert all(change_markers(plot) for plot in window.live_view.plots.plots())
    table = window.live_view.segments
    assert table.columnCount() == 2 and table.horizontalHeaderItem(1).text() == "io.ms=1.0"
    assert sum(int(table.column_texts(column)["steps"]) for column in range(2)) == 150
