"""The files a run writes to --out: summary.json, steps.csv, trace.json and timeline.png."""
from __future__ import annotations

import sys
from pathlib import Path

from core.outputs.steps_csv import write_steps_csv
from core.outputs.summary import build_summary, run_headline, write_json
from core.outputs.timeline import render_timeline_png
from core.outputs.trace import write_trace
from core.spec.params import SpecError


def write_run_files(run, out_dir: Path, extra: dict | None = None) -> dict:
    """All four files from one snapshot of the records, so they agree; returns the summary.

    A folder that cannot be written is a SpecError naming --out; a timeline that cannot be drawn
    is only a warning, since a plot must never cost the user the run's data."""
    out_dir = Path(out_dir)
    rows = run.records.snapshot()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        summary = build_summary(run, extra, rows)
        write_json(out_dir / "summary.json", summary)
        write_steps_csv(out_dir / "steps.csv", rows)
        write_trace(out_dir / "trace.json", rows, run.outcome.changes, run.spec.name)
    except OSError as error:
        raise SpecError(f"--out {out_dir}: cannot write the run's files ({error})") from None
    try:
        render_timeline_png(out_dir / "timeline.png", rows, run.capacity, [change.t for change in run.outcome.changes],
                            title=run.spec.name, warmup_steps=run.spec.run["warmup_steps"],
                            headline=run_headline(run.spec.name, summary))
    except Exception as error:
        sys.stderr.write(f"warning: timeline.png not written ({type(error).__name__}: {error})\n")
    return summary
