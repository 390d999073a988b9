"""The scripted app on real display servers (Xvfb and Weston, with Mesa), as users run it.

Offscreen hides crashes that only a real display shows: Qt's GLX (X11) and EGL
(Wayland) integrations once pulled Mesa's LLVM into the process next to
TensorFlow's own, and Run segfaulted. The servers must be installed (test.sh
installs them): a missing one fails these tests rather than skipping them, so a
green CI means the desktop app runs.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

STEPS = 30
# What a user's desktop session does not set: the app must run without them.
_QT_VARIABLES = ("QT_QPA_PLATFORM", "QT_XCB_GL_INTEGRATION", "QT_WAYLAND_CLIENT_BUFFER_INTEGRATION",
                 "QT_LOGGING_RULES", "DISPLAY", "WAYLAND_DISPLAY")


def _installed(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: ./test.sh installs it")
    return path


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a server that ignores SIGTERM must not outlive the test
        server.kill()
        server.wait(timeout=10)


@pytest.fixture
def x11_session(tmp_path):
    """A fresh Xvfb on a display number it picks itself (-displayfd): the session's variables."""
    log = tmp_path / "xvfb.log"  # a file, not a pipe: an unread pipe that fills up blocks the server
    read_end, write_end = os.pipe()
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [_installed("Xvfb"), "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=log_file, stderr=subprocess.STDOUT)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as reader:
            number = reader.readline().strip()
        assert number, f"Xvfb did not start: {log.read_text(errors='replace')[-500:]}"
        yield {"DISPLAY": f":{number}"}
    finally:
        _stop(server)


@pytest.fixture
def wayland_session(tmp_path):
    """A fresh headless Weston with its own runtime folder: the session's variables (no X server)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    socket = runtime / "wayland-test"
    log = tmp_path / "weston.log"
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [_installed("weston"), "--no-config", "--backend=headless-backend.so", f"--socket={socket.name}",
             "--width=1600", "--height=1000", "--idle-time=0"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert socket.exists(), f"Weston did not start: {log.read_text(errors='replace')[-500:]}"
        yield {"WAYLAND_DISPLAY": socket.name, "XDG_RUNTIME_DIR": str(runtime)}
    finally:
        _stop(server)


def _app(session: dict, *args: str) -> subprocess.CompletedProcess:
    """The app with `args`, in the display session `session` as a user's desktop has it."""
    env = {key: value for key, value in os.environ.items() if key not in _QT_VARIABLES}
    env.update(session)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "gui", *args],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("session", ["x11_session", "wayland_session"])
def test_scripted_app_runs_on_a_real_display(session, request, tmp_path):
    screenshot, out = tmp_path / "window.png", tmp_path / "run"
    result = _app(request.getfixturevalue(session), "--preset", "seed_tf_data", "--run", "--steps", str(STEPS),
                  "--screenshot", str(screenshot), "--out", str(out), "--quit-after-run")
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr[-2000:]}"
    _assert_is_a_drawn_window(screenshot)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == STEPS and summary["status"] == "finished"
    assert len((out / "steps.csv").read_text().splitlines()) == STEPS + 1
    assert (out / "timeline.png").stat().st_size > 0


def test_the_app_watches_a_training_script_on_a_real_display(x11_session, tmp_path):
    screenshot, out = tmp_path / "window.png", tmp_path / "run"
    script = ROOT / "tests" / "watch_scripts" / "custom_loop.py"
    result = _app(x11_session, "--watch", str(script), "--watch-args", "--epochs 3 --examples 160",
                  "--screenshot", str(screenshot), "--out", str(out), "--quit-after-run")
    assert result.returncode == 0, f"exit {result.returncode}; stderr:\n{result.stderr[-2000:]}"
    assert "epoch 3 done" in result.stdout  # the script's own output, passed through
    _assert_is_a_drawn_window(screenshot)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == "watch" and summary["status"] == "finished" and summary["steps"] == 30
    assert [stage["id"] for stage in summary["pipeline"]["stages"]] == ["slow_read", "batch", "prefetch"]
    assert set(summary["ui_lag_ms"]) == {"p50", "p99", "max"}  # the app's own figures, as for --run


def _assert_is_a_drawn_window(path) -> None:
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, f"{path}: not a readable PNG"
    assert image.shape[0] > 300 and image.shape[1] > 400
    assert image.std() > 10, "the screenshot is blank"
