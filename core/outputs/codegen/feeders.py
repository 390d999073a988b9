"""Each feeder kind as code: the dataset options it runs under and `batches(dataset)`, which hands the
model its batches, as `core.engine.feeders` does."""
from __future__ import annotations

from core.outputs.codegen.emitters import Code, Emitters, Feeding
from core.spec.kinds.feeders import FEEDERS

FEEDER_EMITTERS = Emitters(FEEDERS)
emits = FEEDER_EMITTERS.emits

ITERATE = '''\
def batches(dataset):
    yield from dataset
'''

QUEUE_RUNNER = '''\
def batches(dataset):
    """The seed's queue runner: {threads} thread(s) fill a FIFOQueue of capacity {capacity} from the dataset
    while the model dequeues from it."""
    specs = tf.nest.flatten(dataset.element_spec)
    shapes = [spec.shape for spec in specs] if all(spec.shape.is_fully_defined() for spec in specs) else None
    with tf.device("/CPU:0"):  # queues have CPU kernels only
        queue = tf.queue.FIFOQueue({capacity}, [spec.dtype for spec in specs], shapes=shapes)
    elements, live, lock = iter(dataset), [{threads}], threading.Lock()

    def fill():
        try:
            for element in elements:
                queue.enqueue(tf.nest.flatten(element))
        except (tf.errors.CancelledError, tf.errors.OutOfRangeError):
            pass  # the queue was closed: training has ended
        finally:
            with lock:
                live[0] -= 1
                if live[0] == 0:
                    queue.close()  # the last batches are dequeued, then the end is seen

    for _ in range({threads}):
        threading.Thread(target=fill, daemon=True).start()
    try:
        while True:
            try:
                parts = queue.dequeue()
            except tf.errors.OutOfRangeError:
                return
            yield tf.nest.pack_sequence_as(dataset.element_spec, list(parts) if isinstance(parts, list) else [parts])
    finally:
        queue.close(cancel_pending_enqueues=True)
'''


def _options(serial: bool, autotune: bool, inject_prefetch: bool) -> tuple[str, ...]:
    """The options `core.engine.build.dataset_options` sets."""
    lines = [f"options.autotune.enabled = {autotune}",
             f"options.experimental_optimization.inject_prefetch = {inject_prefetch and not serial}"]
    if serial:
        lines += ["options.experimental_optimization.map_parallelization = False",
                  "options.experimental_optimization.parallel_batch = False"]
    return tuple(lines)


@emits("feed_dict")
def _feed_dict(params) -> Feeding:
    # As the seed's feed_dict: each batch made, then fed, strictly one after the other.
    return Feeding(serial=True, options=_options(True, True, False), batches=Code(helpers=(ITERATE,)))


@emits("queue_runner")
def _queue_runner(params) -> Feeding:
    source = QUEUE_RUNNER.format(threads=params["threads"], capacity=params["capacity"])
    # The queue is the buffer: no prefetch hidden in front of it.
    return Feeding(serial=False, options=_options(False, True, False),
                   batches=Code(helpers=(source,), imports=("import threading",)))


@emits("tf_data")
def _tf_data(params) -> Feeding:
    return Feeding(serial=False, options=_options(False, params["autotune"], params["inject_prefetch"]),
                   batches=Code(helpers=(ITERATE,)))
