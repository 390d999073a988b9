"""Timing a watched script's Keras `model.fit` (`watch`, issue 16 §3).

In Keras 3 the batch is taken inside the traced train function (`multi_step_on_iterator` calls
`iterator.get_next()` within a `tf.function`), so no timing on the host can split a step's wait
from its compute. `fit` is wrapped, as MLflow's autolog wraps it, to add a callback: a step runs
from one `on_train_batch_begin` to the next (or to the epoch's end, before validation). Its wait is
its IteratorGetNext op's own time, metered in the train function (`core.engine.traced_wait`). Where
that cannot be (a tf.distribute strategy's iterators), the wait share comes from short tf.profiler
captures every CAPTURE_EVERY_S, read as XProf reads them: the host's `IteratorGetNext` op time over
the captured steps. Each step's wait is then the latest capture's share of it; the steps before the
first capture wait for it, so none is written without one. A capture starts and stops between
steps, so its own cost is the job's `between`, not a step's.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from core.engine.iterator_hooks import DatasetSteps
from core.engine.traced_wait import TracedWait

CAPTURE_EVERY_S = 10.0
CAPTURE_AFTER_STEPS = 20  # past tracing, and past the batches the pipeline made ahead while it traced
CAPTURE_STEPS = 20
_CALLBACKS_POSITION = 5  # fit(x, y, batch_size, epochs, verbose, callbacks, …)
# The host's events of the iterator ops, as XProf's input analysis counts them.
_GET_NEXT_EVENTS = frozenset({"IteratorGetNextOp::DoCompute", "IteratorGetNextAsOptionalOp::DoCompute"})
WAIT_MEASURED = ("Keras fit: a step runs from one on_train_batch_begin to the next; its wait is the share of the "
                 "host's IteratorGetNext time in tf.profiler captures of {steps} steps every {every:g} s, as XProf "
                 "reads it")
WAIT_METERED = ("Keras fit: a step runs from one on_train_batch_begin to the next; its wait is its IteratorGetNext "
                "op's own time, timed inside fit's train function by two tf.timestamp ops around it")


@dataclass
class CapturedSteps(DatasetSteps):
    """Steps timed at their boundaries (fit's callback, or the calls of the script's own tf.function). Each
    step's wait comes from the wait meter traced into the function around its request where there is one;
    else the steps are held until a capture has given the wait share they are written with."""

    meters_traced_requests = True  # (a class attribute) the hooks meter this dataset's traced requests
    batch_size: int = 1
    timed_by: str = "fit"  # or "function": a loop whose iterator lives in the script's own tf.function
    wait_note: Optional[str] = None  # why the wait was not measured, when it was not
    share: Optional[float] = None
    captures: list = field(default_factory=list)  # {steps, wait_share} of each capture read
    wait_meter: Optional[TracedWait] = None  # made by the hooks when the request is first traced
    _waited_s: float = 0.0  # the meter's total as the open step began (0: the meter was made during it)
    _pending: list = field(default_factory=list)  # (begin_ns, end_ns, batch size, version, waited ns or None)

    @property
    def steps_taken(self) -> int:
        return len(self.records) + len(self._pending)

    def batch_begins(self, t_ns: int, batch_size: int) -> None:
        after_a_step = self._open is not None
        self.step_ends(t_ns)
        if not after_a_step and self.wait_meter is not None:  # fit's validation since may have waited on it
            self._waited_s = self.wait_meter.total_s()
        self.requests += 1
        self._open = (t_ns, batch_size)

    def step_ends(self, t_ns: int) -> None:
        if self._open is not None:
            begin, batch = self._open
            self._open = None
            self._pending.append((begin, t_ns, batch, self.config_version, self._metered_wait_ns()))
            self._write_pending()

    def _metered_wait_ns(self) -> Optional[float]:
        """The wait of the step just ended, from the meter's total now and when it began."""
        if self.wait_meter is None:
            return None
        total = self.wait_meter.total_s()
        waited, self._waited_s = total - self._waited_s, total
        return waited * 1e9

    def share_measured(self, share: float, steps: int) -> None:
        self.share = share
        self.captures.append({"steps": steps, "wait_share": round(share, 4)})
        self._write_pending()

    def _write_pending(self) -> None:
        scale, start = 1e-9, self.start_ns
        written = 0
        for begin, end, batch, version, waited_ns in self._pending:
            if waited_ns is None:
                if self.share is None:
                    break  # written in order, once a capture has measured the share
                waited_ns = self.share * (end - begin)
            ready = begin + min(waited_ns, end - begin)
            self.records.append((begin - start) * scale, (ready - start) * scale, (end - start) * scale, 0, version,
                                batch, (ready - start) * scale)
            written += 1
        del self._pending[:written]


class WaitCapture:
    """tf.profiler sessions of CAPTURE_STEPS steps, every CAPTURE_EVERY_S; each gives a wait share."""

    def __init__(self, steps: CapturedSteps):
        self.steps = steps
        self.not_measured: Optional[str] = None
        self._logdir: Optional[str] = None
        self._started: Optional[tuple[int, int]] = None  # (steps taken, perf_counter_ns) at the start
        self._last_end_ns = 0

    def between_steps(self, steps_taken: int) -> None:
        if self.not_measured or self.steps.wait_meter is not None:
            return
        now = time.perf_counter_ns()
        if self._started is None:
            due = steps_taken >= CAPTURE_AFTER_STEPS and (
                self.steps.share is None or now - self._last_end_ns >= CAPTURE_EVERY_S * 1e9)
            if due:
                self._start(steps_taken)
        elif steps_taken - self._started[0] >= CAPTURE_STEPS:
            self.stop(steps_taken)

    def _start(self, steps_taken: int) -> None:
        import tensorflow as tf
        self._logdir = tempfile.mkdtemp(prefix="pipescope-fit-capture-")
        try:
            with _profiler_log_held_back():
                tf.profiler.experimental.start(self._logdir, options=tf.profiler.experimental.ProfilerOptions(
                    host_tracer_level=1, python_tracer_level=0, device_tracer_level=1))
        except Exception as error:  # the script profiles itself (TensorBoard's profile_batch), say
            self.give_up(f"tf.profiler could not start ({error})")
            return
        self._started = (steps_taken, time.perf_counter_ns())  # the window: the profiler's own start left out

    def stop(self, steps_taken: int) -> None:
        """End a capture still open (also when fit ends) and read its share."""
        if self._started is None:
            return
        import tensorflow as tf
        first, started_ns = self._started
        self._started = None
        window_ns = time.perf_counter_ns() - started_ns
        try:
            with _profiler_log_held_back():
                tf.profiler.experimental.stop()
            get_next_ns = _get_next_ns(sorted(Path(self._logdir).glob("plugins/profile/*/*.xplane.pb")))
        except Exception as error:
            self.give_up(f"the capture could not be read ({error})")
            return
        finally:
            shutil.rmtree(self._logdir, ignore_errors=True)
        self._last_end_ns = time.perf_counter_ns()
        if steps_taken > first:
            self.steps.share_measured(min(1.0, get_next_ns / max(1, window_ns)), steps_taken - first)

    def give_up(self, reason: str) -> None:
        self.not_measured = self.steps.wait_note = f"wait not measured: {reason}"
        self.steps.share_measured(0.0, 0)  # the steps are still the job's: written with no wait


@contextlib.contextmanager
def _profiler_log_held_back():
    """The profiler's own log lines ("Profiler session started", "Collecting XSpace to repository: …") are not
    the script's output: the process's stderr goes through a pipe while it starts or stops, and whatever
    else was written meanwhile is passed on."""
    read_end, write_end = os.pipe()
    saved = os.dup(2)
    os.dup2(write_end, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as held:
            kept = [line for line in held.read().splitlines(keepends=True) if not _from_the_profiler(line)]
        if kept:
            os.write(2, b"".join(kept))


def _from_the_profiler(line: bytes) -> bool:
    return any(source in line for source in (b"profiler_session.cc", b"save_profile.cc", b"profiler_client"))


def _get_next_ns(files: list[Path]) -> float:
    """The host's IteratorGetNext op time in a capture, as XProf counts a step's input time."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # ships with TensorFlow
    total = 0.0
    for path in files:
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            if plane.name != "/host:CPU":
                continue
            names = plane.event_metadata
            for line in plane.lines:
                total += sum(event.duration_ps for event in line.events
                             if names[event.metadata_id].name in _GET_NEXT_EVENTS) / 1000
    return total


def wrap_fit(model_class, on_fit: Callable[[Optional[object]], CapturedSteps], on_fit_end: Callable[[], None],
             at_step_boundary: Callable[[CapturedSteps], None]) -> Callable[[], None]:
    """Give every `model_class.fit` call a timing callback; `on_fit(dataset)` makes the steps' record,
    `on_fit_end()` hears that the call returned, `at_step_boundary(steps)` is called between steps, where
    a change to the pipeline is made. Returns the undo."""
    import keras
    original_fit = model_class.fit

    class PipescopeSteps(keras.callbacks.Callback):
        async_safe = True  # it has no batch-end method: Keras keeps dispatching those as it would

        def __init__(self, steps: CapturedSteps):
            super().__init__()
            self.steps, self.capture, self.taken = steps, WaitCapture(steps), 0

        def on_train_batch_begin(self, batch, logs=None):
            self.steps.step_ends(time.perf_counter_ns())
            self.capture.between_steps(self.taken)
            at_step_boundary(self.steps)
            self.taken += 1
            self.steps.batch_begins(time.perf_counter_ns(), self.steps.batch_size)

        def on_test_begin(self, logs=None):
            self._epoch_ends()

        def on_epoch_end(self, epoch, logs=None):
            self._epoch_ends()

        def on_train_end(self, logs=None):
            self._epoch_ends()
            self.capture.stop(self.taken)
            if self.steps.share is None and self.steps.wait_meter is None:  # nor a capture read
                self.capture.give_up("fit ended before the first capture")

        def _epoch_ends(self):
            self.steps.step_ends(time.perf_counter_ns())

    def fit_with_timing(self, *args, **kwargs):
        if len(args) > _CALLBACKS_POSITION:  # callbacks given by position: left as the script gave them
            return original_fit(self, *args, **kwargs)
        steps = on_fit(args[0] if args else kwargs.get("x"))
        callbacks = list(kwargs.pop("callbacks", None) or [])
        try:
            return original_fit(self, *args, callbacks=[*callbacks, PipescopeSteps(steps)], **kwargs)
        finally:
            on_fit_end()

    model_class.fit = fit_with_timing
    return lambda: setattr(model_class, "fit", original_fit)
