"""Throughput in isolation: each prefix of the pipeline on its own, and the model on its own.

A prefix is the source and the stages up to one of them, built as its feeder would build it (serial for
feed_dict, no hidden prefetch for the queue runner) and drained by tf.data itself (`Dataset.reduce`
counting elements) so no Python call per element caps the rate: a Python loop tops out near 20,000
elements/s, which would make every cheap stage before `batch` look like a bottleneck. Each measurement
grows its element count until one pass takes about `seconds`, and leaves a pass's start-up (iterator,
buffers, threads) out by difference (`measure_dataset`).

The model runs on one batch of the pipeline's own, again and again, synced as its description says:
steps/s with no waiting for input at all, the most the model can take.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from core.engine.build import build_dataset
from core.engine.cpu_meter import threads_with_tensorflow
from core.engine.feeders import copy_to_device
from core.engine.models import build_model, launches_ahead
from core.engine.step_window import sync_policy, window_due
from core.engine.tf_runtime import load_tensorflow, model_device
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec

FIRST_COUNT = 16
ROUNDS = 2
COUNT_BLOCK = 1024
GROWTH = 4  # more elements per pass until one takes `seconds`
MODEL_WARMUP_STEPS = 3  # tracing and first allocation, left out like a run's warm-up


def prefix(spec: PipelineSpec, stage_count: int) -> PipelineSpec:
    """The description cut after its first `stage_count` stages."""
    cut = spec.copy()
    cut.stages = cut.stages[:stage_count]
    return cut


def _load_runtime() -> None:
    """TensorFlow, and the note of its own threads taken before this process builds any pipeline: an
    analysis may come before the first run, and its tf.data threads must not pass for the model's."""
    load_tensorflow()
    threads_with_tensorflow()


def _dataset_as_fed(spec: PipelineSpec):
    """The pipeline as its feeder builds it: serial for feed_dict, no prefetch of tf.data's own for the
    queue, tf.data's own options for the tf_data feeder."""
    feeder = spec.feeder
    if feeder.kind == "feed_dict":
        return build_dataset(spec, serial=True)
    if feeder.kind == "tf_data":
        return build_dataset(spec, serial=False, autotune=feeder.params["autotune"],
                             inject_prefetch=feeder.params["inject_prefetch"])
    return build_dataset(spec, serial=False, inject_prefetch=False)


def count_elements(dataset, limit: int) -> tuple[int, float]:
    """Elements drawn (up to `limit`; fewer when the data ends) and the seconds it took, in tf.data.

    Counted a block at a time where every element has the same shape: `reduce` calls its function for
    each element it sees, ~30 µs each, which alone would cap the rate near 30,000 elements/s; blocks
    made by `batch` lift that to ~180,000 on this machine. Elements of varying shapes (images before a
    resize) are counted one by one: their stages cost far more than that anyway."""
    tf = load_tensorflow()
    counting = dataset.take(limit)
    zero = tf.constant(0, tf.int64)
    if _fixed_shapes(dataset):
        blocks = counting.batch(COUNT_BLOCK)
        started = time.perf_counter()
        count = blocks.reduce(zero, lambda total, block: total + tf.shape(tf.nest.flatten(block)[0],
                                                                          out_type=tf.int64)[0])
    else:
        started = time.perf_counter()
        count = counting.reduce(zero, lambda total, _element: total + 1)
    return int(count), time.perf_counter() - started


def _fixed_shapes(dataset) -> bool:
    tf = load_tensorflow()
    return all(spec.shape.is_fully_defined() for spec in tf.nest.flatten(dataset.element_spec))


def measure_dataset(dataset, seconds: float) -> tuple[int, float]:
    """(elements, seconds) at the pipeline's steady pace, from passes that grow until one takes `seconds`
    (sooner when the data ends).

    Every pass starts a new iterator (threads, buffers, the first elements' latency): that start-up
    is the same for a short pass and a long one, so the last pass less the one before it is what the
    extra elements alone cost. Where noise makes that difference unreliable (under half the last
    pass), the last pass is taken whole."""
    previous, limit = (0, 0.0), FIRST_COUNT
    while True:
        count, took = count_elements(dataset, limit)
        if count < limit or took >= seconds:
            return _steady(previous, (count, took))
        previous = (count, took)
        rate = count / took if took > 0 else float("inf")
        limit = int(min(limit * GROWTH * 4, max(limit * 2, rate * seconds * 1.1)))


def _steady(shorter: tuple[int, float], longer: tuple[int, float]) -> tuple[int, float]:
    extra_elements, extra_seconds = longer[0] - shorter[0], longer[1] - shorter[1]
    if extra_elements > 0 and extra_seconds >= longer[1] / 2:
        return extra_elements, extra_seconds
    return longer


def measure_prefixes(spec: PipelineSpec, seconds: float,
                     progress: Optional[Callable[[str, int], None]] = None) -> list[float]:
    """Elements/s of the source alone, then of each prefix up to every stage, each for about `seconds`,
    in `ROUNDS` rounds over all of them; each keeps its fastest. Whatever else the host does only ever
    slows a pass, so the fastest is the truest, and a burst of other work must hit the same prefix in
    every round to pass for a stage's cost (one round, on a busy host, once named the prefetch as the
    bottleneck). `progress(stage id or "source", round)` before each pass."""
    _load_runtime()
    ids = ["source"] + [stage.id for stage in spec.stages]
    fastest = [0.0] * len(ids)
    for round_number in range(1, ROUNDS + 1):
        for stage_count, stage_id in enumerate(ids):
            if progress:
                progress(stage_id, round_number)
            elements, took = measure_dataset(_dataset_as_fed(prefix(spec, stage_count)), seconds)
            fastest[stage_count] = max(fastest[stage_count], elements / took if took > 0 else 0.0)
    return fastest


def launching_ahead_can_pay(spec: PipelineSpec) -> bool:
    """Whether the model, on the device a run would use, can overlap steps with the host's work."""
    _load_runtime()
    return launches_ahead(spec.model, model_device())


def measure_model(spec: PipelineSpec, seconds: float) -> float:
    """Steps/s of the model fed as fast as tf.data can hand over a batch: one batch of the pipeline's,
    repeated from a prefetch buffer that is always full, synced as a run syncs it (`model.sync`).
    Taking the element is part of every step the model takes in a run (about 0.4 ms a step on this
    machine's CPU), so it is part of the most the model can take; launching steps without waiting for
    each overlaps it with the device's work."""
    _load_runtime()
    tf = load_tensorflow()
    device = model_device()
    dataset = _dataset_as_fed(spec)
    model = build_model(spec.model, device, dataset.element_spec, spec.run["seed"])
    first = next(iter(dataset), None)
    if first is None:
        raise SpecError("stages: the pipeline gives no elements, so the model has nothing to be measured on")
    ready = iter(tf.data.Dataset.from_tensors(first).repeat().prefetch(2))
    window_steps, window_ns = sync_policy(spec.model.params)

    def steps_for(duration_s: float, at_least: int = 0) -> int:
        steps, started = 0, time.perf_counter_ns()
        window_started, in_window = started, 0
        while steps < at_least or time.perf_counter_ns() - started < duration_s * 1e9:
            batch = next(ready)
            model.launch(copy_to_device(batch, device) if model.reads_device_memory else batch)
            steps, in_window = steps + 1, in_window + 1
            if window_due(in_window, time.perf_counter_ns() - window_started, window_steps, window_ns):
                model.sync()
                window_started, in_window = time.perf_counter_ns(), 0
        model.sync()
        return steps

    steps_for(0.0, at_least=MODEL_WARMUP_STEPS)
    started = time.perf_counter()
    steps = steps_for(seconds)
    return steps / (time.perf_counter() - started)
