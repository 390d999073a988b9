"""tf.data's live model per stage: samples from a CPU iterator, and a plain reason when there can be none.

This machine has no GPU, so the GPU-side iterator is injected (its device, or the error
TensorFlow gives there); the CPU cases run real TensorFlow.
"""
import pytest

tf = pytest.importorskip("tensorflow")

from core.engine.feeders import build_feeder  # noqa: E402
from core.engine.live_model import (  # noqa: E402
    iterator_device, short_device, stage_figures_unavailable, stuck_stage,
)
from core.engine.probes import StageProbe  # noqa: E402
from core.spec.pipeline import spec_from_dict  # noqa: E402
from core.spec.presets import load_preset  # noqa: E402

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"


def make_spec(stages, **feeder):
    return spec_from_dict({
        "name": "t", "source": {"kind": "range", "count": 100_000},
        "stages": stages, "feeder": {"kind": "tf_data", **feeder},
        "model": {"kind": "simulated", "step_ms": 0}, "run": {"steps": 5, "warmup_steps": 0},
    })


PLAIN = [{"id": "double", "kind": "map", "fn": "normalize", "num_parallel_calls": 2},
         {"id": "batch", "kind": "batch", "batch_size": 4}, {"id": "prefetch", "kind": "prefetch", "buffer_size": 2}]
TO_DEVICE = [{"id": "batch", "kind": "batch", "batch_size": 4},
             {"id": "to_gpu", "kind": "prefetch_to_device", "device": "/CPU:0"}]


@pytest.fixture
def running():
    """A real tf_data feeder for a spec, a few batches in; closed afterwards."""
    feeders = []

    def start(spec, batches=3):
        feeder = build_feeder(spec, "/CPU:0")
        feeders.append(feeder)
        for _ in range(batches):
            feeder.fetch()
        return feeder

    yield start
    for feeder in feeders:
        feeder.close()


class CountingReader:
    """Stands in for get_model_proto: counts calls, raises what it is given or reads the real model."""

    def __init__(self, error=None):
        self.error, self.calls = error, 0

    def __call__(self, iterator):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return tf.data.experimental.get_model_proto(iterator)


def by_stage(samples) -> dict:
    return {sample.stage_id: sample for sample in samples}


def test_a_cpu_iterator_gives_samples_per_stage(running):
    spec = make_spec(PLAIN)
    feeder = running(spec)
    assert short_device(iterator_device(feeder.iterator)) == "/CPU:0"
    assert stage_figures_unavailable(feeder.iterator, spec) is None
    stats = StageProbe()
    first = by_stage(stats.read(feeder.iterator, spec))
    for _ in range(3):
        feeder.fetch()
    second = by_stage(stats.read(feeder.iterator, spec))
    assert {"batch", "prefetch"} <= set(first) and set(second) == set(first)
    assert second["prefetch"].produced >= first["prefetch"].produced + 3
    assert second["prefetch"].node == "Prefetch" and second["prefetch"].parameters["buffer_size"] == 2
    assert second["double"].node == "ParallelMapV2" and second["double"].parameters["parallelism"] == 2
    assert second["batch"].processing_ms > 0
    assert stats.unavailable is None and stats.partial is None
    assert stuck_stage(feeder.iterator, spec) is not None  # the live model is there to ask


def test_autotune_off_is_said_once_and_never_asked_again(running):
    spec = make_spec(PLAIN, autotune=False)
    feeder = running(spec)
    assert stage_figures_unavailable(feeder.iterator, spec).startswith("autotune is off (feeder.autotune: false)")
    reader = CountingReader()
    stats = StageProbe(read_model=reader)
    assert [stats.read(feeder.iterator, spec) for _ in range(5)] == [[]] * 5
    assert reader.calls == 0 and stats.unavailable.startswith("autotune is off")
    assert stuck_stage(feeder.iterator, spec) is None


def test_tensorflows_own_no_model_error_is_recognised():
    """The iterator was made without autotune though the spec says otherwise: TF's NotFound says so."""
    spec = make_spec(PLAIN)
    options = tf.data.Options()
    options.autotune.enabled = False
    iterator = iter(tf.data.Dataset.range(10).with_options(options))
    next(iterator)
    reader = CountingReader()
    stats = StageProbe(read_model=reader)
    assert stats.read(iterator, spec) == [] and stats.read(iterator, spec) == []
    assert reader.calls == 1  # the real error is permanent: asked once
    assert stats.unavailable.startswith("autotune is off")


def test_an_iterator_on_a_gpu_gives_the_reason_without_asking(running):
    spec = make_spec(TO_DEVICE)
    feeder = running(spec)
    reason = stage_figures_unavailable(feeder.iterator, spec, device=GPU)
    assert reason == ("the iterator runs on /GPU:0 (stage 'to_gpu', prefetch_to_device) and tf.data's live "
                      "model (IteratorGetModelProto) only runs on the CPU")
    reader = CountingReader()
    stats = StageProbe(read_model=reader, device_of=lambda _iterator: GPU)
    assert stats.read(feeder.iterator, spec) == [] and stats.read(feeder.iterator, spec) == []
    assert reader.calls == 0 and stats.unavailable == reason


def test_the_gpu_kernel_error_gives_the_reason_when_the_device_is_unknown(running):
    spec = make_spec(TO_DEVICE)
    feeder = running(spec)
    error = tf.errors.NotFoundError(None, None, "No registered 'IteratorGetModelProto' OpKernel for 'GPU' devices "
                                                "compatible with node {{node IteratorGetModelProto}}")
    reader = CountingReader(error)
    stats = StageProbe(read_model=reader, device_of=lambda _iterator: None)
    for _ in range(4):
        assert stats.read(feeder.iterator, spec) == []
    assert reader.calls == 1
    assert stats.unavailable.startswith("the iterator runs on a device other than the CPU (stage 'to_gpu'")


def test_an_unexplained_failure_is_retried_a_few_times_then_given_up(running):
    spec = make_spec(PLAIN)
    feeder = running(spec)
    reader = CountingReader(RuntimeError("something odd\nmore"))
    stats = StageProbe(read_model=reader)
    for _ in range(5):
        stats.read(feeder.iterator, spec)
        assert stats.unavailable is None  # not yet: it may pass
    for _ in range(10):
        stats.read(feeder.iterator, spec)
    assert reader.calls == 6
    assert stats.unavailable == "tf.data's live model could not be read (something odd)"
    reader.error = None  # a rebuilt pipeline (a new iterator) starts again
    fresh = running(spec)
    assert stats.read(fresh.iterator, spec) != [] and stats.unavailable is None


def test_prefetch_to_device_on_the_cpu_shows_only_its_own_figures(running):
    """The stages before it run in a copy iterator the live model does not see into."""
    spec = make_spec(TO_DEVICE)
    feeder = running(spec)
    model = tf.data.experimental.get_model_proto(feeder.iterator)
    assert sorted(node.name for node in model.nodes.values()) == ["Generator", "Prefetch", "Root"]
    stats = StageProbe()
    samples = by_stage(stats.read(feeder.iterator, spec))
    assert set(samples) == {"to_gpu"} and samples["to_gpu"].node == "Prefetch"
    assert stats.unavailable is None
    assert stats.partial == stage_figures_unavailable(feeder.iterator, spec) == (
        "only 'to_gpu' has figures: the stages before 'to_gpu' run inside prefetch_to_device's copy iterator, "
        "which tf.data's live model does not see into")
    assert stuck_stage(feeder.iterator, spec) is None  # not "source": tf.data cannot say


@pytest.mark.parametrize("device, short", [
    (GPU, "/GPU:0"), ("/job:localhost/replica:0/task:0/device:CPU:0", "/CPU:0"), ("/GPU:1", "/GPU:1"),
])
def test_devices_are_named_briefly(device, short):
    assert short_device(device) == short


def test_a_kind_that_hides_the_stages_before_it_is_a_fact_of_the_catalog(monkeypatch):
    """Not a special case of prefetch_to_device: any kind that says so, anywhere in the pipeline."""
    import dataclasses

    from core.engine import live_model
    from core.spec.kinds import STAGES

    hiding = dataclasses.replace(STAGES.get("latency", "kind"), hides_stages_before="run on other machines")
    monkeypatch.setitem(STAGES._kinds, "latency", hiding)
    spec = load_preset("whatif")
    assert live_model._expected_stages(spec) == [("io", "latency"), ("cpu", "cpu_work"), ("", "map"),
                                                 ("prefetch", "prefetch")]
    assert stage_figures_unavailable(None, spec, device="/CPU:0") == (
        "only 'io', 'cpu', 'prefetch' have figures: the stages before 'io' run on other machines, which tf.data's "
        "live model does not see into")
