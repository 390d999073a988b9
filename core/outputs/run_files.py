"""The files of a run folder, and who writes them when.

Streamed while the run goes (core.outputs.record_stream): steps.csv, stages.csv, trace.json
and run.json. Written once it has ended, from the records in memory: summary.json and
timeline.png. `report` rebuilds summary.json, trace.json and timeline.png from what is on disk
(core.outputs.run_folder), also after a kill.

- `start_streaming(run, out_dir)`: before the run (the CLI's `run --out`).
- `write_run_files(run, out_dir, extra, stream)`: after it; closes the stream, or, for a run that
  did not stream (the app's exports), writes its records in one go by the same code.
- `finish_streamed_folder(run, folder, extra)`: after a run whose stream closed its folder (the app's
  runs): only what the stream does not write, summary.json and timeline.png.
- `rebuild_run_files(folder)`: `report`.

A folder that cannot be written is a SpecError naming --out; a timeline that cannot be drawn
is only a warning, since a plot must never cost the user the run's data.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import numpy as np

from core.outputs.record_stream import RecordStream
from core.outputs.run_json import add_extra_facts
from core.outputs.run_folder import LoadedRun, load_run
from core.outputs.summary import build_summary, run_headline, write_json
from core.outputs.timeline import render_timeline_png
from core.outputs.trace import write_trace
from core.spec.params import SpecError

CUT_OFF = ("the run was cut off (killed or crashed) before it closed its files: rebuilt from the steps on disk; "
           "its last second may be missing")


def start_streaming(run, out_dir) -> RecordStream:
    """Stream `run`'s records into `out_dir` from now on."""
    try:
        return RecordStream(run, Path(out_dir)).start()
    except OSError as error:
        raise _cannot_write(out_dir, error) from None


def write_run_files(run, out_dir, extra: Optional[dict] = None, stream: Optional[RecordStream] = None) -> dict:
    """All of an ended run's files in `out_dir`; returns the summary.

    `stream` is the run's RecordStream into `out_dir`, if it had one; else its records are
    written now, as a stream would have written them."""
    try:
        (stream or RecordStream(run, Path(out_dir))).close(extra)
    except OSError as error:
        raise _cannot_write(out_dir, error) from None
    # What the run added itself goes in too, as run.json has it (a watched script's source, script and pipeline).
    return _write_summary_and_timeline(run, Path(out_dir), run.extra | (extra or {}))


def finish_streamed_folder(run, folder, extra: dict) -> dict:
    """An ended run's folder that its stream has closed: summary.json and timeline.png, with `extra` (the
    app's own figures) in run.json too. The streamed files are not written again: at a million steps that
    took the app ~40 s after its last step."""
    folder = Path(folder)
    try:
        add_extra_facts(folder, extra)
    except OSError as error:
        raise _cannot_write(folder, error) from None
    return _write_summary_and_timeline(run, folder, run.extra | extra)


def rebuild_run_files(folder, keep_a_closed_trace: bool = False) -> tuple[LoadedRun, dict]:
    """`report`: summary.json, trace.json and timeline.png again, from what the run streamed to `folder`.

    `keep_a_closed_trace`: a stream that closed its files wrote the whole trace.json already (a watched
    job's, finished by its parent): it is written again only for a run that was cut off."""
    run = load_run(folder)
    rows = run.records.rows()
    stages = run.stage_records
    extra = dict(run.extra) | ({} if run.closed else {"record_stream": CUT_OFF})
    if not (keep_a_closed_trace and run.closed):
        try:
            write_trace(run.folder / "trace.json", run.spec.name, rows, run.outcome.changes, stages.rows(),
                        stages.stage_ids)
        except OSError as error:
            raise _cannot_write(folder, error, option="") from None
    return run, _write_summary_and_timeline(run, run.folder, extra, option="")


def _write_summary_and_timeline(run, folder: Path, extra: Optional[dict], option: str = "--out ") -> dict:
    rows = _ended_rows(run)
    summary = build_summary(run, extra, rows)
    try:
        write_json(folder / "summary.json", summary)
    except OSError as error:
        raise _cannot_write(folder, error, option) from None
    try:
        render_timeline_png(folder / "timeline.png", rows, run.capacity, [change.t for change in run.outcome.changes],
                            title=run.spec.name, warmup_steps=run.spec.run["warmup_steps"],
                            headline=run_headline(run.spec.name, summary))
    except Exception as error:
        sys.stderr.write(f"warning: timeline.png not written ({type(error).__name__}: {error})\n")
    return summary


def _ended_rows(run) -> np.ndarray:
    """The run's rows without copying them once it has ended (a million steps are 56 MB)."""
    return run.records.rows() if run.outcome.status.ended or isinstance(run, LoadedRun) else run.records.snapshot()


def _cannot_write(folder, error: OSError, option: str = "--out ") -> SpecError:
    return SpecError(f"{option}{folder}: cannot write the run's files ({error})")
