"""Feeding strategies: how batches reach the model, and how full their buffer is.

- `feed_dict`: the seed's first experiment. Each batch is produced, then fed,
  strictly one after the other: no prefetch, no parallelism, no autotuning.
- `queue_runner`: the seed's second. Producer threads fill a FIFOQueue of a
  given capacity while the model dequeues; `queue.size()` is the fill level.
- `tf_data`: the model iterates the dataset; the fill level is elements that
  entered the last prefetch buffer minus those the model has taken.

Reading a fill level is an eager TensorFlow op (about 20 µs), so steps that come
faster than one a millisecond share a reading (`FILL_READ_EVERY_NS`): the runner's
own cost stays small beside the steps it measures.
"""
from __future__ import annotations

import functools
import sys
import threading
import time
from typing import Optional

from core.engine.build import build_dataset
from core.engine.builders import Builders
from core.engine.service import BuildResources
from core.engine.tf_runtime import tensorflow
from core.spec.kinds.feeders import FEEDERS
from core.spec.params import AUTOTUNE
from core.spec.pipeline import PipelineSpec, last_buffer_index

FEEDER_BUILDERS = Builders(FEEDERS)
builds = FEEDER_BUILDERS.builds
PRODUCER_THREAD = "pipescope-queue-runner"
RELEASE_THREAD = "pipescope-release"
RELEASE_WAIT_S = 2.0
FILL_READ_EVERY_NS = 1_000_000


class EndOfData(Exception):
    """The pipeline has no more elements."""


def copy_to_device(batch, device: str):
    """The batch on the model's device: copied from the host, unless it is there already."""
    if not device.startswith("/GPU"):
        return batch  # on the CPU the model reads host memory
    tf = tensorflow()

    if all(_on_device(part, device) for part in tf.nest.flatten(batch, expand_composites=True)):
        return batch  # prefetch_to_device put it there
    with tf.device(device):
        return tf.nest.map_structure(tf.identity, batch, expand_composites=True)


def _on_device(tensor, device: str) -> bool:
    tf = tensorflow()

    where, wanted = tf.DeviceSpec.from_string(getattr(tensor, "device", "")), tf.DeviceSpec.from_string(device)
    return where.device_type == wanted.device_type and (where.device_index or 0) == (wanted.device_index or 0)


class Feeder:
    """Common interface: fetch() (the next batch on the host), to_device(), fill(), capacity, close().

    Fetching and copying are separate steps so that the runner can time them apart:
    the accelerator is idle through both, but only the first is the input pipeline's.
    """

    capacity: Optional[int] = 0

    def __init__(self, spec: PipelineSpec, device: str, resources: Optional[BuildResources] = None):
        self.device = device
        self.consumed = 0
        self._fill, self._fill_read_ns = 0, -FILL_READ_EVERY_NS
        # What the built pipeline holds beyond its dataset (servers a stage started); close() closes it.
        self.resources = resources if resources is not None else BuildResources()

    def fetch(self):
        batch = _next_or_end(self.iterator)
        self.consumed += 1
        return batch

    def to_device(self, batch):
        return copy_to_device(batch, self.device)

    def fill(self) -> int:
        """Elements in the buffer the model reads from, read at most once a millisecond (else the last reading)."""
        now = time.perf_counter_ns()
        if now - self._fill_read_ns >= FILL_READ_EVERY_NS:
            self._fill, self._fill_read_ns = self._read_fill(), now
        return self._fill

    def _read_fill(self) -> int:
        return 0

    def buffer_fill(self) -> Optional[tuple[int, int]]:
        """(buffered, produced so far) of a buffer of the feeder's own, for the probes; None without one."""
        return None

    def interrupt(self) -> None:
        """Unblock a fetch() waiting in another thread (the run is stopping)."""

    def close(self, wait_s: float = 5.0) -> None:
        """Release the iterator, then what the pipeline held (`resources`), which the iterator no longer
        reads from. `wait_s` bounds the wait for threads of the feeder's own that are making an element.

        Released on a thread of its own, waited for RELEASE_WAIT_S at most: deleting a tf.data iterator
        waits for its autotuning thread, which after a long run sleeps up to a minute between rounds and
        is not woken (0.7 to 35 s at the end of runs of 300,000 and 1,000,000 steps). A process that ends
        meanwhile leaves with `os._exit` (main.py), since tf.data threads that run Python must not outlive
        the interpreter. A pipeline on tf.data service servers is released here and now: its servers
        end with the run, not on a thread that may outlive it."""
        if self.resources.services:
            self.iterator = self.dataset = None
            self.resources.close()
            return
        held = [self.iterator, self.resources]
        self.iterator = self.dataset = None

        def release() -> None:
            iterator, resources = held
            held.clear()
            del iterator  # the last reference: tf.data's threads end here
            try:
                resources.close()
            except Exception as error:  # on a thread of its own: said in a line, not a traceback
                sys.stderr.write(f"pipescope: releasing the pipeline's resources failed: {error}\n")

        releasing = threading.Thread(target=release, name=RELEASE_THREAD, daemon=True)
        releasing.start()
        releasing.join(timeout=RELEASE_WAIT_S)


def _next_or_end(iterator):
    try:
        return next(iterator)
    except StopIteration:
        raise EndOfData() from None


@builds("feed_dict")
class FeedDictFeeder(Feeder):
    capacity = 0

    def __init__(self, spec, device, resources=None):
        super().__init__(spec, device, resources)
        self.dataset = build_dataset(spec, serial=True, resources=self.resources)
        self.element_spec = self.dataset.element_spec
        self.iterator = iter(self.dataset)


@builds("queue_runner")
class QueueRunnerFeeder(Feeder):
    def __init__(self, spec, device, resources=None):
        tf = tensorflow()

        super().__init__(spec, device, resources)
        params = spec.feeder.params
        self.capacity = params["capacity"]
        # The queue is the buffer to watch: no hidden prefetch in front of it.
        self.dataset = build_dataset(spec, serial=False, inject_prefetch=False, resources=self.resources)
        self.element_spec = self.dataset.element_spec
        specs = tf.nest.flatten(self.element_spec)
        shapes = [s.shape for s in specs] if all(s.shape.is_fully_defined() for s in specs) else None
        with tf.device("/CPU:0"):  # queues have CPU kernels only
            self.queue = tf.queue.FIFOQueue(self.capacity, [s.dtype for s in specs], shapes=shapes)
        self.iterator = iter(self.dataset)
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._live = params["threads"]
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._produce, name=f"{PRODUCER_THREAD}-{i}", daemon=True)
                         for i in range(params["threads"])]
        for thread in self._threads:
            thread.start()

    def _produce(self) -> None:
        tf = tensorflow()

        try:
            while not self._stop.is_set():
                try:
                    element = next(self.iterator)
                except StopIteration:
                    break
                self.queue.enqueue(tf.nest.flatten(element))
        except (tf.errors.CancelledError, tf.errors.OutOfRangeError):
            pass  # the queue was closed: the run is stopping
        except Exception as error:  # the pipeline failed: hand it to the consumer
            self._error = error
            self._close_queue(cancel=True)
        finally:
            with self._lock:
                self._live -= 1
                if self._live == 0:
                    self._close_queue(cancel=False)  # let the consumer drain, then see the end

    def _close_queue(self, cancel: bool) -> None:
        tf = tensorflow()

        try:
            self.queue.close(cancel_pending_enqueues=cancel)
        except tf.errors.OpError:
            pass

    def fetch(self):
        tf = tensorflow()

        try:
            parts = self.queue.dequeue()
        except (tf.errors.OutOfRangeError, tf.errors.CancelledError):
            if self._error is not None:
                raise self._error
            raise EndOfData() from None
        self.consumed += 1
        return tf.nest.pack_sequence_as(self.element_spec, list(parts) if isinstance(parts, (list, tuple)) else [parts])

    def _read_fill(self) -> int:
        return int(self.queue.size())

    def buffer_fill(self) -> tuple[int, int]:
        size = int(self.queue.size())
        return size, self.consumed + size  # what entered the queue: taken out, or still in it

    def interrupt(self) -> None:
        self._stop.set()
        self._close_queue(cancel=True)

    def close(self, wait_s: float = 5.0) -> None:
        self.interrupt()
        for thread in self._threads:
            # A producer inside next() cannot be cancelled: it ends by itself once that element
            # comes, sees the stop and enqueues nothing.
            thread.join(timeout=wait_s)
        super().close()
        _forget_cached_queue_kernel()


def _forget_cached_queue_kernel() -> None:
    """Drop TensorFlow's cached eager kernels, among them the one that made this feeder's queue.

    An eager FIFOQueue gets a shared name of its own (`str(ops.uid())`), and TensorFlow caches an eager
    op's kernel by its attributes, so each queue leaves a kernel of ~36 KB in the context's kernel cache
    for the life of the process (measured, TF 2.21): a tuner's hundreds of queue_runner trials would keep
    them all (bench/lifecycle.py). Only clearing the cache lets them go (as `tf.random.set_seed` does); the
    next eager op of any thread makes its kernel again: ~0.3 ms to clear, and the seed's model took ~10 ms
    more on its next step, once (within a run, only after a what-if change that rebuilt the queue).
    Variables escape this with a reserved anonymous name; queues have none."""
    try:
        from tensorflow.python.eager import context  # deferred, as tensorflow() is; private, hence guarded
        context.context().clear_kernel_cache()
    except (ImportError, AttributeError):
        pass  # a TensorFlow without it keeps the kernels: memory, never a failure


@builds("tf_data")
class TfDataFeeder(Feeder):
    def __init__(self, spec, device, resources=None):
        tf = tensorflow()

        super().__init__(spec, device, resources)
        with tf.device("/CPU:0"):
            self._produced = tf.Variable(0, dtype=tf.int64, trainable=False)
        # The raw op skips Variable.numpy()'s layers: ~20 µs per step instead of ~70.
        self._read_produced = functools.partial(tf.raw_ops.ReadVariableOp, resource=self._produced.handle,
                                                dtype=tf.int64)
        index = last_buffer_index(spec)
        if index is None:
            self.capacity = 0
            probe_index = len(spec.stages)
        else:
            size = spec.stages[index].params["buffer_size"]
            self.capacity = None if size == AUTOTUNE else size
            probe_index = index
        params = spec.feeder.params
        self.dataset = build_dataset(spec, serial=False, autotune=params["autotune"],
                                     inject_prefetch=params["inject_prefetch"],
                                     probe=self._count_produced, probe_index=probe_index, resources=self.resources)
        self.element_spec = self.dataset.element_spec
        self.iterator = iter(self.dataset)

    def _count_produced(self, ds):
        """Count elements entering the buffer in a TF variable: no GIL on tf.data's threads."""
        tf = tensorflow()

        def counted(*element):
            with tf.control_dependencies([self._produced.assign_add(1)]):
                return tf.nest.map_structure(tf.identity, element)

        return ds.map(counted)

    def _read_fill(self) -> int:
        return max(0, int(self._read_produced()) - self.consumed)


def build_feeder(spec: PipelineSpec, device: str) -> Feeder:
    with BuildResources() as resources:  # closed here only when building fails: what the stages took so far
        feeder = FEEDER_BUILDERS.build_for(spec.feeder.kind, "feeder.kind")(spec, device, resources)
        feeder.resources = resources.pop_all()  # from now on, the feeder's to close
    return feeder
