"""Steps launched since the model last synced, laid into the records once it does.

With `model.sync: every_step` (the seed's way: the loss is read after each step)
a window holds one step and its records are exactly as measured. With
`sync: window` the host launches steps without waiting for them and syncs every
N steps (or about 50 ms), so the device may still be busy with one step while
the host takes the next batch: time the host spends waiting for input is the
device's idle time only where the device had nothing left to run.

The host times each step's parts and how long its launch took; the device's
own timeline is inferred as a queue. Step i starts when both its batch is
ready and the step before has ended, and lasts its launch plus a remainder
shared by every step of the window (what the device still had to do once the
launch returned: all of a step on a GPU, none on a CPU, where the launch runs
the step). The remainder is the one value that makes the last step end at the
sync. Each step's row is then laid from the end of the step before: the gap
the device waited (its host parts, scaled down to that gap: none where the
host had run ahead), then its compute, so that a window's rows end exactly at
the sync and every row's parts add up to its step. A window of one step keeps
the times as measured.
"""
from __future__ import annotations

from core.spec.records import StepRecords

AUTO_WINDOW_NS = 50_000_000  # `sync_window: 0`: sync about every 50 ms


def sync_policy(model_params: dict) -> tuple[int | None, int | None]:
    """(steps, ns): the model syncs after that many steps or that long from a window's first, whichever
    comes first (None: never); every step for `sync: every_step` and for models without the choice."""
    if model_params.get("sync", "every_step") == "every_step":
        return 1, None
    steps = model_params.get("sync_window") or None
    return steps, None if steps else AUTO_WINDOW_NS


def window_due(steps: int, elapsed_ns: int, max_steps: int | None, max_ns: int | None) -> bool:
    """A window of `steps` launched over `elapsed_ns` is to be synced (`sync_policy`'s limits; None: none)."""
    return (max_steps is not None and steps >= max_steps) or (max_ns is not None and elapsed_ns >= max_ns)


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
        return bool(self._steps) and window_due(len(self._steps), now_ns - self._steps[0][0],
                                                self.max_steps, self.max_ns)

    def flush(self, t_synced: int) -> None:
        """The model has synced at `t_synced`: append the window's steps to the records."""
        if not self._steps:
            return
        if len(self._steps) == 1:  # every_step: its times as measured (what the queue gives too), at less cost
            t_request, t_fetched, t_ready, _, fill, version, batch_size = self._steps.pop()
            self._append(t_request, t_fetched, t_ready, t_synced, fill, version, batch_size)
            self._previous_end = t_synced
            return
        remainder = self._shared_remainder(t_synced)
        host_done = device_done = self._previous_end
        for index, (t_request, t_fetched, t_ready, t_launched, fill, version, batch_size) in enumerate(self._steps):
            starts = max(t_ready, device_done)
            between, input_ns, transfer = _scaled((t_request - host_done, t_fetched - t_request, t_ready - t_fetched),
                                                  starts - device_done)
            row_request = device_done + between
            row_fetched = row_request + input_ns
            row_ready = row_fetched + transfer
            last = index == len(self._steps) - 1
            device_done = t_synced if last else starts + (t_launched - t_ready) + remainder
            self._append(row_request, row_fetched, row_ready, device_done, fill, version, batch_size)
            host_done = t_launched
        self._steps.clear()
        self._previous_end = t_synced

    def _shared_remainder(self, t_synced: int) -> float:
        """The device time per step past its launch that ends the window's queue exactly at `t_synced`.

        The queue ends at the latest of, over each step k, its ready time plus the launches and
        remainders of it and every step after it; each is a line rising with the remainder, so the
        queue first reaches the sync at the smallest of their solutions. Never negative: with no
        remainder the queue ends when the last launch returned, at or before the sync."""
        best, launches = float("inf"), 0
        for count, (_, _, t_ready, t_launched, *_) in enumerate(reversed(self._steps), start=1):
            launches += t_launched - t_ready
            best = min(best, (t_synced - t_ready - launches) / count)
        return max(0.0, best)

    def _append(self, t_request, t_fetched, t_ready, t_done, fill, version, batch_size) -> None:
        start = self.start_ns  # seconds from the run's start
        self.records.append((t_request - start) / 1e9, (t_ready - start) / 1e9, (t_done - start) / 1e9, fill,
                            version, batch_size, (t_fetched - start) / 1e9)


def _scaled(parts: tuple, total: float) -> tuple:
    """`parts` in their proportions, adding up to `total` (all zero when they add up to nothing)."""
    measured = sum(parts)
    if measured <= 0:
        return (0.0,) * len(parts)
    return tuple(part * total / measured for part in parts)
