"""The run's probes: per-stage samples of tf.data's live model and of the feeder's queue.

A `ProbeSampler` owns a thread of its own that, a few times a second
(`SAMPLE_HZ`), reads what the run is feeding from (a `ProbeTarget`: the feeder,
the description and its version, published whole by the run) and appends one
row per stage to the run's `StageRecords`, on the step records' clock. The
stepping thread never waits for it: the samples cost the steps only what the
sampler's share of the GIL and the CPU costs them.

Per stage a sample holds the node's buffered elements, the elements it has
produced and its processing time so far (`StageProbe`, via the alignment in
`core.engine.live_model`); the queue_runner's FIFOQueue is sampled as the stage
`FEEDER_STAGE` (its size, and the elements that entered it). Readers (the app,
summary.json, stages.csv) read only the records; `StageRecords.latest()` turns
them into the blocks' live figures. The same ticks sample the run's CPU meter
(`core.engine.cpu_meter`), when it has one.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from core.engine.live_model import failure_reason, iterator_device, known_reasons, read_model_proto, stage_nodes
from core.spec.pipeline import PipelineSpec
from core.spec.records import StageRecords

SAMPLE_HZ = 4
PROBE_THREAD = "pipescope-probes"
FEEDER_STAGE = "feeder"  # the queue_runner's queue, sampled as a stage of its own
GIVE_UP_AFTER = 6  # unexplained failures in a row (1.5 s at 4 Hz) before the probe stops asking


@dataclass(frozen=True)
class StageSample:
    """One stage's figures at one moment; `produced` and `processing_ms` count since the iterator began."""

    stage_id: str
    buffered: int
    produced: int
    node: str
    parameters: dict
    processing_ms: float = math.nan
    fused_with: Optional[str] = None


@dataclass(frozen=True)
class ProbeTarget:
    """What the run feeds from now: published whole, so a sample never mixes two configurations."""

    feeder: object  # a core.engine.feeders.Feeder: its `iterator` (None once closed), `buffer_fill()`
    spec: PipelineSpec
    config_version: int


class StageProbe:
    """Reads one iterator's live model into samples, until it knows it never can.

    `unavailable` is None while samples may come ("nothing yet" included), or the reason they never
    will; from then on `read` returns [] without asking TensorFlow, until the iterator changes (a
    rebuilt pipeline). `partial` says why only some stages have samples. `read_model` and
    `device_of` stand in for TensorFlow in tests.
    """

    def __init__(self, read_model: Callable = read_model_proto, device_of: Callable = iterator_device):
        self._read_model = read_model
        self._device_of = device_of
        self._iterator_key = None
        self._failures = 0
        self.unavailable: Optional[str] = None
        self.partial: Optional[str] = None

    def read(self, iterator, spec, config_version: Optional[int] = None) -> list[StageSample]:
        """`config_version` tells a rebuilt pipeline's iterator from the old one even when CPython gives
        the new object the freed one's id."""
        if iterator is None:
            return []
        key = (id(iterator), config_version)
        if key != self._iterator_key:  # a rebuilt pipeline: its reasons are its own
            self._iterator_key, self._failures = key, 0
            self.unavailable, self.partial = known_reasons(spec, self._device_of(iterator))
        if self.unavailable is not None:
            return []
        try:
            model = self._read_model(iterator)
        except Exception as error:  # said once as `unavailable` when it can never work
            self._failures += 1
            self.unavailable = failure_reason(error, self._device_of(iterator), spec,
                                              give_up=self._failures >= GIVE_UP_AFTER)
            return []
        self._failures = 0
        try:
            return [_sample(stage_id, node, partner) for stage_id, (node, partner) in stage_nodes(model, spec).items()]
        except Exception:  # an unexpected proto: no samples this time
            return []


def _sample(stage_id: str, node, fused_with: Optional[str]) -> StageSample:
    return StageSample(stage_id, int(node.buffered_elements), int(node.num_elements), node.name,
                       {parameter.name: parameter.value for parameter in node.parameters},
                       node.processing_time / 1e6, fused_with)


def feeder_sample(feeder) -> Optional[StageSample]:
    """The feeder's own buffer as a stage (the queue_runner's queue), or None when it has none."""
    fill = feeder.buffer_fill()
    if fill is None:
        return None
    buffered, produced = fill
    return StageSample(FEEDER_STAGE, buffered, produced, "FIFOQueue", {"capacity": feeder.capacity})


class ProbeSampler:
    """Samples `target()` into `records` on a thread of its own, from `start()` until `stop()`.

    `start_ns` is the run's start on `time.perf_counter_ns`, so samples share the steps' clock.
    """

    def __init__(self, records: StageRecords, target: Callable[[], Optional[ProbeTarget]], start_ns: int,
                 hz: float = SAMPLE_HZ, probe: Optional[StageProbe] = None, cpu_meter=None):
        self.records = records
        self._target = target
        self._start_ns = start_ns
        self._period_s = 1.0 / hz
        self._probe = probe or StageProbe()
        self._cpu_meter = cpu_meter  # a core.engine.cpu_meter.CpuMeter, sampled on every tick
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._sample_until_stopped, name=PROBE_THREAD, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread, then take a last sample: the run's figures up to its end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.sample_once()

    def _sample_until_stopped(self) -> None:
        next_at = time.perf_counter()
        while True:
            self.sample_once()
            next_at += self._period_s
            if self._stop.wait(max(0.0, next_at - time.perf_counter())):
                return

    def sample_once(self) -> None:
        if self._cpu_meter is not None:
            self._cpu_meter.sample()
        target = self._target()
        iterator = getattr(target.feeder, "iterator", None) if target is not None else None
        if iterator is None:
            return  # before the first build, or a feeder closed by a rebuild or the run's end
        t = (time.perf_counter_ns() - self._start_ns) / 1e9
        samples = self._probe.read(iterator, target.spec, target.config_version)
        queue = _feeder_sample_or_none(target.feeder)
        self._write(t, samples + ([queue] if queue is not None else []), target.config_version)

    def _write(self, t: float, samples: list[StageSample], config_version: int) -> None:
        records = self.records
        for sample in samples:
            records.append(t, sample.stage_id, sample.buffered, sample.produced, config_version,
                           sample.processing_ms, sample.fused_with)
        if samples:
            records.details = {sample.stage_id: {"node": sample.node, "parameters": sample.parameters}
                               for sample in samples}
        records.unavailable, records.partial = self._probe.unavailable, self._probe.partial


def _feeder_sample_or_none(feeder) -> Optional[StageSample]:
    try:
        return feeder_sample(feeder)
    except Exception:  # the queue was closed under us: the run is stopping or rebuilding
        return None
