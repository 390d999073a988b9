"""How late the GUI event loop runs: a precise timer notes how far each tick slips."""
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
        if not self.lateness_ms:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}
        values = np.asarray(self.lateness_ms)
        p50, p99 = np.percentile(values, [50, 99])
        return {"p50": round(float(p50), 2), "p99": round(float(p99), 2), "max": round(float(values.max()), 2)}
