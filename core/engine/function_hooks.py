"""A loop whose iterator lives inside the script's own `tf.function` (`watch`, issue 16 §3).

    @tf.function
    def train_step(iterator):
        x, y = next(iterator)
        ...
    for _ in range(steps):
        train_step(it)

The request is traced into the function, out of the host's sight, as Keras fit's is; the same
method stands in: a step runs from one call of a `tf.function` given the dataset's iterator to
the next, and its wait is metered in the function, or else taken from short tf.profiler captures,
as for fit (`core.engine.fit_hooks`). Keras fit's own train function is left to the fit callback.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from core.engine.fit_hooks import CapturedSteps, WaitCapture

WAIT_MEASURED = ("the script's iterator is used inside its own tf.function: a step runs from one call of that "
                 "function to the next; its wait is the share of the host's IteratorGetNext time in tf.profiler "
                 "captures of {steps} steps every {every:g} s, as XProf reads it")
WAIT_METERED = ("the script's iterator is used inside its own tf.function: a step runs from one call of that "
                "function to the next; its wait is its IteratorGetNext op's own time, timed inside the function by "
                "two tf.timestamp ops around it")


def time_calls_with_iterators(hooks, steps_for: Callable[[object], Optional[CapturedSteps]],
                              at_step_boundary: Callable[[CapturedSteps], None]) -> Callable[[], None]:
    """Every eager call of a `tf.function` whose arguments hold a tf.data iterator ends a step and begins the
    next; `steps_for(iterator)` gives its record (None: its dataset is timed another way). Returns the undo."""
    from tensorflow.python.data.ops.iterator_ops import OwnedIterator
    from tensorflow.python.eager import context
    from tensorflow.python.eager.polymorphic_function.polymorphic_function import Function

    original_call = Function.__call__
    captures: dict[int, WaitCapture] = {}

    def call(function, *args, **kwargs):
        if hooks.fitting is not None or not context.executing_eagerly():
            return original_call(function, *args, **kwargs)
        iterator = next((arg for arg in args if isinstance(arg, OwnedIterator)), None)
        steps = steps_for(iterator) if iterator is not None else None
        if steps is None:
            return original_call(function, *args, **kwargs)
        steps.step_ends(time.perf_counter_ns())
        capture = captures.setdefault(id(steps), WaitCapture(steps))
        capture.between_steps(steps.requests)
        at_step_boundary(steps)
        steps.batch_begins(time.perf_counter_ns(), steps.batch_size)
        hooks.metering = steps  # a request traced in this call is this dataset's
        try:
            return original_call(function, *args, **kwargs)
        finally:
            hooks.metering = None

    Function.__call__ = call

    def undo() -> None:
        """The script has ended: a capture still open is read; steps no capture measured are written with
        no wait, and said to be."""
        Function.__call__ = original_call
        for capture in captures.values():
            capture.stop(capture.steps.requests)
            if capture.steps.share is None and capture.steps.wait_meter is None:
                capture.give_up("the script ended before the first capture")

    return undo
