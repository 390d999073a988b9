"""The sync policy's arithmetic: a window's steps laid end to end, their parts adding up to the steps."""
import numpy as np
import pytest

from core.outputs.summary import build_summary
from core.spec.records import StepRecords, derived
from core.engine.runner import Run
from core.engine.step_window import StepWindow

MS = 1_000_000  # ns


def flushed(steps, t_synced, max_steps=100):
    records = StepRecords()
    window = StepWindow(records, start_ns=0, max_steps=max_steps)
    for t_request, t_fetched, t_ready, t_launched in steps:
        window.add(t_request, t_fetched, t_ready, t_launched, fill=1, version=0, batch_size=4)
    window.flush(t_synced)
    return records.snapshot(), derived(records.snapshot())


def test_one_step_windows_keep_the_measured_times():
    rows, parts = flushed([(10 * MS, 12 * MS, 13 * MS, 20 * MS)], t_synced=20 * MS)
    assert rows[0, :3] == pytest.approx([0.010, 0.013, 0.020])
    assert parts["input_ms"][0] == pytest.approx(2) and parts["transfer_ms"][0] == pytest.approx(1)
    assert parts["compute_ms"][0] == pytest.approx(7)


def test_a_host_that_runs_ahead_leaves_the_device_no_gaps():
    # Three launches of 0.5 ms on an asynchronous device; it finishes 9.5 ms after the last launch.
    steps = [(0, 2 * MS, 3 * MS, int(3.5 * MS)),
             (4 * MS, 5 * MS, 6 * MS, int(6.5 * MS)),
             (7 * MS, 9 * MS, 10 * MS, int(10.5 * MS))]
    rows, parts = flushed(steps, t_synced=20 * MS)
    # Only the first batch kept the device waiting; the others were ready before it was free.
    assert parts["input_ms"] == pytest.approx([2, 0, 0]) and parts["transfer_ms"] == pytest.approx([1, 0, 0])
    assert parts["between_ms"] == pytest.approx([0, 0, 0])
    assert parts["compute_ms"] == pytest.approx([17 / 3] * 3)  # (20 − 3) shared by three steps in a row
    assert rows[-1, 2] == pytest.approx(0.020)  # the last step ends at the sync
    steps_ms = parts["between_ms"] + parts["input_ms"] + parts["transfer_ms"] + parts["compute_ms"]
    assert steps_ms == pytest.approx(parts["step_ms"]) and steps_ms.sum() == pytest.approx(20)
    assert np.all(np.diff(rows[:, 0]) > 0) and np.all(rows[:, 1] <= rows[:, 2])


def test_an_input_bound_window_counts_only_the_time_the_device_had_nothing_to_run():
    # Each batch takes 8 ms to come; the device takes 3 ms per step and runs while the next one comes.
    steps = [(0, 8 * MS, 8 * MS, 8 * MS), (8 * MS, 16 * MS, 16 * MS, 16 * MS), (16 * MS, 24 * MS, 24 * MS, 24 * MS)]
    rows, parts = flushed(steps, t_synced=27 * MS)
    assert parts["compute_ms"] == pytest.approx([3, 3, 3])
    assert parts["input_ms"] == pytest.approx([8, 5, 5])  # the first wait, then 8 less the 3 it overlapped
    assert rows[-1, 2] == pytest.approx(0.027)


def test_a_launch_that_runs_the_step_keeps_each_steps_own_compute():
    # On a CPU the launch is the step (4, 2 and 5 ms); reading the result back took 0.1 ms more.
    steps = [(0, 1 * MS, 1 * MS, 5 * MS), (5 * MS, 6 * MS, 6 * MS, 8 * MS), (8 * MS, 9 * MS, 9 * MS, 14 * MS)]
    rows, parts = flushed(steps, t_synced=int(14.1 * MS))
    assert parts["compute_ms"] == pytest.approx([4.1, 2.1, 5.1])
    assert parts["input_ms"] == pytest.approx([1, 0.9, 0.9])
    assert parts["step_ms"].sum() == pytest.approx(14.1)


def test_a_window_run_records_every_step_laid_end_to_end(whatif):
    run = Run(whatif(("model.kind", "mlp"), ("model.hidden", [16]), ("model.sync", "window"),
                     ("model.sync_window", 5), steps=20))
    run.run()
    assert run.outcome.status == "finished" and len(run.records) == 20
    rows = run.records.snapshot()
    parts = derived(rows)
    assert np.all(parts["compute_ms"] > 0)
    assert np.all(rows[1:, 0] >= rows[:-1, 2] - 1e-9)  # each step asks for its batch after the last one ended
    summary = build_summary(run)
    assert summary["sync"]["policy"] == "window" and summary["sync"]["window_steps"] == 5
    assert "queued" in summary["sync"]["compute_measured"]
    assert summary["sync"]["device_busy_ms"] is None and "not measured" in summary["sync"]["device_busy"]


def test_the_simulated_device_runs_while_the_host_takes_the_next_batch(whatif):
    """Its truth: with nothing to make, a window's steps take step_ms each, one after another."""
    run = Run(whatif(("model.step_ms", 4.0), ("stages.io.ms", 0.0), ("stages.cpu.ms", 0.0),
                     ("model.sync", "window"), ("model.sync_window", 10), steps=60))
    run.run()
    summary = build_summary(run)
    assert summary["compute_ms"]["p50"] == pytest.approx(4.0, rel=0.05)
    assert summary["idle_fraction"] < 0.2  # a gap only after each sync, while the host takes the next batch


def test_an_automatic_window_is_due_after_about_50_ms():
    from core.engine.step_window import AUTO_WINDOW_NS

    window = StepWindow(StepRecords(), start_ns=0, max_ns=AUTO_WINDOW_NS)
    assert not window.due(0)
    window.add(0, 1, 2, 3, fill=0, version=0, batch_size=1)
    assert not window.due(49 * MS) and window.due(50 * MS)
    every_step = StepWindow(StepRecords(), start_ns=0, max_steps=1)
    every_step.add(0, 1, 2, 3, fill=0, version=0, batch_size=1)
    assert every_step.due(3)
