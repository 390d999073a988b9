"""Runs on disk in the app: every run recorded as it goes, File → Open run… showing a recorded run as
a run that has just ended, and the run a crash cut off offered back at the next start. No TensorFlow:
the recorded runs are fakes written by the same stream the engine's runs use."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PyQt5 import QtWidgets

from core.engine.outcome import RunFailure, RunStatus
from core.outputs.record_stream import RecordStream
from core.outputs.run_folder import load_run
from core.spec.params import SpecError
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from gui.document import stage_key
from gui.unfinished_run import FOLDER_KEY, UnfinishedRun
from tests.gui.fakes import FakeRun, recorded_rows


def fake_run(steps: int = 120, preset: str = "whatif", **options) -> FakeRun:
    spec = apply_overrides(load_preset(preset), [("run.steps", steps), ("run.warmup_steps", 5)])
    run = FakeRun(spec, recorded_rows(steps), **options)
    for second in range(3):  # the probes' samples of two stages
        run.stage_records.append(float(second), "prefetch", 3, 100 * second, 0)
        run.stage_records.append(float(second), "io", 0, 100 * second, 0)
    return run


def recorded(folder, run: FakeRun):
    """`folder` holds `run`, ended, as its stream leaves it (what `run --out` adds is not read back)."""
    RecordStream(run.finish_now(), folder).close()
    return folder


def test_a_recorded_run_opens_as_a_run_that_has_just_ended(window, tmp_path):
    folder = recorded(tmp_path / "seed", fake_run(150, "seed_tf_data"))
    entry = window.run_folder_actions.open_run_folder(folder)
    assert window.document.title == "seed_tf_data" and entry.loaded and entry.folder == str(folder)
    assert window.controller.history.current is entry and not window.controller.running
    assert len(window.live_view.buffer) == 150 and window.live_view.summary.latest["steps"] == 150
    assert window.status_label.text().startswith("Finished · 150 steps")
    assert window.toolbar.progress.value() == 1000
    assert f"Opened the run recorded in {folder}" in window.statusBar().currentMessage()
    assert window.toolbar.run_action.isEnabled()


def test_the_blocks_show_the_recorded_stage_figures(window, tmp_path):
    window.run_folder_actions.open_run_folder(recorded(tmp_path / "whatif", fake_run()))
    assert window.editor.live["prefetch"]["buffered"] == 3
    assert window.editor.live["prefetch"]["elements_per_s"] == pytest.approx(100.0)


def test_a_recorded_failure_is_shown_as_it_was(window, tmp_path):
    failure = RunFailure("stage 'io' failed: OSError: gone", stage_id="io")
    window.run_folder_actions.open_run_folder(recorded(tmp_path / "failed", fake_run(fail_with=failure)))
    assert window.error_banner.isVisible() and "stage 'io' failed" in window.error_banner.text()
    assert window.editor.failed_key == stage_key("io")


@pytest.mark.parametrize("status, steps", [(RunStatus.RUNNING, 80), (RunStatus.BUILDING, 0)])
def test_a_run_cut_off_says_so(window, tmp_path, status, steps):
    run = fake_run(80)
    run.records.extend(recorded_rows(80)[:steps])
    run.outcome.status = status
    RecordStream(run, tmp_path / "killed")  # writes what there is, and is never closed: a kill
    entry = window.run_folder_actions.open_run_folder(tmp_path / "killed")
    assert entry.cut_off and entry.ended and not window.live_view.running
    assert window.status_label.text().startswith(f"Cut off (it was killed, or crashed, before it ended) · {steps} steps")
    assert "last second may be missing" in window.statusBar().currentMessage()


def test_a_folder_without_a_run_is_said_plainly(window, tmp_path, monkeypatch):
    with pytest.raises(SpecError, match="no run recorded here"):
        window.run_folder_actions.open_run_folder(tmp_path)
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path))
    window.run_folder_actions.ask_open_run()
    assert len(said) == 1 and str(tmp_path) in said[0] and window.document.title == "whatif"


def test_the_apps_runs_are_recorded_and_reopen_the_same(window, qtbot, fake_runs, settings):
    fake_runs.hold_at = 60
    window.start_run()
    entry = window.controller.history.current
    assert entry.folder and settings.value(FOLDER_KEY) == entry.folder  # noted while it runs
    qtbot.waitUntil(lambda: len(window.live_view.buffer) == 60, timeout=10_000)
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert settings.value(FOLDER_KEY) is None  # the app saw it end
    reread = load_run(entry.folder)
    assert reread.closed and reread.outcome.status == "stopped" and len(reread.records) == 60
    reopened = window.run_folder_actions.open_run_folder(entry.folder)
    assert reopened.id != entry.id
    np.testing.assert_allclose(reopened.rows(), entry.rows(), atol=1e-6)  # steps.csv keeps microseconds


def test_showing_an_ended_run_in_the_runs_dock_notes_nothing(window, qtbot, fake_runs, settings):
    """Only a run still going is noted: clicking an ended run must not make the next start offer it back."""
    fake_runs.rows = recorded_rows(30)
    window.start_run()
    first = window.controller.history.current
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    window.start_run()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert settings.value(FOLDER_KEY) is None and first.ended and first.folder
    window.controller.show_entry(first.id)  # as a click on it in the Runs dock
    assert window.controller.history.current is first and settings.value(FOLDER_KEY) is None


def dead_process_id() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("answer", [QtWidgets.QMessageBox.Open, QtWidgets.QMessageBox.Ignore], ids=["open", "ignore"])
def test_after_a_crash_the_last_run_is_offered_once(window, settings, tmp_path, monkeypatch, answer):
    folder = recorded(tmp_path / "crashed", fake_run(90))
    settings.setValue("unfinished_run/folder", str(folder))
    settings.setValue("unfinished_run/pid", dead_process_id())
    asked = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *args: asked.append(args[2]) or answer)
    window.run_folder_actions.offer_to_reopen()
    window.run_folder_actions.offer_to_reopen()  # asked once, whatever the answer
    assert len(asked) == 1 and str(folder) in asked[0]
    opened = answer == QtWidgets.QMessageBox.Open
    assert (len(window.live_view.buffer) == 90) is opened and (window.controller.history.current is not None) is opened


def test_a_run_going_in_another_app_is_not_a_crash(settings, tmp_path):
    unfinished = UnfinishedRun(settings)
    unfinished.note(tmp_path)
    settings.setValue("unfinished_run/pid", os.getppid())  # alive: the app that noted it still runs
    assert unfinished.left_by_a_crash() is None
    settings.setValue("unfinished_run/pid", dead_process_id())
    assert unfinished.left_by_a_crash() == tmp_path


KILLED_MID_RUN = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PyQt5 import QtCore
from gui.qt_app import ensure_qapp
app = ensure_qapp()
import gui.worker
from tests.gui.fakes import FakeRun
gui.worker.Run = lambda spec: FakeRun(spec, hold_at=50)  # 50 steps, then going until stopped
from core.spec.presets import load_preset
from gui.main_window import MainWindow
window = MainWindow(QtCore.QSettings({settings!r}, QtCore.QSettings.IniFormat), runs_folder={runs!r})
window.load_spec(load_preset("whatif"))
window.start_run()
steps_csv = Path(window.controller.history.current.folder) / "steps.csv"

def kill_once_streamed():
    if steps_csv.read_text().count("\\n") > 50:  # the header and 50 rows: the stream wrote them
        os.kill(os.getpid(), signal.SIGKILL)

timer = QtCore.QTimer()
timer.timeout.connect(kill_once_streamed)
timer.start(50)
app.exec_()
"""


def test_an_app_killed_mid_run_leaves_the_run_to_reopen(window, settings, tmp_path, monkeypatch):
    """A real kill (SIGKILL, no clean-up of any kind) of an app whose run streams; the next app offers it."""
    from tests.gui.conftest import ROOT

    script = KILLED_MID_RUN.format(root=str(ROOT), settings=settings.fileName(), runs=str(tmp_path / "killed-runs"))
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    settings.sync()  # what the killed app wrote
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *args: QtWidgets.QMessageBox.Open)
    window.run_folder_actions.offer_to_reopen()
    entry = window.controller.history.current
    assert entry is not None and entry.cut_off and entry.folder.startswith(str(tmp_path / "killed-runs"))
    status = window.status_label.text()
    assert len(window.live_view.buffer) == 50 and status.startswith("Cut off (") and " · 50 steps · " in status
