"""File → Watch script… in the app: a real training script (tests/watch_scripts) runs in its own process and
shows live in the plots, docks and canvas, as a run does. The dialog is driven through its function, never
shown modal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PyQt5 import QtWidgets

from core.experiments.change_channel import CHANGES_JSONL
from core.outputs.run_folder import load_run
from core.spec.params import SpecError
from gui.document import stage_key
from gui.watch_actions import WatchDialog
from tests.gui.test_run import wait_finished
from tests.gui.test_whatif_panel import change_markers
from tests.test_watched_run import MAP_LINE

SCRIPTS = Path(__file__).resolve().parents[1] / "watch_scripts"
CUSTOM_LOOP = str(SCRIPTS / "custom_loop.py")


def test_a_watched_script_shows_live_and_is_recorded_among_the_apps_runs(window, qtbot, tmp_path):
    entry = window.watch_actions.watch_script(CUSTOM_LOOP, "--epochs 3 --examples 160")
    assert window.controller.running and window.toolbar.stop_action.isEnabled()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 0, timeout=90_000)
    assert window.controller.running  # steps in the plots' records while the script still runs
    run = wait_finished(window, qtbot, timeout=90_000)
    assert run.outcome.status == "finished" and len(run.records) == 30
    assert len(window.live_view.buffer) == 30 and window.live_view.summary.latest["steps"] == 30
    assert window.live_view.summary.values["device"].text().startswith("/CPU:0")
    assert "Finished · 30 steps" in window.status_label.text()
    # The canvas shows the script's own pipeline, each stage with the line that made it.
    assert window.document.stage_ids() == ["slow_read", "batch", "prefetch"] and not window.document.problems()
    assert window.editor.texts_for(stage_key("slow_read"))[1] == "map slow_read"
    assert f"custom_loop.py:{MAP_LINE} · dataset = dataset.map(slow_read" in \
        window.editor.tooltip_for(stage_key("slow_read"))
    window.editor.select(stage_key("slow_read"))
    assert window.inspector.origin.text().startswith(f"Made at custom_loop.py:{MAP_LINE}")
    assert window.inspector.editors["fn"].combo.currentText() == "slow_read"
    # Its folder is one of the app's runs (File → Open run… starts there), written by the script's process.
    folder = Path(entry.folder)
    assert folder in window.controller.run_folders.folders() and folder.parent == tmp_path / "runs"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["source"] == "watch" and summary["steps"] == 30
    assert len(load_run(folder).records) == 30


def test_stop_in_the_toolbar_stops_the_script(window, qtbot):
    window.watch_actions.watch_script(CUSTOM_LOOP, "--epochs 100 --examples 160")
    qtbot.waitUntil(lambda: len(window.live_view.buffer) >= 3, timeout=90_000)
    window.toolbar.stop_action.trigger()
    run = wait_finished(window, qtbot, timeout=30_000)
    assert run.outcome.status == "stopped" and 3 <= len(run.records) < 1000
    assert "Stopped" in window.status_label.text()


def test_a_script_that_raises_is_a_failed_run_that_keeps_its_steps(window, qtbot):
    window.watch_actions.watch_script(str(SCRIPTS / "raises.py"))
    run = wait_finished(window, qtbot, timeout=90_000)
    assert run.outcome.status == "failed" and len(run.records) == 5
    assert "the script raised ValueError: bad batch at step 5" in window.error_banner.text()
    assert window.live_view.summary.latest["steps"] == 5


def test_bad_input_is_a_message_and_starts_nothing(window, monkeypatch, tmp_path):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    monkeypatch.setattr(WatchDialog, "exec_", lambda _dialog: QtWidgets.QDialog.Accepted)
    (tmp_path / "data.py").write_bytes(b"\x00\xff binary")
    for asked in [(str(tmp_path / "missing.py"), "", ""), (str(tmp_path / "data.py"), "", ""),
                  (CUSTOM_LOOP, "--name 'unclosed", ""), (CUSTOM_LOOP, "", str(tmp_path / "nowhere"))]:
        window.watch_actions.asked = asked
        window.watch_actions.ask_watch_script()
    assert [text.split(": ", 1)[1] for text in said] == [
        "no such script", "not a Python script (binary, not UTF-8 text)",
        "No closing quotation in \"--name 'unclosed\"", "the working directory is not a folder"]
    assert not window.controller.running and window.controller.last_run is None
    with pytest.raises(SpecError, match="no such script"):
        window.watch_actions.watch_script(str(tmp_path / "missing.py"))


def test_the_dialog_gives_the_script_its_arguments_and_working_directory(window):
    dialog = WatchDialog(window, CUSTOM_LOOP, "--epochs 3", "")
    assert dialog.values() == (CUSTOM_LOOP, "--epochs 3", "")
    assert dialog.cwd.placeholderText() == "the script's folder"
    dialog.deleteLater()


# ------------------------------------------------------------ what-if on the script while it trains

def watched_job(window, qtbot, script: str, args: str):
    """Watch `script` until its pipeline is imported and shown (it then takes changes)."""
    window.watch_actions.watch_script(script, args)
    run = window.controller.worker.run_obj
    qtbot.waitUntil(lambda: run.accepts_changes and window.document.stage_ids() == [stage.id for stage in
                                                                                    run.spec.stages], timeout=90_000)
    return run


def test_a_knob_of_the_whatif_panel_changes_the_watched_script_while_it_trains(window, qtbot):
    run = watched_job(window, qtbot, CUSTOM_LOOP, "--epochs 30 --examples 320")
    panel = window.whatif
    assert set(panel.rows) == {"slow_read · num_parallel_calls", "batch · batch_size", "prefetch · buffer_size"}
    assert panel.row("slow_read · num_parallel_calls").isEnabled() and panel.row("prefetch · buffer_size").isEnabled()
    assert not panel.row("batch · batch_size").isEnabled() and not panel.cache_combo.isEnabled()
    assert panel.intro.text().startswith("While the script trains")
    panel.row("slow_read · num_parallel_calls").number.setValue(3)  # typed, then Enter
    assert run.change_pending
    qtbot.waitUntil(lambda: bool(run.outcome.changes) and not run.change_pending, timeout=60_000)
    change = run.outcome.changes[0]
    assert change.description == "stages.slow_read.num_parallel_calls=3"
    qtbot.waitUntil(lambda: all(change_markers(plot) for plot in window.live_view.plots.plots()), timeout=10_000)
    assert [marker.value() for marker in change_markers(window.live_view.plots.fill_plot)] == [change.t]
    table = window.live_view.segments
    qtbot.waitUntil(lambda: table.columnCount() == 2, timeout=10_000)  # before and after, once both have steps
    assert table.horizontalHeaderItem(1).text() == "slow_read.num_parallel_calls=3"
    window.toolbar.stop_action.trigger()
    ended = wait_finished(window, qtbot, timeout=30_000)
    assert ended is run and ended.outcome.status == "stopped"
    assert window.document.block(stage_key("slow_read"))["num_parallel_calls"] == 3  # the job's, as it ended
    assert all(row.isEnabled() for row in panel.rows.values()) and panel.cache_combo.isEnabled()
    assert load_run(run.folder).outcome.changes[0].description == change.description


def test_an_edit_the_script_cannot_take_is_refused_in_a_message_and_nothing_is_sent(window, qtbot, monkeypatch):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    run = watched_job(window, qtbot, CUSTOM_LOOP, "--epochs 30 --examples 320")
    window.document.set_value(stage_key("batch"), "batch_size", 32)  # as the inspector sets it
    qtbot.waitUntil(lambda: bool(said), timeout=5_000)
    assert said == ["This change cannot reach the script: stages.batch.batch_size: 16 → 32: a watched script's "
                    "pipeline changes only in a stage's num_parallel_calls, buffer_size, cycle_length or "
                    "block_length while it trains (nothing was sent)."]
    assert window.document.block(stage_key("batch"))["batch_size"] == 16  # the canvas shows the job's again
    assert not run.change_pending and not (run.folder / CHANGES_JSONL).exists()
    window.controller.stop()
    wait_finished(window, qtbot, timeout=30_000)


def test_a_change_that_would_restart_the_data_is_asked_about_first(window, qtbot, monkeypatch, tmp_path):
    asked, answers = [], [QtWidgets.QMessageBox.No, QtWidgets.QMessageBox.Yes]
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda _parent, _title, text, *_buttons: asked.append(text) or answers.pop(0))
    run = watched_job(window, qtbot, str(SCRIPTS / "sequence_loop.py"),
                      f"--py-function --epochs 100000 --report {tmp_path / 'seen.json'}")
    knob = window.whatif.row("double_in_python · num_parallel_calls")
    knob.number.setValue(2)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=5_000)
    assert asked[0].startswith("sequence_loop's pipeline holds a py_function") and "start its data again" in asked[0]
    qtbot.waitUntil(lambda: window.document.block(stage_key("double_in_python"))["num_parallel_calls"] == 1,
                    timeout=5_000)  # no: taken back, nothing sent
    assert knob.number.value() == 1 and not (run.folder / CHANGES_JSONL).exists() and not run.change_pending
    knob.number.setValue(2)
    qtbot.waitUntil(lambda: len(asked) == 2 and (run.folder / CHANGES_JSONL).exists(), timeout=5_000)  # yes: sent
    qtbot.waitUntil(lambda: bool(run.outcome.changes) and not run.change_pending, timeout=60_000)
    assert run.outcome.changes[0].description == "stages.double_in_python.num_parallel_calls=2"
    assert json.loads((run.folder / CHANGES_JSONL).read_text())["allow_data_restart"] is True
    window.controller.stop()  # (Ctrl-C can be lost in a py_function's clean-up: then the script is killed)
    wait_finished(window, qtbot, timeout=30_000)
    assert [change["description"] for change in json.loads((run.folder / "run.json").read_text())["changes"]] == [
        "stages.double_in_python.num_parallel_calls=2"]
