"""Every preset runs: a few steps each, headless, on the real engine, its files written, no thread left behind.

Parametrized by `preset_names()`, so a preset added to resources/presets is smoke-tested without
being listed here. The image presets read the session's small sample folder, never ~/.cache.
"""
from __future__ import annotations

import json

import pytest

from core.engine.runner import Run
from core.outputs.run_files import write_run_files
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset, preset_names

STEPS = 8


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_runs_a_few_steps(name, image_folder, tmp_path, leak_guard):
    spec = load_preset(name)
    quick = [("run.steps", STEPS), ("run.seconds", None), ("run.warmup_steps", 2)]
    if spec.source.kind == "files":
        quick += [("source.path", str(image_folder)), ("source.sample_count", 0)]
    run = Run(apply_overrides(spec, quick))
    outcome = run.run()
    assert outcome.status == "finished", outcome.error
    assert len(run.records) == STEPS
    write_run_files(run, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == STEPS and summary["steps_per_s"] > 0 and summary["spec"]["name"] == name
