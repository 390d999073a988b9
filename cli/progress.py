"""A progress line on stderr: redrawn in place on a terminal, a line per 10% otherwise."""
from __future__ import annotations

import sys
import time
from typing import Optional


class ProgressBar:
    WIDTH = 30

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0
        self._last_decile = -1

    def update(self, fraction: float, detail: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.interactive:
            now = time.monotonic()
            if now - self._last_draw >= 0.2:
                self._last_draw = now
                filled = int(self.WIDTH * fraction)
                bar = "█" * filled + "·" * (self.WIDTH - filled)
                self.stream.write(f"\r{self.label} {bar} {100 * fraction:5.1f}%  {detail}\033[K")
                self.stream.flush()
            return
        decile = int(fraction * 10)
        if decile > self._last_decile:
            self._last_decile = decile
            self.stream.write(f"{self.label}: {100 * fraction:.0f}%  {detail}\n")
            self.stream.flush()

    def finish(self, fraction: Optional[float] = None, detail: str = "") -> None:
        """The final state, drawn past the throttle (a run shorter than one poll drew nothing), and the
        line's end."""
        if fraction is not None:
            self._last_draw = 0.0
            self.update(fraction, detail)
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
