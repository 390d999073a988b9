"""The scripted app on a real X server (Xvfb with Mesa's OpenGL), as users run it.

Offscreen hides crashes that only a real display shows: on X11, Qt's GLX
integration once pulled Mesa's LLVM into the process next to TensorFlow's own,
and Run segfaulted. Xvfb must be installed (test.sh installs it): a missing
X server fails this test rather than skipping it, so a green CI means the
desktop app runs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

STEPS = 30
# What a user's desktop session does not set: the app must run without them.
_PLATFORM_VARIABLES = ("QT_QPA_PLATFORM", "QT_XCB_GL_INTEGRATION", "WAYLAND_DISPLAY")


@pytest.fixture
def x_display(tmp_path):
    """A fresh Xvfb on a display number it picks itself (-displayfd), stopped afterwards."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is not installed: ./test.sh installs it (Debian package xvfb)")
    log = tmp_path / "xvfb.log"  # a file, not a pipe: an unread pipe that fills up blocks the server
    read_end, write_end = os.pipe()
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [xvfb, "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=log_file, stderr=subprocess.STDOUT)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as reader:
            number = reader.readline().strip()
        if not number:
            pytest.fail(f"Xvfb did not start: {log.read_text(errors='replace')[-500:]}")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_scripted_app_runs_on_a_real_x_display(x_display, tmp_path):
    screenshot, out = tmp_path / "window.png", tmp_path / "run"
    env = {key: value for key, value in os.environ.items() if key not in _PLATFORM_VARIABLES}
    env["DISPLAY"] = x_display
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "gui", "--preset", "seed_tf_data", "--run", "--steps", str(STEPS),
         "--screenshot", str(screenshot), "--out", str(out), "--quit-after-run"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr[-2000:]}"
    _assert_is_a_drawn_window(screenshot)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == STEPS and summary["status"] == "finished"
    assert len((out / "steps.csv").read_text().splitlines()) == STEPS + 1
    assert (out / "timeline.png").stat().st_size > 0


def _assert_is_a_drawn_window(path) -> None:
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, f"{path}: not a readable PNG"
    assert image.shape[0] > 300 and image.shape[1] > 400
    assert image.std() > 10, "the screenshot is blank"
