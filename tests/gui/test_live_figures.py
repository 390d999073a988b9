"""The blocks' live figures in the app: read from the run's stage records, shown when there are some,
and a plain reason, once, when there are none.

The app never asks the engine for them: the fake runs here have stage records written by the
test and a `feeder` that fails the test if anything touches it. One test runs the real engine.
"""
from __future__ import annotations

import pytest

from core.spec.pipeline import apply_overrides
from gui.document import stage_key
from tests.gui import fakes

FAST = [("model.step_ms", 2.0), ("stages.io.ms", 1.0), ("stages.cpu.ms", 0.2), ("run.seconds", 60.0),
        ("run.warmup_steps", 5)]
LIVE = "on the blocks (tf.data's live model)"
GPU_REASON = ("the iterator runs on /GPU:0 (stage 'prefetch', prefetch_to_device) and tf.data's "
              "live model (IteratorGetModelProto) only runs on the CPU")


def load(window, *changes):
    window.load_spec(apply_overrides(window.document.spec(), FAST + list(changes)))


def counting_set_text(label) -> list:
    """Every text the label is given, so a test can see a line is not rewritten at every poll."""
    given, set_text = [], label.setText

    def record(text):
        given.append(text)
        set_text(text)

    label.setText = record
    return given


def stop(window, qtbot):
    window.controller.stop()
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=60_000)


@pytest.fixture
def engine_untouched(monkeypatch):
    """Fake runs whose feeder fails the test when read: the app must take figures from the records."""
    touched = []

    def no_feeder(run):
        touched.append("feeder")
        raise AssertionError("the app reached into the run's feeder")

    monkeypatch.setattr(fakes.FakeRun, "feeder", property(no_feeder, lambda run, value: None), raising=False)
    return touched


def started_fake_run(window, qtbot, fake_runs):
    fake_runs.hold_at = 50  # running until stopped
    window.start_run()
    qtbot.waitUntil(lambda: bool(fake_runs.made), timeout=10_000)
    return fake_runs.made[-1]


def write_samples(records, stage_id: str, per_s: float, buffered: int, node: str, seconds: float = 1.0) -> None:
    """Samples at 4 Hz over `seconds`, as the run's probes would write them."""
    for i in range(int(seconds * 4) + 1):
        t = i / 4
        records.append(t, stage_id, buffered, int(per_s * t), 0)
    records.details = {**records.details, stage_id: {"node": node, "parameters": {"buffer_size": 4.0}}}


def test_the_blocks_show_the_latest_samples(window, qtbot, fake_runs, engine_untouched):
    figures = []
    window.live_view.stage_figures.connect(figures.append)
    run = started_fake_run(window, qtbot, fake_runs)
    write_samples(run.stage_records, "prefetch", per_s=120.0, buffered=3, node="Prefetch")
    write_samples(run.stage_records, "io", per_s=120.0, buffered=0, node="Sleep")
    line = window.live_view.summary.values["stage figures"]
    qtbot.waitUntil(lambda: "prefetch" in window.editor.live, timeout=10_000)
    shown = window.editor.live["prefetch"]
    assert shown["buffered"] == 3 and shown["elements_per_s"] == pytest.approx(120.0, rel=0.01)
    assert shown["node"] == "Prefetch" and shown["fused_with"] is None
    assert "buf 3" in window.editor.texts_for(stage_key("prefetch"))[2]
    assert line.text() == LIVE
    stop(window, qtbot)
    assert line.text() == LIVE and "prefetch" in window.editor.live  # kept after the run
    assert engine_untouched == []


def test_no_figures_is_said_once_with_the_reason(window, qtbot, fake_runs, engine_untouched):
    figures = []
    window.live_view.stage_figures.connect(figures.append)
    line = window.live_view.summary.values["stage figures"]
    given = counting_set_text(line)
    run = started_fake_run(window, qtbot, fake_runs)
    run.stage_records.unavailable = GPU_REASON  # as the probes say it for an iterator on a GPU
    expected = f"unavailable — {GPU_REASON}"
    qtbot.waitUntil(lambda: line.text() == expected, timeout=10_000)
    polls = len(figures)
    qtbot.waitUntil(lambda: len(figures) >= polls + 3, timeout=10_000)  # the view goes on reading at 2 Hz …
    stop(window, qtbot)
    assert given.count(expected) == 1  # … but says it once
    assert not any(figures) and line.text() == expected and line.toolTip() == expected
    assert engine_untouched == []


def test_a_real_cpu_run_shows_tf_datas_figures_on_the_blocks(window, qtbot):
    load(window)
    window.start_run()
    line = window.live_view.summary.values["stage figures"]
    qtbot.waitUntil(lambda: line.text() == LIVE, timeout=60_000)
    qtbot.waitUntil(lambda: bool((window.editor.live.get("prefetch") or {}).get("elements_per_s")), timeout=20_000)
    assert window.editor.live["prefetch"]["node"] == "Prefetch"
    stop(window, qtbot)
    assert line.text() == LIVE  # kept after the run


@pytest.mark.parametrize("feeder", ["queue_runner", "feed_dict"])
def test_prefetch_to_device_with_another_feeder_marks_the_block(window, feeder):
    load(window, ("stages.prefetch.kind", "prefetch_to_device"))
    assert window.toolbar.run_action.isEnabled()
    window.document.set_kind("feeder", feeder)
    problem = window.document.problems()[stage_key("prefetch")]
    assert problem.startswith(f"stage 'prefetch': prefetch_to_device needs the tf_data feeder, not {feeder}")
    assert not window.toolbar.run_action.isEnabled()
    assert "invalid" in window.editor.texts_for(stage_key("prefetch"))[2]
    assert not window.start_run()
