"""The run's probes: per-stage samples taken during real runs, on their own thread and schedule,
into StageRecords; the queue's fill as the feeder's stage; summary.json's `stages`."""
import math

import numpy as np
import pytest

from core.spec.records import (
    SAMPLE_CONFIG_VERSION, SAMPLE_PRODUCED, SAMPLE_PROCESSING_MS, SAMPLE_T, T_DONE, StageRecords, stage_rate,
)

tf = pytest.importorskip("tensorflow")

from core.engine.probes import FEEDER_STAGE, PROBE_THREAD, SAMPLE_HZ  # noqa: E402
from core.engine.runner import STEPPING_THREAD, Run  # noqa: E402
from core.outputs.summary import build_summary  # noqa: E402

SECONDS = 1.5


def finished(spec) -> Run:
    run = Run(spec)
    run.run()
    assert run.outcome.status in ("finished", "stopped"), run.outcome.error
    return run


def sample_times(records: StageRecords) -> np.ndarray:
    return np.unique(records.snapshot()[:, SAMPLE_T])


@pytest.fixture(scope="module")
def whatif_run():
    """One timed whatif run (tf_data feeder, io 1 ms a batch, model 4 ms), shared by the tests that only read it.

    The input is far faster than the model on any host (its 1 ms is a wait, not work), so the run is
    compute-bound by construction and the prefetch buffer stays near full."""
    from core.spec.pipeline import apply_overrides
    from core.spec.presets import load_preset

    spec = apply_overrides(load_preset("whatif"), [
        ("stages.cpu.ms", 0), ("stages.io.ms", 1), ("model.step_ms", 4),
        ("run.seconds", SECONDS), ("run.warmup_steps", 10)])
    return finished(spec)


def test_samples_name_the_stages_that_have_tf_data_nodes(whatif_run):
    records = whatif_run.stage_records
    # cpu_work of 0 ms builds no transformation, so it has no node and no samples
    assert records.stage_ids == ["batch", "io", "prefetch"]
    latest = records.latest()
    assert latest.unavailable is None and latest.partial is None
    assert latest.figures["prefetch"]["node"] == "Prefetch" and latest.figures["io"]["node"] == "Sleep"
    assert latest.figures["prefetch"]["parameters"]["buffer_size"] == 4
    assert records.snapshot()[:, SAMPLE_CONFIG_VERSION].max() == 0


def test_samples_are_taken_at_the_intended_rate_over_the_whole_run(whatif_run):
    times = sample_times(whatif_run.stage_records)
    end = float(whatif_run.records.snapshot()[-1, T_DONE])
    assert times[0] < 0.1 and times[-1] >= end - 0.05  # from the start, and a last one at the end
    gaps = np.diff(times[:-1])  # the last sample is taken on stopping, off the schedule
    assert np.median(gaps) == pytest.approx(1 / SAMPLE_HZ, abs=0.03)
    assert len(times) >= SECONDS * SAMPLE_HZ


def test_the_samples_count_what_the_model_took(whatif_run):
    records = whatif_run.stage_records
    prefetch = records.of_stage("prefetch")
    assert np.all(np.diff(prefetch[:, SAMPLE_PRODUCED]) >= 0)
    steps = len(whatif_run.records)
    assert steps <= prefetch[-1, SAMPLE_PRODUCED] <= steps + 4 + 2  # taken, plus the buffer and one in flight
    assert math.isfinite(records.of_stage("io")[-1, SAMPLE_PROCESSING_MS])


def test_samples_are_written_off_the_stepping_thread(whatif):
    import threading

    run = Run(whatif(("stages.io.ms", 1), ("model.step_ms", 2), steps=200))
    writers, append = set(), run.stage_records.append

    def noting_the_writer(*args, **kwargs):
        writers.add(threading.current_thread().name)
        append(*args, **kwargs)

    run.stage_records.append = noting_the_writer
    run.run()
    assert PROBE_THREAD in writers and STEPPING_THREAD not in writers
    assert not any(thread.name == PROBE_THREAD for thread in threading.enumerate())  # it ended with the run


def test_summary_gives_each_stages_rate_and_buffer(whatif_run):
    summary = build_summary(whatif_run)
    stages = summary["stages"]
    assert set(stages) == {"batch", "io", "prefetch"}
    batches_per_s = summary["steps_per_s"]
    for stage_id in stages:  # one batch a step through every stage after `batch`
        assert stages[stage_id]["elements_per_s"] == pytest.approx(batches_per_s, rel=0.15), stage_id
        assert stages[stage_id]["samples"] >= 3 and stages[stage_id]["fused_with"] is None
    assert 2.0 <= stages["prefetch"]["buffered_mean"] <= 4.0  # compute-bound: the buffer stays near full


def test_the_queue_runners_fill_is_sampled_as_the_feeder_stage(whatif):
    run = finished(whatif(("feeder.kind", "queue_runner"), ("stages.io.ms", 2), ("model.step_ms", 5), steps=150))
    records = run.stage_records
    assert records.stage_ids[-1] == FEEDER_STAGE
    queue = records.of_stage(FEEDER_STAGE)
    assert len(queue) >= 3 and np.all(np.diff(queue[:, SAMPLE_PRODUCED]) >= 0)
    assert queue[-1, SAMPLE_PRODUCED] >= len(run.records)
    summary = build_summary(run)
    # the same queue as the fill read at every step, a few times a second instead
    assert summary["stages"][FEEDER_STAGE]["buffered_mean"] == pytest.approx(summary["fill"]["mean"], abs=1.5)
    assert records.latest().figures[FEEDER_STAGE]["parameters"] == {"capacity": 5}


def test_a_change_that_rebuilds_the_pipeline_samples_its_new_version(whatif):
    run = Run(whatif(("stages.io.ms", 1), ("model.step_ms", 2), steps=500))
    run.scheduled_changes = {200: [("stages.io.num_parallel_calls", 2)]}
    run.run()
    rows = run.stage_records.snapshot()
    versions = rows[:, SAMPLE_CONFIG_VERSION]
    assert set(versions) == {0, 1} and np.all(np.diff(versions) >= 0)  # never an old sample after a new one
    io_before = run.stage_records.of_stage("io", rows[versions == 0])
    io_after = run.stage_records.of_stage("io", rows[versions == 1])
    assert io_after[0, SAMPLE_PRODUCED] < io_before[-1, SAMPLE_PRODUCED]  # the rebuilt iterator counts afresh
    # Two calls at once: sleeps side by side in a parallel interleave (one at a time it was a Sleep node).
    assert run.stage_records.latest().figures["io"]["node"].startswith("ParallelInterleave")


def test_a_run_without_tf_datas_model_says_why_in_its_records(whatif):
    run = finished(whatif(("feeder.autotune", False), steps=40))
    assert len(run.stage_records) == 0
    assert run.stage_records.unavailable.startswith("autotune is off")
    assert run.stage_records.latest().unavailable == run.outcome.stages_unavailable


def test_prefetch_to_device_on_the_cpu_samples_only_itself(whatif):
    run = finished(whatif(("stages.prefetch.kind", "prefetch_to_device"), ("stages.prefetch.device", "/CPU:0"),
                          steps=60))
    assert run.stage_records.stage_ids == ["prefetch"]
    assert run.stage_records.partial.startswith("only 'prefetch' has figures")


# ---------------------------------------------------------------- StageRecords alone (no TensorFlow needed)


def test_latest_gives_each_stages_rate_over_the_last_second():
    records = StageRecords(capacity=2)  # grows as it goes
    for i in range(40):
        t = i / 4
        records.append(t, "io", 0, 100 * i, 0)  # 400 elements/s
        records.append(t, "batch", 2, 10 * i, 0, fused_with="io")
    latest = records.latest().figures
    assert latest["io"]["elements_per_s"] == pytest.approx(400.0)
    assert latest["batch"] == {"buffered": 2, "elements_per_s": pytest.approx(40.0), "node": None,
                               "parameters": {}, "fused_with": "io"}
    assert len(records) == 80 and records.stage_ids == ["io", "batch"]


def test_a_rebuild_restarts_the_counts_without_a_negative_rate():
    rows = StageRecords()
    for t, produced, version in [(0.0, 0, 0), (0.5, 50, 0), (1.0, 100, 0), (1.25, 5, 1), (1.5, 30, 1)]:
        rows.append(t, "io", 1, produced, version)
    assert stage_rate(rows.of_stage("io")) == pytest.approx((100 + 25) / (1.0 + 0.25))
    assert rows.latest().figures["io"]["elements_per_s"] == pytest.approx(100.0)  # the new version's own
