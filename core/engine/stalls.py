"""Stalls: stretches in which the model asked for a batch and none came.

A stall starts once a request has waited `threshold_s` and ends when its batch
arrives. It names the stage the work is stuck in, as tf.data's live model of
the iterator shows it (see `core.engine.live_model.stuck_stage`). The watch is polled
by the run's supervisor, never from the stepping thread, so it costs the
measured steps nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass
class Stall:
    t: float  # seconds from the run's start when the request that stalled was made
    seconds: float  # how long it has lasted (final once `ongoing` is False)
    stage: Optional[str]  # stage id, "source", or None when tf.data cannot say
    ongoing: bool = True

    def to_dict(self) -> dict:
        return {"t": round(self.t, 3), "seconds": round(self.seconds, 3), "stage": self.stage,
                "ongoing": self.ongoing}

    def where(self) -> str:
        if self.stage is None:
            return "in the input pipeline (tf.data does not say where)"
        return "in the source" if self.stage == "source" else f"in stage '{self.stage}'"

    def describe(self) -> str:
        """`no batch for 12.0 s: the work is stuck in stage 'io'` (or how long it lasted, once over)."""
        if self.ongoing:
            return f"no batch for {self.seconds:.1f} s: the work is stuck {self.where()}"
        return f"stalled {self.seconds:.1f} s at {self.t:.1f} s {self.where()}"


class StallWatch:
    """Turns "waiting since t" readings into Stall records, one per stalled request."""

    def __init__(self, threshold_s: float, locate: Callable[[float], Optional[str]]):
        self.threshold_s = threshold_s
        self.stalls: list[Stall] = []
        self._locate = locate
        self._current: Optional[Stall] = None

    def observe(self, now: float, waiting_since: Optional[float], last_ready: Optional[float]) -> None:
        """`waiting_since`: when the pending request was made, or None when the model is not waiting;
        `last_ready`: when the latest batch arrived."""
        current = self._current
        if current is not None and (waiting_since is None or waiting_since != current.t):
            current.ongoing = False  # its batch came
            if last_ready is not None and last_ready >= current.t:
                current.seconds = last_ready - current.t
            self._current = None
        if waiting_since is None:
            return
        if self._current is not None:
            self._current.seconds = now - waiting_since
        elif now - waiting_since >= self.threshold_s:
            self._current = Stall(waiting_since, now - waiting_since, self._locate(now - waiting_since))
            self.stalls.append(self._current)

    def pending(self, now: float, waiting_since: Optional[float]) -> Optional[Stall]:
        """The request still waiting now, stalled or not yet (None when the model is not waiting)."""
        if waiting_since is None:
            return None
        stalled = self._current is not None and self._current.t == waiting_since
        stage = self._current.stage if stalled else self._locate(now - waiting_since)  # located once per stall
        return Stall(waiting_since, now - waiting_since, stage)

    def end(self, now: float) -> None:
        """The run is over: a stall still going lasted until now."""
        if self._current is not None:
            self._current.seconds = now - self._current.t
            self._current.ongoing = False
            self._current = None
