"""The leak guard: records where each thread, timer and process was started during a test, and names those
still running.

As napari's test fixtures do, `start` itself is patched — `threading.Thread.start`, `subprocess.Popen`
and `multiprocessing.Process.start`, and for GUI tests `QTimer.start`, `QTimer.singleShot` and
`QThread.start` — so nothing escapes by its name or by how it was made, and a leak is reported with a
short stack of where it began. The fixtures
that use it are in tests/conftest.py and tests/gui/conftest.py; Qt is imported only by `watch_qt`.
"""
from __future__ import annotations

import functools
import multiprocessing.process
import subprocess
import threading
import time
import traceback
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
STACK_DEPTH = 4  # frames of our own code: enough to find the line, short enough to read
GRACE_S = 1.0  # a thread asked to stop may take a moment to end: that is not a leak
LEFTOVER_WAIT_S = 30.0  # after a leak, so the next test starts in a clean process


@dataclass
class Started:
    what: str  # "QTimer.start", "threading.Thread.start", …
    name: str
    where: list[str]
    is_running: Callable[[], bool]
    stop: Callable[[], None]  # stops (and waits for) it, once it is known to be a leak


class LeakGuard:
    """What was started while watching; `leaks()` says which of it is still running."""

    def __init__(self):
        self._started: dict[int, Started] = {}  # by object: a timer restarted is one timer
        self._kept: list = []  # objects the guard itself made (single-shot timers), alive until the test ends
        self.settle: Callable[[], None] = lambda: None  # runs pending events (the Qt fixture sets it)

    def record(self, obj, what: str, is_running: Callable[[object], bool], stop: Callable[[object], None],
               name: str = "") -> None:
        ref = weakref.ref(obj)
        self._started[id(obj)] = Started(
            what, name or type(obj).__name__, where_started(),
            is_running=lambda: (alive := ref()) is not None and is_running(alive),
            stop=lambda: (alive := ref()) is not None and stop(alive))

    def keep(self, obj) -> None:
        self._kept.append(obj)

    def leaks(self, grace_s: float = GRACE_S) -> list[Started]:
        """What is still running after up to `grace_s` of letting it end (and of running pending events)."""
        deadline = time.monotonic() + grace_s
        while True:
            self.settle()
            running = [started for started in self._started.values() if started.is_running()]
            if not running or time.monotonic() >= deadline:
                return running
            time.sleep(0.02)

    def stop_all(self, leaks: list[Started]) -> None:
        for leak in leaks:
            leak.stop()
        self._started.clear()
        self._kept.clear()


def describe_leaks(leaks: list[Started]) -> str:
    lines = [f"a test left {len(leaks)} thread(s), timer(s) or process(es) running; each was started at:"]
    for leak in leaks:
        lines.append(f"  {leak.what} ({leak.name})")
        lines.extend(f"      {frame}" for frame in leak.where)
    return "\n".join(lines)


def where_started() -> list[str]:
    """The last few frames of our own code (tests, gui, core, cli) that led here, oldest first."""
    frames = traceback.extract_stack()
    ours = [frame for frame in frames if _is_ours(frame.filename)]
    return [f"{Path(frame.filename).resolve().relative_to(ROOT)}:{frame.lineno} in {frame.name}"
            for frame in ours[-STACK_DEPTH:]] or [f"{frame.filename}:{frame.lineno}" for frame in frames[-STACK_DEPTH:]]


@functools.lru_cache(maxsize=None)  # every start walks the stack: resolve each file once
def _is_ours(filename: str) -> bool:
    path = Path(filename).resolve()
    if not path.is_relative_to(ROOT) or ".venv" in path.parts:
        return False
    return path.name != "leak_guard.py"  # the guard's own patches are not where the leak began


def watch_python_threads(guard: LeakGuard, monkeypatch) -> None:
    original_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        guard.record(thread, "threading.Thread.start", threading.Thread.is_alive,
                     lambda alive: alive.join(LEFTOVER_WAIT_S), name=thread.name)
        original_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)


def watch_processes(guard: LeakGuard, monkeypatch) -> None:
    """`subprocess.Popen` and `multiprocessing.Process.start`: a process still running at a test's end (a
    tf.data service worker, a watched script) is a leak, killed once it is known to be one."""
    popen_init, process_start = subprocess.Popen.__init__, multiprocessing.process.BaseProcess.start

    def init(popen: subprocess.Popen, args, *rest, **options) -> None:
        popen_init(popen, args, *rest, **options)
        name = " ".join(map(str, args))[:80] if isinstance(args, (list, tuple)) else str(args)[:80]
        guard.record(popen, "subprocess.Popen", lambda alive: alive.poll() is None, _kill_popen, name=name)

    def start(process) -> None:
        process_start(process)
        guard.record(process, "multiprocessing.Process.start", lambda alive: alive.is_alive(), _kill_process,
                     name=process.name)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)  # every context's processes


def _kill_popen(popen: subprocess.Popen) -> None:
    popen.kill()
    popen.wait(LEFTOVER_WAIT_S)


def _kill_process(process) -> None:
    process.kill()
    process.join(LEFTOVER_WAIT_S)


def watch_qt(guard: LeakGuard, monkeypatch) -> None:
    """QTimer.start, QTimer.singleShot and QThread.start, recorded as they are called from Python."""
    from PyQt5 import QtCore

    timer_start, thread_start = QtCore.QTimer.start, QtCore.QThread.start

    def start_timer(timer: QtCore.QTimer, *args) -> None:
        guard.record(timer, "QTimer.start", _timer_active, QtCore.QTimer.stop, name=timer.objectName())
        timer_start(timer, *args)

    def single_shot(msec: int, *args) -> None:
        """singleShot(msec, [timer type,] slot) as a timer the guard can see, made on the calling thread."""
        timer = QtCore.QTimer()
        timer.setSingleShot(True)
        if len(args) == 2:
            timer.setTimerType(args[0])
        timer.timeout.connect(args[-1])
        guard.keep(timer)  # nobody else holds it: it must live until it fires
        guard.record(timer, "QTimer.singleShot", _timer_active, QtCore.QTimer.stop, name=f"{msec} ms")
        timer_start(timer, msec)

    def start_thread(thread: QtCore.QThread, *args) -> None:
        guard.record(thread, "QThread.start", _thread_running, _stop_qthread, name=thread.objectName())
        thread_start(thread, *args)

    monkeypatch.setattr(QtCore.QTimer, "start", start_timer)
    monkeypatch.setattr(QtCore.QTimer, "singleShot", staticmethod(single_shot))
    monkeypatch.setattr(QtCore.QThread, "start", start_thread)


def _deleted(obj) -> bool:
    from PyQt5 import sip

    return sip.isdeleted(obj)


def _timer_active(timer) -> bool:
    return not _deleted(timer) and timer.isActive()


def _thread_running(thread) -> bool:
    return not _deleted(thread) and thread.isRunning()


def _stop_qthread(thread) -> None:
    """A run worker is asked to stop its run first; any QThread is then waited for."""
    run = getattr(thread, "run_obj", None)
    if run is not None:
        run.request_stop()
    thread.wait(int(LEFTOVER_WAIT_S * 1000))
