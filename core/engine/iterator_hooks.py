"""Timing a watched script's own training loop (`watch`, issue 16 §2): every request to an eager
tf.data iterator.

`OwnedIterator.__next__` and `get_next` both go through `_next_internal`; `get_next_as_optional`
is the other way in. Each request is timed on one monotonic clock, and a step runs from one
request to the next request for the same dataset: its wait is the request, its compute the rest
(the script's own step, whatever it does). Requests are counted per dataset — the one the script
iterated, through any number of iterators (a new one each epoch) — so that the training data,
the dataset requested most, stays apart from the others (validation, say). A request made while
a `tf.function` is being traced is not a step: it is counted, so that Pipescope can say the loop is
out of its sight, and where its steps are timed at their boundaries instead (Keras fit's callback, the
calls of the script's function) its wait is metered in the function (`core.engine.traced_wait`).
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from core.engine.traced_wait import TracedWait, can_meter
from core.spec.records import StepRecords

STEPS_ATTRIBUTE = "_pipescope_steps"


@dataclass
class DatasetSteps:
    """The requests made for one of the script's datasets, as steps on the job's clock."""

    dataset: Any
    number: int  # 1 for the first dataset the script iterated, and so on
    start_ns: int
    records: StepRecords = field(default_factory=StepRecords)
    requests: int = 0
    declared_batch_size: int = 1  # the pipeline's, for elements whose batch axis has no static size
    config_version: int = 0  # bumped by each change made to the pipeline while the script trains
    current: Any = None  # the dataset its iterators are made from: the script's, or one a change made again
    iterator_ref: Optional[weakref.ref] = None  # its latest iterator, for tf.data's live model; never kept alive
    _open: Optional[tuple] = None  # (t_request, t_ready, batch size) of the step the next request ends

    def request_made(self, t_request_ns: int) -> None:
        """A request ends the open step, if there is one (after the end of the data there is none)."""
        self.requests += 1
        if self._open is not None:
            requested, ready, batch = self._open
            self._open = None
            scale, start = 1e-9, self.start_ns
            self.records.append((requested - start) * scale, (ready - start) * scale,
                                (t_request_ns - start) * scale, 0, self.config_version, batch,
                                (ready - start) * scale)

    def element_ready(self, t_request_ns: int, t_ready_ns: int, batch_size: int) -> None:
        self._open = (t_request_ns, t_ready_ns, batch_size or self.declared_batch_size)

    @property
    def steps_taken(self) -> int:
        """Steps ended so far (a change's first step is the next)."""
        return len(self.records)

    @property
    def iterator(self):
        """The latest iterator over this dataset while it lives, else None."""
        return self.iterator_ref() if self.iterator_ref is not None else None


def batch_size_of(element) -> int:
    """The first axis of an element's first tensor (or TensorSpec); 1 when it has none, 0 when it is unknown."""
    from tensorflow.python.util import nest
    if element is None:
        return 0
    shape = nest.flatten(element)[0].shape
    if not shape.rank:
        return 1
    return int(shape[0]) if shape[0] is not None else 0


class IteratorHooks:
    """Installs the timing on tf.data's eager iterator; `on_new_dataset(steps)` hears of each dataset
    on its first request, before that request is timed."""

    def __init__(self, start_ns: int, on_new_dataset: Callable[[DatasetSteps], None]):
        self.start_ns = start_ns
        self.on_new_dataset = on_new_dataset
        self.datasets: list[DatasetSteps] = []
        self.traced_requests = 0  # requests made while tracing a tf.function: no step can be seen there
        self.fitting: Optional[DatasetSteps] = None  # the steps of a Keras fit going on: its iterators are its
        self.metering: Optional[DatasetSteps] = None  # the steps whose function (given their iterator) is called
        # Called at each step boundary, before the request is timed, while a change waits: (steps, iterator)
        # → True when it did something (its time is then the job's `between`, not the request's).
        self.at_step_boundary: Optional[Callable[[DatasetSteps, Any], bool]] = None
        self.interrupted = False  # Ctrl-C came (set by the process's SIGINT handler)
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        from tensorflow.python.data.ops import iterator_ops
        from tensorflow.python.eager import context

        owned = iterator_ops.OwnedIterator
        hooks, clock, executing_eagerly = self, time.perf_counter_ns, context.executing_eagerly

        def timed(request: Callable, sizer: Callable) -> Callable:
            def timed_request(iterator, *args, **kwargs):
                if not executing_eagerly():
                    hooks.traced_requests += 1
                    meter = hooks._wait_meter()
                    if meter is None:
                        return request(iterator, *args, **kwargs)
                    return meter.around(lambda: request(iterator, *args, **kwargs))
                hooks.raise_if_interrupted()
                steps = getattr(iterator, STEPS_ATTRIBUTE, None) or hooks._steps_for(iterator)
                t_request = clock()
                steps.request_made(t_request)
                if hooks.at_step_boundary is not None and hooks.at_step_boundary(steps, iterator):
                    t_request = clock()
                # At the end of the data this raises, and no step opens: the next epoch's request starts one.
                element = request(iterator, *args, **kwargs)
                steps.element_ready(t_request, clock(), sizer(element))
                return element
            return timed_request

        def batch_of_optional(optional) -> int:
            return batch_size_of(optional.element_spec)

        for name, batch_size_of_result in (("_next_internal", batch_size_of),
                                           ("get_next_as_optional", batch_of_optional)):
            original = owned.__dict__[name]
            setattr(owned, name, timed(original, batch_size_of_result))
            self._undo.append(lambda name=name, original=original: setattr(owned, name, original))
        self._record_dataset_of_each_iterator(owned)

    def raise_if_interrupted(self) -> None:
        """A Ctrl-C that landed where Python swallows exceptions (TensorFlow's `__del__` of an executor, as a
        py_function pipeline ends) is raised again at the next request, so that it still ends the script."""
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _record_dataset_of_each_iterator(self, owned) -> None:
        """Each iterator remembers the dataset the script gave it, before tf.data's own wrappers."""
        original = owned.__dict__["_create_iterator"]

        def create_and_remember(iterator, dataset):
            iterator._pipescope_dataset = dataset
            if self.fitting is not None:  # Keras makes the iterator of what fit was given, wrapped its own way
                self.fitting.iterator_ref = weakref.ref(iterator)
            changed = next((steps.current for steps in self.datasets if steps.dataset is dataset), None)
            return original(iterator, changed if changed is not None else dataset)  # a change outlives the epoch

        owned._create_iterator = create_and_remember
        self._undo.append(lambda: setattr(owned, "_create_iterator", original))

    def _wait_meter(self) -> Optional[TracedWait]:
        """The wait meter of the steps timed at their boundaries whose function is being traced (fit's, or
        the script's own given an iterator), made on their first traced request. The traced function's
        iterator is a stand-in made from its type, without the dataset the script's iterator remembers."""
        steps = self.metering or self.fitting
        if steps is None or not getattr(steps, "meters_traced_requests", False) or not can_meter():
            return None
        if steps.wait_meter is None:
            steps.wait_meter = TracedWait()
        return steps.wait_meter

    def _steps_for(self, iterator) -> DatasetSteps:
        dataset = getattr(iterator, "_pipescope_dataset", None) or getattr(iterator, "_dataset", None)
        steps = self.steps_for_dataset(dataset)
        setattr(iterator, STEPS_ATTRIBUTE, steps)
        steps.iterator_ref = weakref.ref(iterator)
        return steps

    def steps_for_dataset(self, dataset, make: type = DatasetSteps, **details) -> DatasetSteps:
        """The record of `dataset`'s steps, made (a `make`, with `details`) on its first request."""
        steps = next((known for known in self.datasets if known.dataset is dataset), None)
        if steps is None:
            steps = make(dataset, len(self.datasets) + 1, self.start_ns, current=dataset, **details)
            self.on_new_dataset(steps)
            self.datasets.append(steps)
        return steps
