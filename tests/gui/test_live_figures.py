"""The blocks' live figures in the app: shown when tf.data has them, and a plain reason, once, when not.

This machine has no GPU: the GPU-side iterator is a real run's CPU iterator that the
LiveStageStats handed to the view is told lives on /GPU:0.
"""
from __future__ import annotations

import pytest

from core.engine.live_stats import LiveStageStats
from core.spec.pipeline import apply_overrides
from gui.document import stage_key

GPU = "/job:localhost/replica:0/task:0/device:GPU:0"
FAST = [("model.step_ms", 2.0), ("stages.io.ms", 1.0), ("stages.cpu.ms", 0.2), ("run.seconds", 60.0),
        ("run.warmup_steps", 5)]


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


def test_a_cpu_run_shows_figures_on_the_blocks(window, qtbot):
    load(window)
    window.start_run()
    line = window.live_view.summary.values["stage figures"]
    qtbot.waitUntil(lambda: line.text() == "on the blocks (tf.data's live model)", timeout=60_000)
    qtbot.waitUntil(lambda: "prefetch" in window.editor.live, timeout=20_000)
    stop(window, qtbot)
    assert line.text() == "on the blocks (tf.data's live model)"  # kept after the run


def test_an_iterator_on_a_gpu_is_said_once_in_the_summary(window, qtbot):
    load(window, ("stages.prefetch.kind", "prefetch_to_device"))
    reads = []

    def read_model(iterator):
        reads.append(iterator)
        raise AssertionError("asked tf.data for a model it cannot have")

    window.live_view.live_stats_factory = lambda: LiveStageStats(read_model=read_model, device_of=lambda _it: GPU)
    line = window.live_view.summary.values["stage figures"]
    given = counting_set_text(line)
    figures = []
    window.live_view.stage_figures.connect(figures.append)
    window.start_run()
    expected = ("unavailable — the iterator runs on /GPU:0 (stage 'prefetch', prefetch_to_device) and tf.data's "
                "live model (IteratorGetModelProto) only runs on the CPU")
    qtbot.waitUntil(lambda: line.text() == expected, timeout=60_000)
    polls = len(figures)
    qtbot.waitUntil(lambda: len(figures) >= polls + 3, timeout=20_000)  # the view goes on polling at 2 Hz …
    stop(window, qtbot)
    assert given.count(expected) == 1 and reads == []  # … but says it once and never asks TensorFlow
    assert not any(figures) and line.text() == expected
    assert line.toolTip() == expected


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
