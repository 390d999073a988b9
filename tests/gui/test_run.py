"""Running from the app: live plots, stop, what-if edits, failures, exports, closing mid-run."""
from __future__ import annotations

import json

import pytest

from core.spec.pipeline import apply_overrides
from gui.document import stage_key
from tests.gui.conftest import type_into

FAST = [("model.step_ms", 2.0), ("stages.io.ms", 1.0), ("stages.cpu.ms", 0.2)]


def load_fast(window, steps=None, seconds=None):
    spec = window.document.spec()
    length = [("run.steps", steps), ("run.seconds", None)] if steps else [("run.seconds", seconds)]
    window.load_spec(apply_overrides(spec, FAST + length + [("run.warmup_steps", 5)]))


def wait_finished(window, qtbot, timeout=60_000):
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=timeout)
    return window.controller.last_run


def test_run_fills_the_plots_and_exports(window, qtbot, tmp_path):
    load_fast(window, steps=150)
    assert window.start_run()
    assert not window.toolbar.run_action.isEnabled() and window.toolbar.stop_action.isEnabled()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 20, timeout=60_000)
    assert len(window.live_view.plots.fill_curve.getData()[0]) > 0  # drawn while running
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "finished" and len(run.records) == 150
    assert len(window.live_view.buffer) == 150
    band = window.live_view.plots.timeline_image.image
    assert band is not None and band.shape[1] >= 64  # the busy/idle band was drawn
    assert window.live_view.summary.latest["steps"] == 150
    assert "150 steps" in window.status_label.text() and "/CPU:0" in window.status_label.text()
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


def test_stop_mid_run_and_what_if_edit(window, qtbot):
    load_fast(window, seconds=60.0)
    figures = []
    window.live_view.stage_figures.connect(figures.append)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 30, timeout=60_000)
    window.editor.select(stage_key("cpu"))
    type_into(window.inspector.editors["ms"].field, "0.5")  # a what-if edit while running
    qtbot.waitUntil(lambda: bool(window.controller.last_run.outcome.changes), timeout=20_000)
    qtbot.waitUntil(lambda: any(figures), timeout=20_000)  # tf.data's own model, per block
    window.controller.stop()
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "stopped"
    assert "stages.cpu.ms=0.5" in run.outcome.changes[0].description
    assert len(window.live_view.buffer) == len(run.records) > 30
    assert "prefetch" in window.editor.live


def test_failure_names_the_stage_and_keeps_the_app_usable(window, qtbot, tmp_path):
    from core.spec.presets import load_preset
    from core.engine.sample_data import write_sample_images

    write_sample_images(tmp_path / "images", 6, size=(32, 24), corrupt=6)
    spec = apply_overrides(load_preset("images_tf"), [
        ("source.path", str(tmp_path / "images")), ("source.sample_count", 0), ("run.steps", 20),
        ("stages.batch.batch_size", 2), ("model.filters", 2)])
    window.load_spec(spec)
    window.start_run()
    run = wait_finished(window, qtbot)
    assert run.outcome.status == "failed"
    assert "decode" in str(run.outcome.error)
    assert window.error_banner.isVisible() and "decode" in window.error_banner.text()
    assert window.editor.failed_key == stage_key("decode")
    assert window.toolbar.run_action.isEnabled()  # usable: can edit and run again
    window.export_actions.run_files(tmp_path / "out")
    assert json.loads((tmp_path / "out/summary.json").read_text())["status"] == "failed"


def test_closing_during_a_run_stops_the_worker(window, qtbot):
    load_fast(window, seconds=60.0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.live_view.buffer) > 5, timeout=60_000)
    worker = window.controller.worker
    window.close()
    assert worker.isFinished()
    assert window.controller.last_run.outcome.status == "stopped"


@pytest.mark.parametrize("preset", ["whatif"])
def test_scripted_mode_writes_screenshot_and_files(preset, tmp_path):
    import subprocess
    import sys

    from tests.gui.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "main.py", "gui", "--preset", preset, "--run", "--steps", "60",
         "--screenshot", str(tmp_path / "shot.png"), "--out", str(tmp_path / "out"), "--quit-after-run"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                   "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "shot.png").stat().st_size > 10_000
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["steps"] == 60 and "ui_lag_ms" in summary
