"""Run ▸ Capture the next run with tf.profiler: the next run (only) keeps a capture, and the status line
says where it is and how to open it. The run is the real engine's: the capture is TensorFlow's."""
from __future__ import annotations

from PyQt5 import QtWidgets

from core.spec.pipeline import apply_overrides

QUICK = [("model.step_ms", 2.0), ("stages.io.ms", 1.0), ("stages.cpu.ms", 0.0), ("run.steps", 30),
         ("run.seconds", None), ("run.warmup_steps", 5), ("run.profile_steps", 10)]


def menu_action(window, text: str) -> QtWidgets.QAction:
    actions = [action for menu in window.menuBar().findChildren(QtWidgets.QMenu) for action in menu.actions()]
    return next(action for action in actions if action.text().replace("&", "") == text)


def test_the_next_run_keeps_a_capture_and_the_status_line_says_where(window, qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "profile"
    folder.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    menu_action(window, "Capture the next run with tf.profiler…").trigger()
    assert window.controller.profile_next == str(folder)
    assert f"xprof --logdir {folder}" in window.statusBar().currentMessage()

    window.load_spec(apply_overrides(window.document.spec(), QUICK))
    assert window.start_run()
    assert window.controller.profile_next is None  # asked for one run, not every run after it
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=60_000)
    profile = window.controller.last_run.outcome.profile
    assert profile["steps"] == [5, 15] and profile["file"].startswith(str(folder.resolve()))
    qtbot.waitUntil(lambda: f"xprof --logdir {folder.resolve()}" in window.status_label.text(), timeout=10_000)
