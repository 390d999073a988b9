"""Running from the app: live plots, stop, what-if edits, failures, exports, closing mid-run, the history.

Runs are fakes replaying recorded steps (tests/gui/fakes.py), except two that run the real
engine: a what-if edit applied by it in the window, and the scripted app in a process of its own.
"""
from __future__ import annotations

import json

import pyqtgraph as pg
import pytest

from core.engine.outcome import RunFailure
from core.spec.pipeline import apply_overrides
from gui.document import stage_key
from tests.gui.conftest import type_into
from tests.gui.fakes import recorded_rows

FAST = [("model.step_ms", 2.0), ("stages.io.ms", 1.0), ("stages.cpu.ms", 0.2)]


def load_fast(window, steps=None, seconds=None):
    spec = window.document.spec()
    length = [("run.steps", steps), ("run.seconds", None)] if steps else [("run.seconds", seconds)]
    window.load_spec(apply_overrides(spec, FAST + length + [("run.warmup_steps", 5)]))


def wait_finished(window, qtbot, timeout=60_000):
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=timeout)
    return window.controller.last_run


def test_run_fills_the_plots_and_exports(window, qtbot, fake_runs, tmp_path):
    fake_runs.realtime = True  # 150 steps of 10 ms, as the run's clock reaches them: the view sees it grow
    load_fast(window, steps=150)
    assert window.start_run()
    assert not window.toolbar.run_action.isEnabled() and window.toolbar.stop_action.isEnabled()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 20, timeout=10_000)
    assert window.controller.running and len(window.live_view.plots.fill_curve.getData()[0]) > 0  # drawn while running
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "finished" and len(run.records) == 150
    assert len(window.live_view.buffer) == 150
    band = window.live_view.plots.timeline_image.image
    assert band is not None and band.shape[1] >= 64  # the busy/idle band was drawn
    assert window.live_view.summary.latest["steps"] == 150
    assert "150 steps" in window.status_label.text() and "/FAKE:0" in window.status_label.text()
    assert window.toolbar.run_action.isEnabled()

    window.export_actions.plots_png(tmp_path / "plots.png")
    window.export_actions.plots_svg(tmp_path / "plots.svg")
    window.export_actions.window_png(tmp_path / "window.png")
    window.export_actions.run_files(tmp_path / "out")
    for name in ("plots.png", "plots.svg", "window.png", "out/summary.json", "out/steps.csv", "out/trace.json"):
        assert (tmp_path / name).stat().st_size > 100, name
    assert "<svg" in (tmp_path / "plots.svg").read_text()[:500]
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["steps"] == 150 and set(summary["ui_lag_ms"]) == {"p50", "p99", "max"}


def test_a_what_if_edit_is_sent_to_the_run_and_marked_on_the_plots(window, qtbot, fake_runs):
    fake_runs.hold_at = 40
    load_fast(window, seconds=60.0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) == 40, timeout=10_000)
    window.editor.select(stage_key("cpu"))
    type_into(window.inspector.editors["ms"].field, "0.5")
    run = fake_runs.made[-1]
    assert run.changes_requested[-1].stage("cpu").params["ms"] == 0.5
    window.controller.stop()
    assert wait_finished(window, qtbot).outcome.status == "stopped"
    change = run.outcome.changes[0]
    assert change.step == 40 and "stages.cpu.ms=0.5" in change.description
    timeline = window.live_view.plots.timeline_plot
    assert [line.value() for line in timeline.items if isinstance(line, pg.InfiniteLine)] == [change.t]
    assert window.controller.history.current.spec.stage("cpu").params["ms"] == 0.2  # as it started


def test_a_what_if_edit_is_applied_by_the_real_engine(window, qtbot):
    load_fast(window, seconds=60.0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 30, timeout=60_000)
    window.editor.select(stage_key("cpu"))
    type_into(window.inspector.editors["ms"].field, "0.5")  # a what-if edit while running
    qtbot.waitUntil(lambda: bool(window.controller.last_run.outcome.changes), timeout=20_000)
    window.controller.stop()
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "stopped"
    assert "stages.cpu.ms=0.5" in run.outcome.changes[0].description
    assert len(window.live_view.buffer) == len(run.records) > 30


def test_failure_names_the_stage_and_keeps_the_app_usable(window, qtbot, fake_runs, tmp_path):
    from core.spec.presets import load_preset

    fake_runs.rows = recorded_rows(3)
    fake_runs.fail_with = RunFailure("stage 'decode' failed: InvalidArgumentError: Unknown image file format; "
                                     "unreadable: images/img_000001.jpg", stage_id="decode")
    (tmp_path / "images").mkdir()
    window.load_spec(apply_overrides(load_preset("images_tf"), [("source.path", str(tmp_path / "images")),
                                                                ("run.steps", 20)]))
    window.start_run()
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "failed"
    assert window.error_banner.isVisible() and "stage 'decode' failed" in window.error_banner.text()
    assert window.editor.failed_key == stage_key("decode")
    assert "Failed · 3 steps" in window.status_label.text() and "unreadable" in window.status_label.text()
    assert window.toolbar.run_action.isEnabled()  # usable: can edit and run again
    window.export_actions.run_files(tmp_path / "out")
    assert json.loads((tmp_path / "out/summary.json").read_text())["status"] == "failed"


def test_closing_during_a_run_stops_the_worker(window, qtbot, fake_runs):
    fake_runs.hold_at = 10
    window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) == 10, timeout=10_000)
    worker = window.controller.worker
    window.close()
    assert worker.isFinished()
    assert window.controller.last_run.outcome.status == "stopped"


def test_the_sessions_runs_are_kept_and_another_pipeline_shows_none(window, qtbot, fake_runs):
    from core.spec.presets import load_preset

    history = window.controller.history
    for steps in (30, 40):
        fake_runs.rows = recorded_rows(steps)
        window.start_run()
        wait_finished(window, qtbot)
    assert [len(entry.rows()) for entry in history.entries] == [30, 40]
    assert history.current is history.entries[-1] and window.live_view.entry is history.current
    window.load_spec(load_preset("seed_tf_data"))
    assert history.current is None and len(history) == 2 and window.controller.last_run is None
    assert len(window.live_view.buffer) == 0


@pytest.mark.parametrize("preset", ["whatif"])
def test_scripted_mode_writes_screenshot_and_files(preset, tmp_path):
    import os
    import subprocess
    import sys

    from tests.gui.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "main.py", "gui", "--preset", preset, "--run", "--steps", "60",
         "--screenshot", str(tmp_path / "shot.png"), "--out", str(tmp_path / "out"), "--quit-after-run"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["steps"] == 60 and "ui_lag_ms" in summary
    # Recorded there as it went: the end adds the app's figures to run.json too, so `report` keeps them.
    assert "ui_lag_ms" in json.loads((tmp_path / "out/run.json").read_text())["extra"]
    assert len((tmp_path / "out/steps.csv").read_text().splitlines()) == 61
