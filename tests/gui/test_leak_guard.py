"""The leak guard catches what it promises: a timer, a single shot, a QThread and a Python thread left
running, each named with the line that started it — and it fails the test that leaked."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from PyQt5 import QtCore

from tests.gui.conftest import ROOT
from tests.leak_guard import LeakGuard, describe_leaks, watch_python_threads, watch_qt

LEAK_ON_PURPOSE = "PIPESCOPE_LEAK_ON_PURPOSE"


class Sleeper(QtCore.QThread):
    def __init__(self, until: threading.Event):
        super().__init__()
        self.until = until

    def run(self) -> None:
        self.until.wait(30)


def test_each_kind_of_leak_is_named_with_where_it_began(qapp):
    guard, release = LeakGuard(), threading.Event()
    guard.settle = qapp.processEvents
    with pytest.MonkeyPatch.context() as patches:
        watch_python_threads(guard, patches)
        watch_qt(guard, patches)
        timer = QtCore.QTimer()
        timer.setObjectName("left-on")
        timer.start(10_000)  # leak: timer
        QtCore.QTimer.singleShot(10_000, lambda: None)  # leak: single shot
        sleeper = Sleeper(release)
        sleeper.start()  # leak: QThread
        threading.Thread(target=release.wait, args=(30,), name="left-alive").start()  # leak: Python thread
        QtCore.QTimer.singleShot(0, lambda: None)  # fires while the guard settles: no leak
        leaks = guard.leaks(grace_s=0.2)
        release.set()
        guard.stop_all(leaks)
    report = describe_leaks(leaks)
    assert sorted(leak.what for leak in leaks) == ["QThread.start", "QTimer.singleShot", "QTimer.start",
                                                   "threading.Thread.start"], report
    here = "tests/gui/test_leak_guard.py:"
    assert all(here in leak.where[-1] for leak in leaks), report
    assert "(left-on)" in report and "(left-alive)" in report
    assert not timer.isActive() and sleeper.isFinished() and guard.leaks(grace_s=0) == []


def test_what_ends_within_the_grace_is_no_leak(qapp):
    guard = LeakGuard()
    with pytest.MonkeyPatch.context() as patches:
        watch_python_threads(guard, patches)
        threading.Thread(target=lambda: None).start()
        assert guard.leaks(grace_s=1.0) == []


@pytest.mark.skipif(not os.environ.get(LEAK_ON_PURPOSE), reason="run by the test below, which expects it to fail")
def test_leaves_a_single_shot_pending():
    QtCore.QTimer.singleShot(60_000, lambda: None)


def test_a_leaky_test_fails_naming_the_line():
    leaky = f"{__file__}::test_leaves_a_single_shot_pending"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", leaky], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env={**os.environ, LEAK_ON_PURPOSE: "1"})
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "QTimer.singleShot (60000 ms)" in result.stdout
    assert "tests/gui/test_leak_guard.py:" in result.stdout and "in test_leaves_a_single_shot_pending" in result.stdout


def test_a_process_left_running_is_a_leak_and_is_killed():
    import multiprocessing
    import time

    from tests.leak_guard import watch_processes

    guard = LeakGuard()
    with pytest.MonkeyPatch.context() as patches:
        watch_processes(guard, patches)
        left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # leak: a process
        done = subprocess.run([sys.executable, "-c", "pass"], check=True)  # waited for: no leak
        worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,), name="left-worker")
        worker.start()  # leak: a multiprocessing process
        leaks = guard.leaks(grace_s=0.2)
        guard.stop_all(leaks)
    report = describe_leaks(leaks)
    assert sorted(leak.what for leak in leaks) == ["multiprocessing.Process.start", "subprocess.Popen"], report
    assert all("tests/gui/test_leak_guard.py:" in leak.where[-1] for leak in leaks), report
    assert "(left-worker)" in report and done.returncode == 0
    assert left.poll() is not None and not worker.is_alive()
