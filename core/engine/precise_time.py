"""Sleeping for exactly as long as asked: the simulated costs' timings are the truth.

Linux wakes a sleeping thread up to its timer slack (50 µs by default) late,
plus the scheduler's own delay; at 2 ms steps that is 3–5% of every simulated
cost. Two remedies: the slack is set to 1 ns for this thread and every thread
it starts afterwards (TensorFlow's pools included, when set before they exist),
and a sleeper learns how late its wake-ups run and sleeps that much less,
spinning (with the GIL released on every turn) through the rest.
"""
from __future__ import annotations

import ctypes
import sys
import threading
import time

_PR_SET_TIMERSLACK = 29
_LATENESS_ALPHA = 0.1  # weight of the newest wake-up in the running lateness estimate
_FIRST_LATENESS_S = 60e-6


def tighten_timer_slack() -> None:
    """1 ns timer slack for the calling thread and the threads it creates from now on (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl in this libc: keep the default slack
        pass


class PreciseSleeper:
    """`sleep(seconds)` that ends within a few µs of the deadline, using almost no CPU.

    Per thread, it keeps an estimate of how late wake-ups come, sleeps the
    requested time less that estimate, then yields until the deadline.
    """

    def __init__(self):
        self._local = threading.local()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        deadline = time.perf_counter() + seconds
        lateness = getattr(self._local, "lateness", None)
        if lateness is None:
            tighten_timer_slack()  # a thread TensorFlow started before the slack was set
            lateness = _FIRST_LATENESS_S
        asleep = seconds - lateness
        if asleep > 0:
            woke_due = time.perf_counter() + asleep
            time.sleep(asleep)
            lateness += _LATENESS_ALPHA * ((time.perf_counter() - woke_due) - lateness)
        self._local.lateness = max(0.0, lateness)
        while time.perf_counter() < deadline:
            time.sleep(0)  # yields the GIL and the core to anything that wants them
