"""The sweep dialog: knobs offered and prefilled, every combination run on a worker thread, the results
table and heatmap, Apply best, Cancel and closing mid-run leaving no thread behind.

Runs are fakes (tests/gui/fakes.py) whose step time is the combination's model.step_ms, so which
combination is best is known; the `sweep` command's tests make the real runs."""
from __future__ import annotations

import signal
import threading

import pytest
from PyQt5 import QtCore, QtWidgets

from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from gui import app as app_module
from gui import sweep_dialog
from gui.sweep_dialog import NONE_CHOSEN, SweepDialog, apply_to_document
from tests.gui import fakes


@pytest.fixture
def runs(monkeypatch):
    """Runs replay steps of `step_ms` (the simulated model's) with 1 ms of waiting; `hold` makes them hold
    at their 5th step until stopped."""
    made, options = [], {"hold": False}

    def make_run(spec):
        step_s = spec.model.params["step_ms"] / 1000
        steps, _ = spec.target()
        rows = fakes.recorded_rows(steps, wait_s=0.001, compute_s=step_s, first_step_s=0.05)
        run = fakes.FakeRun(spec, rows, hold_at=5 if options["hold"] else None)
        made.append(run)
        return run

    monkeypatch.setattr("gui.worker.Run", make_run)
    return made, options


@pytest.fixture
def dialog(qtbot):
    applied = []
    spec = apply_overrides(load_preset("whatif"), [("run.warmup_steps", 5)])
    dialog = SweepDialog(spec, applied.append)
    dialog.applied = applied
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def choose(dialog, row: int, path: str, values: str | None = None) -> None:
    grid_row = dialog.rows[row]
    grid_row.choice.setCurrentIndex(grid_row.choice.findData(path))
    if values is not None:
        grid_row.values.setText(values)


def clear(dialog, row: int) -> None:
    dialog.rows[row].choice.setCurrentIndex(dialog.rows[row].choice.findText(NONE_CHOSEN))


def test_parallelism_is_offered_first_with_doublings(dialog):
    assert [row.knob.path if row.knob else None for row in dialog.rows] == [
        "stages.io.num_parallel_calls", "stages.cpu.num_parallel_calls", None]
    assert dialog.rows[0].values.text() == "1,2,4,8"
    assert "16 combinations × 300 steps" in dialog.grid_status.text() and dialog.run_button.isEnabled()
    choose(dialog, 2, "model.step_ms")
    assert dialog.rows[2].values.text() == "3,6,12"  # choosing a knob fills in its values


def test_a_bad_value_is_said_beside_the_grid_and_run_is_off(dialog):
    dialog.rows[0].values.setText("0,1")
    assert "io · num_parallel_calls: value 0: stages.io.num_parallel_calls: must be ≥ 1" in dialog.grid_status.text()
    assert not dialog.run_button.isEnabled()
    for row in range(3):
        clear(dialog, row)
    assert "choose a parameter" in dialog.grid_status.text() and not dialog.run_button.isEnabled()


def test_a_sweep_runs_every_combination_and_applies_the_best(qtbot, runs, dialog):
    made, _ = runs
    choose(dialog, 0, "model.step_ms", "4,2")
    choose(dialog, 1, "stages.io.num_parallel_calls", "1,2")
    dialog.steps.setValue(30)
    assert not dialog.apply_button.isEnabled()
    with qtbot.waitSignal(dialog.sweep_finished, timeout=20_000):
        dialog.run_button.click()
    assert [run.spec.model.params["step_ms"] for run in made] == [4.0, 4.0, 2.0, 2.0]
    assert all(run.spec.target() == (30, None) for run in made)
    assert dialog.worker is None and dialog.progress.value() == 1000
    assert dialog.results.rowCount() == 4 and dialog.results.item(2, 5).text() == "done"
    best = dialog.sweep.best
    assert best.texts[0] == "2"  # the shorter step is the faster one
    best_row = best.number - 1
    assert dialog.results.item(best_row, 0).font().bold()
    assert dialog.heatmap.rowCount() == 2 and dialog.heatmap.columnCount() == 2
    assert dialog.heatmap.item(1, best.indices[1]).text().startswith("★")
    assert "best: model.step_ms=2" in dialog.status.text()
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    assert dialog.applied == [best.assignments] and best.assignments[0] == ("model.step_ms", 2)


def test_cancel_stops_the_current_run_keeps_what_ran_and_leaves_no_thread(qtbot, runs, dialog):
    made, options = runs
    choose(dialog, 0, "model.step_ms", "2,4,8")
    clear(dialog, 1)
    dialog.steps.setValue(30)
    with qtbot.waitSignal(dialog.sweep_finished, timeout=20_000):
        dialog.run_button.click()
        qtbot.waitUntil(lambda: len(made) == 1 and dialog.worker is not None)
        options["hold"] = True  # the runs after the first hold until stopped
        qtbot.waitUntil(lambda: len(made) == 2 and len(made[1].records) == 5, timeout=10_000)
        assert dialog.cancel_button.isEnabled()
        dialog.cancel_button.click()
    assert len(made) == 2 and dialog.worker is None
    assert [combination.done for combination in dialog.sweep.combinations] == [True, False, False]
    assert dialog.status.text().startswith("Cancelled: 1 of 3 combinations run")
    assert dialog.run_button.isEnabled() and dialog.apply_button.isEnabled()


def test_a_real_sweep_of_two_short_runs(qtbot):
    """The real engine on the worker threads: two combinations of 30 steps, figures from their records.

    The input costs nothing (no io, no cpu work), so the model alone sets each step: 20 ms steps can
    make at most 50 steps/s, 1 ms steps many times that on any host (whatif's 4 ms of io would have
    held both to the same ~240 steps/s)."""
    spec = apply_overrides(load_preset("whatif"), [("stages.io.ms", 0), ("stages.cpu.ms", 0), ("run.warmup_steps", 5)])
    dialog = SweepDialog(spec, lambda assignments: None)
    qtbot.addWidget(dialog)
    choose(dialog, 0, "model.step_ms", "1,20")
    clear(dialog, 1)
    dialog.steps.setValue(30)
    with qtbot.waitSignal(dialog.sweep_finished, timeout=120_000):
        dialog.run_button.click()
    fast, slow = dialog.sweep.combinations
    assert fast.succeeded and slow.succeeded, (fast.error, slow.error)
    assert fast.summary["steps"] == 30 and slow.steps_per_s <= 1000 / 20  # no step is faster than the model's
    assert fast.steps_per_s > 2 * slow.steps_per_s, (fast.steps_per_s, slow.steps_per_s)
    assert dialog.sweep.best is fast and dialog.worker is None


def test_closing_mid_run_stops_it(qtbot, runs, dialog):
    made, options = runs
    options["hold"] = True
    clear(dialog, 1)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: made and len(made[0].records) == 5)
    dialog.close()
    assert dialog.worker is None and made[0].outcome.status == "stopped"


def test_run_is_off_while_the_window_runs(qtbot):
    dialog = SweepDialog(load_preset("whatif"), lambda assignments: None, is_running=lambda: True)
    qtbot.addWidget(dialog)
    assert not dialog.run_button.isEnabled() and "Stop the window's run first" in dialog.run_button.toolTip()


def test_three_parameters_show_one_heatmap_per_value_of_the_third(qtbot, runs, dialog):
    choose(dialog, 0, "stages.io.num_parallel_calls", "1,2")
    choose(dialog, 1, "model.step_ms", "1,2")
    choose(dialog, 2, "stages.prefetch.buffer_size", "1,4")
    dialog.steps.setValue(20)
    with qtbot.waitSignal(dialog.sweep_finished, timeout=30_000):
        dialog.run_button.click()
    assert dialog.page.isVisibleTo(dialog) and dialog.page.count() == 2
    assert dialog.page.itemText(1) == "stages.prefetch.buffer_size=4"
    dialog.page.setCurrentIndex(1)
    assert dialog.heatmap.rowCount() == 2 and dialog.heatmap.item(0, 0).text()


def test_apply_to_document_sets_each_value_as_an_undoable_edit(window):
    document = window.document
    before = document.undo_stack.count()
    apply_to_document(document, [("stages.io.num_parallel_calls", 4), ("model.step_ms", 2.0)])
    spec = document.spec()
    assert spec.stage("io").params["num_parallel_calls"] == 4 and spec.model.params["step_ms"] == 2.0
    assert document.undo_stack.count() == before + 2


def test_apply_to_document_changes_a_kind_as_the_recommendations_do(window):
    apply_to_document(window.document, [("feeder.kind", "queue_runner")])
    assert window.document.spec().feeder.kind == "queue_runner"


def sweep_in_window(window, qtbot, runs):
    """The window's sweep dialog, its first combination held at its 5th step."""
    made, options = runs
    options["hold"] = True
    window.tuning.open_sweep()
    dialog = window.tuning.sweep_dialog
    clear(dialog, 1)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: made and len(made[0].records) == 5, timeout=10_000)
    return dialog


def test_closing_the_window_mid_sweep_stops_the_sweeps_run(qtbot, runs, window):
    made, _ = runs
    dialog = sweep_in_window(window, qtbot, runs)
    worker = dialog.worker
    window.document.undo_stack.setClean()
    window.close()
    assert made[0].outcome.status == "stopped" and worker.isFinished() and not dialog.isVisible()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)  # closed from a closeEvent
    assert window.tuning.sweep_dialog is None  # closed, and deleted


def test_ctrl_c_stops_the_sweeps_run_before_quitting(qtbot, runs, window, monkeypatch):
    made, _ = runs
    handlers = []
    monkeypatch.setattr(app_module.signal, "signal", lambda number, handler: handlers.append((number, handler)))
    app = QtWidgets.QApplication.instance()
    exits = []
    monkeypatch.setattr(app, "exit", lambda: exits.append(True))  # outside a loop, a real exit() ends every later one
    interrupted = app_module._stop_on_ctrl_c(app, window)
    app.findChild(QtCore.QTimer, "pipescope-signal-waker").deleteLater()  # this test's loop needs no waking
    dialog = sweep_in_window(window, qtbot, runs)
    worker = dialog.worker
    ((number, on_sigint),) = handlers
    assert number == signal.SIGINT
    on_sigint()
    assert interrupted["yes"] and exits == [True] and made[0].outcome.status == "stopped" and worker.isFinished()


def test_a_run_that_does_not_stop_in_time_leaves_the_dialog_and_goes_when_it_ends(qtbot, runs, monkeypatch):
    made, options = runs
    options["hold"] = True
    monkeypatch.setattr(sweep_dialog, "STOP_WAIT_MS", 10)
    dialog = sweep_dialog.open_sweep_dialog(None, apply_overrides(load_preset("whatif"), [("run.warmup_steps", 5)]),
                                            lambda assignments: None)
    clear(dialog, 1)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: made and len(made[0].records) == 5, timeout=10_000)
    worker, run = dialog.worker, made[0]
    slow_stop = threading.Timer(0.3, run._stop.set)  # the run notices the stop late
    monkeypatch.setattr(run, "request_stop", slow_stop.start)
    dialog.close()  # deletes the dialog: the run's thread must not go with it
    assert worker.parent() is None and worker in sweep_dialog._LEFT_RUNNING
    qtbot.waitUntil(lambda: not sweep_dialog._LEFT_RUNNING, timeout=10_000)
    assert run.outcome.status == "stopped"
    slow_stop.join()


def test_the_sweep_dialog_follows_the_windows_run_and_opens_once(qtbot, window, fake_runs):
    window.tuning.open_sweep()
    dialog = window.tuning.sweep_dialog
    assert dialog.run_button.isEnabled()
    fake_runs.hold_at = 5
    window.start_run()
    assert not dialog.run_button.isEnabled()  # the window's run goes: no sweep beside it
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert dialog.run_button.isEnabled()
    window.tuning.open_sweep()  # the open one comes to the front: no second dialog
    assert window.tuning.sweep_dialog is dialog and len(window.findChildren(SweepDialog)) == 1
    dialog.close()
    qtbot.waitUntil(lambda: window.tuning.sweep_dialog is None)
