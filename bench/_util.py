"""Helpers shared by the benchmarks: run a description and summarise it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.engine.tf_runtime import load_tensorflow  # noqa: E402

load_tensorflow()  # quietly, before anything else imports it

from core.outputs.summary import build_summary  # noqa: E402
from core.spec.presets import load_preset  # noqa: E402
from core.engine.runner import Run  # noqa: E402
from core.spec.pipeline import apply_overrides  # noqa: E402


def run_summary(spec) -> dict:
    run = Run(spec)
    run.run()
    if run.outcome.error:
        raise SystemExit(f"error: {run.outcome.error}")
    return build_summary(run)


def preset(name: str, *assignments):
    return apply_overrides(load_preset(name), list(assignments))
