"""Every source, stage, feeder and model, built from descriptions and run for real."""
import inspect
import time

import cv2
import numpy as np
import pytest
import tensorflow as tf

from core.engine.build import build_dataset, failing_stage
from core.engine.feeders import EndOfData, build_feeder
from core.engine.models import build_model
from core.spec.params import SpecError
from core.engine.runner import Run
from core.spec.pipeline import spec_from_dict


def make_spec(source, stages=(), feeder=None, model=None, **run):
    return spec_from_dict({
        "name": "t", "source": source,
        "stages": [{"id": f"s{i}", **stage} for i, stage in enumerate(stages)],
        "feeder": feeder or {"kind": "tf_data"},
        "model": model or {"kind": "simulated", "step_ms": 0},
        "run": {"steps": 5, "warmup_steps": 1, **run},
    })


def elements(spec, count=100, serial=False):
    return list(build_dataset(spec, serial=serial).take(count).as_numpy_iterator())


@pytest.mark.parametrize("source, shape", [
    ({"kind": "synthetic", "shape": [8], "count": 6}, (8,)),
    ({"kind": "tensors", "shape": [3, 2], "count": 6}, (3, 2)),
    ({"kind": "range", "count": 6}, (1,)),
    ({"kind": "generator", "shape": [4], "count": 6}, (4,)),
])
def test_array_sources_yield_features_and_labels(source, shape):
    got = elements(make_spec(source))
    assert len(got) == 6
    for x, y in got:
        assert x.shape == shape
    if source["kind"] != "range":
        assert all(y == float(x.sum() > 0) for x, y in got)


def test_synthetic_source_is_seeded_and_deterministic():
    first = elements(make_spec({"kind": "synthetic", "shape": [4], "count": 3}))
    again = elements(make_spec({"kind": "synthetic", "shape": [4], "count": 3}))
    other = elements(make_spec({"kind": "synthetic", "shape": [4], "count": 3}, seed=1))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))
    assert not np.array_equal(first[0][0], other[0][0])


def test_files_source_labels_by_subfolder_and_images_decode_both_ways(image_folder):
    for decode, resize in [("decode_tf", "resize"), ("decode_cv2", "resize_cv2")]:
        spec = make_spec({"kind": "files", "path": str(image_folder)}, [
            {"kind": "map", "fn": "read_file"}, {"kind": "map", "fn": decode},
            {"kind": "map", "fn": resize, "size": 16}, {"kind": "map", "fn": "normalize"}])
        got = elements(spec)
        assert len(got) == 24
        assert {int(y) for _, y in got} == {0, 1}
        assert all(x.shape == (16, 16, 3) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1 for x, _ in got)


def test_opencv_and_tf_decoders_agree(image_folder):
    decoded = {}
    for decode in ("decode_tf", "decode_cv2"):
        spec = make_spec({"kind": "files", "path": str(image_folder)}, [
            {"kind": "map", "fn": "read_file"}, {"kind": "map", "fn": decode}])
        decoded[decode] = [x for x, _ in elements(spec, 4)]
    for a, b in zip(decoded["decode_tf"], decoded["decode_cv2"]):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 3  # JPEG decoders differ slightly


def test_opencv_runs_without_autograph_between_the_pipeline_and_it(image_folder, monkeypatch):
    """Python defined inside a map's function is converted by AutoGraph with it, and each call it makes
    then passes through AutoGraph's converted_call, under the GIL: half the GIL time of images_cv2."""
    callers = []

    def spying(real):
        def call(*args, **kwargs):
            callers.append({frame.function for frame in inspect.stack()[1:8]})
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(cv2, "imdecode", spying(cv2.imdecode))
    monkeypatch.setattr(cv2, "resize", spying(cv2.resize))
    spec = make_spec({"kind": "files", "path": str(image_folder)}, [
        {"kind": "map", "fn": "read_file"}, {"kind": "map", "fn": "decode_cv2"},
        {"kind": "map", "fn": "resize_cv2", "size": 8}])
    assert len(elements(spec, 3, serial=True)) == 3
    assert len(callers) >= 6  # a decode and a resize an element at least: the spies saw the calls
    assert not [names for names in callers if "converted_call" in names]
    assert all({"_cv2_decoded", "_cv2_resized"} & names for names in callers)


def test_files_source_reports_an_empty_folder(tmp_path):
    with pytest.raises(SpecError, match="source.path: no files matching"):
        build_dataset(make_spec({"kind": "files", "path": str(tmp_path)}), serial=False)


def write_tfrecords(image_folder, out):
    files = sorted(image_folder.rglob("*.jpg"))
    paths = []
    for shard in range(2):
        path = out / f"part-{shard}.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for i, image in enumerate(files[shard::2]):
                example = tf.train.Example(features=tf.train.Features(feature={
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.read_bytes()])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 2])),
                }))
                writer.write(example.SerializeToString())
        paths.append(path)
    return paths


def test_tfrecord_source_and_interleaved_tfrecord_files(image_folder, tmp_path):
    write_tfrecords(image_folder, tmp_path)
    decode = [{"kind": "map", "fn": "decode_tf"}, {"kind": "map", "fn": "resize", "size": 8}]
    direct = elements(make_spec({"kind": "tfrecord", "path": str(tmp_path / "*.tfrecord"),
                                 "num_parallel_reads": "AUTOTUNE"}, decode))
    interleaved = elements(make_spec({"kind": "files", "path": str(tmp_path), "pattern": "*.tfrecord"},
                                     [{"kind": "interleave", "fn": "tfrecord_file", "cycle_length": 2}, *decode]))
    assert len(direct) == len(interleaved) == 24
    assert all(x.shape == (8, 8, 3) for x, _ in direct + interleaved)


def test_tfrecord_source_reports_missing_files(tmp_path):
    with pytest.raises(SpecError, match="source.path: no TFRecord files"):
        build_dataset(make_spec({"kind": "tfrecord", "path": str(tmp_path / "*.rec")}), serial=False)


RANGE = {"kind": "range", "count": 10}


@pytest.mark.parametrize("stages, check", [
    ([{"kind": "batch", "batch_size": 4}], lambda got: [len(x) for x, _ in got] == [4, 4]),
    ([{"kind": "batch", "batch_size": 4, "drop_remainder": False}], lambda got: [len(x) for x, _ in got] == [4, 4, 2]),
    ([{"kind": "shuffle", "buffer_size": 10}], lambda got: sorted(int(x[0]) for x, _ in got) == list(range(10))
     and [int(x[0]) for x, _ in got] != list(range(10))),
    ([{"kind": "filter", "predicate": "label_positive"}], lambda got: [int(x[0]) for x, _ in got] == [1, 3, 5, 7, 9]),
    ([{"kind": "repeat", "count": 2}], lambda got: len(got) == 20),
    ([{"kind": "cache"}, {"kind": "repeat", "count": 2}], lambda got: len(got) == 20),
    ([{"kind": "shard", "num_shards": 3, "index": 1}], lambda got: [int(x[0]) for x, _ in got] == [1, 4, 7]),
    ([{"kind": "batch", "batch_size": 5}, {"kind": "flat_map", "fn": "unbatch"}], lambda got: len(got) == 10),
    ([{"kind": "flat_map", "fn": "repeat_element", "n": 3}], lambda got: len(got) == 30),
    ([{"kind": "padded_batch", "batch_size": 3}], lambda got: [len(x) for x, _ in got] == [3, 3, 3]),
    ([{"kind": "prefetch", "buffer_size": 2}], lambda got: len(got) == 10),
    ([{"kind": "prefetch_to_device"}], lambda got: len(got) == 10),
    ([{"kind": "latency", "ms": 1, "num_parallel_calls": 4}], lambda got: [int(x[0]) for x, _ in got] == list(range(10))),
    ([{"kind": "cpu_work", "ms": 0.5, "num_parallel_calls": 2}], lambda got: len(got) == 10),
    ([{"kind": "map", "fn": "normalize", "num_parallel_calls": "AUTOTUNE"}], lambda got: len(got) == 10),
    ([{"kind": "zip", "branch": {"source": {"kind": "range", "count": 4}}}],
     lambda got: [x.tolist() for x, _ in got] == [[0, 0], [1, 1], [2, 2], [3, 3]]),
    ([{"kind": "concatenate", "branch": {"source": {"kind": "range", "count": 3}}}], lambda got: len(got) == 13),
])
def test_stage_kinds_transform_elements(stages, check):
    assert check(elements(make_spec(RANGE, stages)))


def test_file_cache_writes_its_file(tmp_path):
    spec = make_spec(RANGE, [{"kind": "cache", "filename": str(tmp_path / "c")}])
    assert len(elements(spec)) == 10
    assert list(tmp_path.glob("c*"))


def test_interleave_reads_files_in_parallel(image_folder):
    spec = make_spec({"kind": "files", "path": str(image_folder)},
                     [{"kind": "interleave", "fn": "read_file", "cycle_length": 4}])
    got = elements(spec)
    assert len(got) == 24 and all(x[:2] == b"\xff\xd8" for x, _ in got)  # JPEG bytes


def test_concatenating_an_incompatible_branch_names_the_stage(image_folder):
    spec = make_spec({"kind": "files", "path": str(image_folder)},
                     [{"kind": "concatenate", "branch": {"source": {"kind": "range"}}}])
    with pytest.raises(SpecError, match="stages.s0.branch: cannot concatenate"):
        build_dataset(spec, serial=False)


def test_serial_mode_keeps_no_buffers_or_parallelism():
    spec = make_spec(RANGE, [{"kind": "map", "fn": "normalize", "num_parallel_calls": 4},
                             {"kind": "prefetch", "buffer_size": 2}])
    serial = build_dataset(spec, serial=True)
    graph = serial._as_serialized_graph().numpy().decode(errors="ignore")
    assert "ParallelMap" not in graph and "PrefetchDataset" not in graph
    options = serial.options()
    assert options.experimental_optimization.inject_prefetch is False
    assert options.experimental_optimization.map_parallelization is False
    # Autotuning stays on for tf.data's live model (stall locations); serial sets nothing to tune.
    assert options.autotune.enabled is True
    overlapped = build_dataset(spec, serial=False)._as_serialized_graph().numpy().decode(errors="ignore")
    assert "ParallelMap" in overlapped and "PrefetchDataset" in overlapped


@pytest.mark.parametrize("feeder", [{"kind": "feed_dict"}, {"kind": "queue_runner", "capacity": 3, "threads": 2},
                                    {"kind": "tf_data"}])
def test_feeders_deliver_every_batch_then_end(feeder):
    spec = make_spec(RANGE, [{"kind": "batch", "batch_size": 2}, {"kind": "prefetch", "buffer_size": 2}], feeder)
    source = build_feeder(spec, "/CPU:0")
    try:
        seen = []
        with pytest.raises(EndOfData):
            while True:
                x, _ = source.to_device(source.fetch())
                seen.extend(int(v) for v in x.numpy()[:, 0])
        assert sorted(seen) == list(range(10))
        assert 0 <= source.fill() <= (source.capacity or 10)
    finally:
        source.close()


def test_queue_runner_fills_its_queue_to_capacity():
    spec = make_spec({"kind": "range", "count": -1}, [{"kind": "batch", "batch_size": 2}],
                     {"kind": "queue_runner", "capacity": 4, "threads": 1})
    feeder = build_feeder(spec, "/CPU:0")
    try:
        # The producer needs a moment: poll the real queue until a deadline, not for a count of polls (how
        # many fit in that moment depends on the host and on what else runs on it).
        deadline = time.monotonic() + 20
        while feeder.fill() != 4 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert feeder.fill() == 4 and feeder.capacity == 4
    finally:
        feeder.close()


@pytest.mark.parametrize("source, stages, model", [
    ({"kind": "synthetic", "shape": [16]}, [{"kind": "batch", "batch_size": 8}],
     {"kind": "mlp", "hidden": [32, 32]}),
    ({"kind": "files", "path": None}, [{"kind": "map", "fn": "read_file"}, {"kind": "map", "fn": "decode_tf"},
                                       {"kind": "map", "fn": "resize", "size": 16}, {"kind": "repeat"},
                                       {"kind": "batch", "batch_size": 4}], {"kind": "cnn", "filters": 4}),
])
def test_models_train_and_their_loss_falls(source, stages, model, image_folder):
    if source["kind"] == "files":
        source = {**source, "path": str(image_folder)}
    spec = make_spec(source, stages, model=model)
    dataset = build_dataset(spec, serial=False)
    network = build_model(spec.model, "/CPU:0", dataset.element_spec, 0)
    batch = next(iter(dataset))
    losses = [network.train_step(batch) for _ in range(30)]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_mlp_needs_a_fixed_feature_shape(image_folder):
    spec = make_spec({"kind": "files", "path": str(image_folder)},
                     [{"kind": "map", "fn": "read_file"}, {"kind": "map", "fn": "decode_tf"}, {"kind": "batch"}],
                     model={"kind": "mlp"})
    run = Run(spec)
    run.run()
    assert run.outcome.status == "failed" and isinstance(run.outcome.error, SpecError)
    assert "model.kind: mlp needs features of a fixed shape" in str(run.outcome.error)


@pytest.mark.parametrize("decode", ["decode_tf", "decode_cv2"])
def test_a_failing_stage_is_named(corrupt_folder, decode):
    spec = make_spec({"kind": "files", "path": str(corrupt_folder)},
                     [{"kind": "map", "fn": "read_file"}, {"id": "x", "kind": "map", "fn": decode},
                      {"kind": "map", "fn": "resize", "size": 8}, {"kind": "batch", "batch_size": 2}])
    run = Run(spec)
    run.run()
    assert run.outcome.status == "failed"
    assert run.outcome.error.stage_id == "x", str(run.outcome.error)
    assert str(run.outcome.error).startswith("stage 'x' failed: ")
    assert "\n" not in str(run.outcome.error)


def test_failing_stage_matches_whole_ids_only():
    spec = make_spec(RANGE, [{"kind": "batch"}, {"kind": "cache"}])
    assert failing_stage("[[{{node s1/DecodeJpeg}}]]", spec) == "s1"
    assert failing_stage("[[{{node xs1/DecodeJpeg}}]]", spec) is None



def test_latency_is_tf_datas_own_sleep_one_at_a_time_and_side_by_side(whatif):
    """The simulated wait never hops into Python (a Python sleep cost ~0.5 ms a batch one at a time, and
    with several in flight took the GIL from the model's thread)."""
    def graph(calls):
        spec = whatif(("stages.io.ms", 2), ("stages.io.num_parallel_calls", calls))
        return build_dataset(spec, serial=False)._as_serialized_graph().numpy().decode(errors="ignore")

    assert "SleepDataset" in graph(1) and "PyFunc" not in graph(1) and "Interleave" not in graph(1)
    assert "SleepDataset" in graph(2) and "PyFunc" not in graph(2) and "ParallelInterleaveDataset" in graph(2)


class _Placed:
    """A stand-in for a tensor TensorFlow placed on `device` (there is no GPU here)."""

    def __init__(self, device: str):
        self.device = device


def test_batches_already_on_the_models_device_are_not_copied_again():
    from core.engine.feeders import _on_device, copy_to_device

    on_gpu = (_Placed("/job:localhost/replica:0/task:0/device:GPU:0"), _Placed("/device:GPU:0"))
    assert copy_to_device(on_gpu, "/GPU:0") is on_gpu  # prefetch_to_device put it there
    assert not _on_device(_Placed("/job:localhost/replica:0/task:0/device:GPU:1"), "/GPU:0")
    host = (tf.constant([1.0]), tf.constant([0.0]))
    assert not _on_device(host[0], "/GPU:0")
    assert copy_to_device(host, "/CPU:0") is host  # a CPU model reads host memory


def test_the_simulated_model_gets_no_device_copy_and_a_real_one_does(whatif, monkeypatch):
    from core.engine.feeders import Feeder

    copies = []
    monkeypatch.setattr(Feeder, "to_device", lambda self, batch: copies.append(1) or batch)
    Run(whatif(("model.step_ms", 0), steps=5)).run()
    assert copies == []
    Run(whatif(("model.kind", "mlp"), ("model.hidden", [8]), steps=5)).run()
    assert len(copies) == 5
