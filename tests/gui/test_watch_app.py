"""File → Watch script… in the app: a real training script (tests/watch_scripts) runs in its own process and
shows live in the plots, docks and canvas, as a run does. The dialog is driven through its function, never
shown modal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PyQt5 import QtWidgets

from core.outputs.run_folder import load_run
from core.spec.params import SpecError
from gui.document import stage_key
from gui.watch_actions import WatchDialog
from tests.gui.test_run import wait_finished

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
    assert "custom_loop.py:27 · dataset = dataset.map(slow_read" in window.editor.tooltip_for(stage_key("slow_read"))
    window.editor.select(stage_key("slow_read"))
    assert window.inspector.origin.text().startswith("Made at custom_loop.py:27")
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
