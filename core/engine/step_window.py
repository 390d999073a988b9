"""Steps launched since the model last synced, laid into the records once it does.

With `model.sync: every_step` (the seed's way: the loss is read after each step)
a window holds one step and its records are exactly as measured. With
`sync: window` the host launches steps without waiting for them and syncs every
N steps (or about 50 ms): input and the copy to the device are still timed per
step, but a step's compute cannot be, so each step of a window gets the
window's average, (elapsed − between − input − transfer) / N. The window's
steps are then laid end to end from the previous sync, their own parts as
measured and the average compute after each, so that the last one ends exactly
at the sync and every row's parts add up to its step.
"""
from __future__ import annotations

from core.spec.records import StepRecords

AUTO_WINDOW_NS = 50_000_000  # `sync_window: 0`: sync about every 50 ms


class StepWindow:
    def __init__(self, records: StepRecords, start_ns: int, max_steps: int | None = None, max_ns: int | None = None):
        """Due after `max_steps` steps or `max_ns` from its first request, whichever comes first (None: never)."""
        self.records, self.start_ns = records, start_ns
        self.max_steps, self.max_ns = max_steps, max_ns
        self._steps: list[tuple] = []
        self._previous_end: int | None = None  # the last sync; None before the first step

    def __len__(self) -> int:
        return len(self._steps)

    def add(self, t_request: int, t_fetched: int, t_ready: int, t_launched: int, fill: int, version: int,
            batch_size: int) -> None:
        """A step the model has launched (all times in perf_counter_ns)."""
        if self._previous_end is None:
            self._previous_end = t_request
        self._steps.append((t_request, t_fetched, t_ready, t_launched, fill, version, batch_size))

    def due(self, now_ns: int) -> bool:
        if not self._steps:
            return False
        by_steps = self.max_steps is not None and len(self._steps) >= self.max_steps
        return by_steps or (self.max_ns is not None and now_ns - self._steps[0][0] >= self.max_ns)

    def flush(self, t_synced: int) -> None:
        """The model has synced at `t_synced`: append the window's steps to the records."""
        if not self._steps:
            return
        parts = []
        previous = self._previous_end
        for t_request, t_fetched, t_ready, t_launched, *_ in self._steps:
            parts.append((t_request - previous, t_fetched - t_request, t_ready - t_fetched))
            previous = t_launched
        compute = (t_synced - self._previous_end - sum(map(sum, parts))) / len(parts)
        cursor = self._previous_end
        for (between, input_ns, transfer), (*_, fill, version, batch_size) in zip(parts, self._steps):
            t_request = cursor + between
            t_fetched = t_request + input_ns
            t_ready = t_fetched + transfer
            cursor = t_ready + compute
            self._append(t_request, t_fetched, t_ready, cursor, fill, version, batch_size)
        self._steps.clear()
        self._previous_end = t_synced

    def _append(self, t_request, t_fetched, t_ready, t_done, fill, version, batch_size) -> None:
        s = lambda ns: (ns - self.start_ns) / 1e9  # noqa: E731 - seconds from the run's start
        self.records.append(s(t_request), s(t_ready), s(t_done), fill, version, batch_size, s(t_fetched))
