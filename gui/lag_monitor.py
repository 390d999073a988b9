"""How the GUI keeps up during a run: how late its event loop runs (a precise timer notes how far each tick
slips) and how long the plots take to draw a frame."""
from __future__ import annotations

import time

import numpy as np
from PyQt5 import QtCore

TICK_MS = 20


class LagMonitor(QtCore.QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.timer = QtCore.QTimer(self)
        self.timer.setObjectName("pipescope-lag")
        self.timer.setTimerType(QtCore.Qt.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0
        self.lateness_ms: list[float] = []

    def start(self) -> None:
        self.lateness_ms = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now

    def summary(self) -> dict:
        """{p50, p99, max} in ms (zeros before any tick)."""
        return percentiles_ms(self.lateness_ms)


class FrameTimes:
    """The plots' frames: each paint, plus the data work (thinning, setData) of the redraws since the last one.

    The data work is the part that could grow with a run's length; the paint is what the user waits for."""

    def __init__(self):
        self.frames_ms: list[float] = []
        self._pending_data_s = 0.0

    def reset(self) -> None:
        self.frames_ms = []
        self._pending_data_s = 0.0

    def add_data_work(self, seconds: float) -> None:
        self._pending_data_s += seconds

    def add_paint(self, seconds: float) -> None:
        self.frames_ms.append((self._pending_data_s + seconds) * 1000.0)
        self._pending_data_s = 0.0

    def summary(self) -> dict:
        """{p50, p99, max} in ms and the number of frames."""
        return {**percentiles_ms(self.frames_ms), "frames": len(self.frames_ms)}


def percentiles_ms(values_ms: list) -> dict:
    """{p50, p99, max}, rounded to 0.01 ms; zeros for none."""
    if not values_ms:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    values = np.asarray(values_ms)
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": round(float(p50), 2), "p99": round(float(p99), 2), "max": round(float(values.max()), 2)}
