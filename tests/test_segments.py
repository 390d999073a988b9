"""Figures per configuration version: what a change did, before and after, not one blurred summary."""
import numpy as np

from core.analysis.segments import segments, version_spans
from core.spec.records import COLUMNS, CONFIG_VERSION, StepRecords


def steady_rows(spans):
    """Rows of back-to-back steps: for each (version, steps, wait_ms, compute_ms), that many steps."""
    records, t = StepRecords(), 0.0
    for version, count, wait_ms, compute_ms in spans:
        for _ in range(count):
            ready = t + wait_ms / 1000.0
            done = ready + compute_ms / 1000.0
            records.append(t, ready, done, 2, version, 32, ready)
            t = done
    return records.snapshot()


def test_each_version_gets_its_own_figures():
    rows = steady_rows([(0, 100, 6.0, 4.0), (1, 50, 0.0, 4.0), (2, 30, 1.0, 1.0)])
    result = segments(rows, warmup_steps=10, capacity=4, change_descriptions={1: "stages.io.ms=0", 2: "model.x=1"})
    assert [(s["version"], s["first_step"], s["steps"], s["measured_steps"]) for s in result] == \
        [(0, 0, 100, 90), (1, 100, 50, 50), (2, 150, 30, 30)]
    assert [s["change"] for s in result] == [None, "stages.io.ms=0", "model.x=1"]
    assert np.isclose(result[0]["steps_per_s"], 100.0, rtol=1e-3) and np.isclose(result[0]["idle_fraction"], 0.6)
    assert np.isclose(result[1]["steps_per_s"], 250.0, rtol=1e-3) and result[1]["idle_fraction"] == 0.0
    assert result[1]["verdict"] == "compute-bound" and result[0]["verdict"] == "input-bound"
    assert np.isclose(result[2]["step_ms"]["p50"], 2.0) and result[2]["fill"]["capacity"] == 4


def test_a_segment_of_warmup_only_has_no_figures():
    rows = steady_rows([(0, 5, 1.0, 1.0), (1, 20, 1.0, 1.0)])
    first, second = segments(rows, warmup_steps=8, capacity=None, change_descriptions={})
    assert first["measured_steps"] == 0 and first["steps_per_s"] is None and first["step_ms"] is None
    assert second["first_step"] == 5 and second["measured_steps"] == 17 and second["steps_per_s"] > 0


def test_a_version_that_comes_back_is_a_new_segment():
    rows = steady_rows([(0, 3, 1, 1), (1, 3, 1, 1), (0, 3, 1, 1)])
    assert version_spans(rows) == [(0, 0, 3), (1, 3, 6), (0, 6, 9)]
    assert version_spans(np.zeros((0, len(COLUMNS)))) == []
    assert rows[:, CONFIG_VERSION].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0]
