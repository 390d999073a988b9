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


def test_a_window_shares_its_compute_and_its_parts_add_up_to_the_elapsed_time():
    # Three launches of 0.5 ms each; the device finishes 9 ms after the last launch.
    steps = [(0, 2 * MS, 3 * MS, int(3.5 * MS)),
             (4 * MS, 5 * MS, 6 * MS, int(6.5 * MS)),
             (7 * MS, 9 * MS, 10 * MS, int(10.5 * MS))]
    rows, parts = flushed(steps, t_synced=20 * MS)
    assert parts["input_ms"] == pytest.approx([2, 1, 2]) and parts["transfer_ms"] == pytest.approx([1, 1, 1])
    assert parts["between_ms"] == pytest.approx([0, 0.5, 0.5])  # from the previous launch's return
    # elapsed 20 = between 1 + input 5 + transfer 3 + 3 × compute
    assert parts["compute_ms"] == pytest.approx([11 / 3] * 3)
    assert rows[-1, 2] == pytest.approx(0.020)  # the last step ends at the sync
    steps_ms = parts["between_ms"] + parts["input_ms"] + parts["transfer_ms"] + parts["compute_ms"]
    assert steps_ms == pytest.approx(parts["step_ms"]) and steps_ms.sum() == pytest.approx(20)
    assert np.all(np.diff(rows[:, 0]) > 0) and np.all(rows[:, 1] <= rows[:, 2])


def test_a_window_run_records_every_step_with_one_compute_per_window(whatif):
    run = Run(whatif(("model.kind", "mlp"), ("model.hidden", [16]), ("model.sync", "window"),
                     ("model.sync_window", 5), steps=20))
    run.run()
    assert run.outcome.status == "finished" and len(run.records) == 20
    compute = derived(run.records.snapshot())["compute_ms"]
    for start in range(0, 20, 5):
        assert compute[start:start + 5] == pytest.approx([compute[start]] * 5)
    summary = build_summary(run)
    assert summary["sync"]["policy"] == "window" and summary["sync"]["window_steps"] == 5
    assert summary["sync"]["device_busy_ms"] is None and "not measured" in summary["sync"]["device_busy"]


def test_an_automatic_window_is_due_after_about_50_ms():
    from core.engine.step_window import AUTO_WINDOW_NS

    window = StepWindow(StepRecords(), start_ns=0, max_ns=AUTO_WINDOW_NS)
    assert not window.due(0)
    window.add(0, 1, 2, 3, fill=0, version=0, batch_size=1)
    assert not window.due(49 * MS) and window.due(50 * MS)
    every_step = StepWindow(StepRecords(), start_ns=0, max_steps=1)
    every_step.add(0, 1, 2, 3, fill=0, version=0, batch_size=1)
    assert every_step.due(3)
