"""A step's wait, exactly, where the request for its batch is traced into a `tf.function` (`watch`, issue 16 §3).

Keras fit takes its batch inside its train function, and so may a script's own `tf.function`: the host
sees only the call. While the request is traced, two `tf.timestamp` ops are put around its
IteratorGetNext op, and their difference is added to a variable the host reads between steps. The wait
is the op's own time, as XProf counts it, for every step rather than a capture's sample of 20, and with
no profiler running, whose captures cost the job their start, stop and reading.
"""
from __future__ import annotations

import functools
from typing import Callable

from core.engine.tf_runtime import tensorflow


class TracedWait:
    """The seconds the traced requests of one dataset's iterators have waited, added up in a variable."""

    def __init__(self):
        tf = tensorflow()

        with tf.init_scope(), tf.device("/CPU:0"):  # made once, outside the function being traced
            self._seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="pipescope_wait")
        # The raw op skips Variable.numpy()'s layers: read at every step boundary.
        self._read = functools.partial(tf.raw_ops.ReadVariableOp, resource=self._seconds.handle, dtype=tf.float64)

    def around(self, request: Callable[[], object]):
        """`request()` traced between two timestamps; the element it gives."""
        tf = tensorflow()

        with tf.device("/CPU:0"):
            requested = tf.timestamp()
        with tf.control_dependencies([requested]):
            element = request()
        with tf.control_dependencies(tf.nest.flatten(element, expand_composites=True)), tf.device("/CPU:0"):
            # Stateful: the function runs it in order after the request, though nothing reads its result.
            self._seconds.assign_add(tf.timestamp() - requested)
        return element

    def total_s(self) -> float:
        """The wait so far: on the host, once the step that waited has returned."""
        return float(self._read())


def can_meter() -> bool:
    """Not under a tf.distribute strategy of the script's: a variable made there would be the strategy's."""
    return not tensorflow().distribute.has_strategy()
