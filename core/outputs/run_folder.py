"""Open a run folder: `load_run(folder)` reads what a run streamed to disk back into a run object.

This is the loader `report` and the app's File → Open run… share; its API is kept stable:

    load_run(folder) -> LoadedRun       # raises SpecError, one line naming the folder or file

A `LoadedRun` is a `core.engine.run_protocol.RunView`, as a `core.engine.runner.Run` that has
ended is, so whatever reads a finished run reads it too:

    spec            PipelineSpec, as the run ended (after its what-if changes)
    records         StepRecords, one row per step on disk (batch sizes from run.json)
    stage_records   StageRecords: the stage samples, their ids, details and why figures are missing
    outcome         RunOutcome: status, error (SpecError or RunFailure), changes, stalls, warnings, …
    device, device_details, capacity
    started_at      local ISO time the run started, or None when it never did
    cpu_split       the host CPU seconds per category as the run ended (core.engine.cpu_meter), or None
    extra           what the run added to its summary.json (the app's ui_lag_ms), {} if none
    closed          False when the run never closed its files: it was killed or crashed, its status
                    is the last one written (often "running") and its last second may be missing
    change_pending, accepts_changes   always False: nothing can change a record
    folder          the folder it was read from
    target(), elapsed_s()   as Run's: the (steps, seconds) it was to go for; its recorded length

Works on a run still going, too: what is on disk so far. A reader that follows a folder as it
grows (the app, watching a script: core.experiments.watched_run) reads it piece by piece with
the same parts: `read_facts`, `described_by_facts`, `apply_batch_sizes`, `apply_stage_facts`.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from core.engine.outcome import RunOutcome
from core.outputs.run_json import FORMAT, RUN_JSON, outcome_from_facts
from core.outputs.stages_csv import read_stages_csv
from core.outputs.steps_csv import read_steps_csv
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, spec_from_dict
from core.spec.records import BATCH_SIZE, T_DONE, StageRecords, StepRecords

ROW_BYTES_AT_LEAST = 100  # a steps.csv line is longer than this: sizes the records' first allocation


@dataclass(eq=False)
class LoadedRun:
    folder: Path
    spec: PipelineSpec
    records: StepRecords
    stage_records: StageRecords
    outcome: RunOutcome
    device: Optional[str]
    device_details: dict
    capacity: Optional[int]
    started_at: Optional[str]
    extra: dict = field(default_factory=dict)
    closed: bool = True
    cpu_split: Optional[dict] = None
    # A record: no change waits and none can reach it. Class attributes, not fields: nothing on disk sets them.
    change_pending = False
    accepts_changes = False

    def target(self) -> tuple[Optional[int], Optional[float]]:
        return self.spec.target()

    def elapsed_s(self) -> float:
        return float(self.records.rows()[-1, T_DONE]) if len(self.records) else 0.0


def load_run(folder) -> LoadedRun:
    """The run recorded in `folder`: what it streamed, also after a kill (a cut-off last line is left out)."""
    folder = Path(folder)
    facts = read_facts(folder)
    with _not_a_record_unless_readable(folder):
        return LoadedRun(folder=folder, records=_read_steps(folder, facts), stage_records=_read_stages(folder, facts),
                         **described_by_facts(folder, facts))


def described_by_facts(folder: Path, facts: dict) -> dict:
    """What run.json (`facts`, read from `folder`) says of the run beside its rows: a LoadedRun's other fields."""
    with _not_a_record_unless_readable(folder):
        return dict(spec=_read_spec(folder, facts), outcome=outcome_from_facts(facts), device=facts["device"],
                    device_details=facts.get("device_details") or {}, capacity=facts.get("capacity"),
                    started_at=facts.get("started_at"), extra=facts.get("extra") or {},
                    closed=bool(facts.get("closed")), cpu_split=facts.get("cpu_split"))


def apply_batch_sizes(rows: np.ndarray, facts: dict, first_step: int = 0) -> None:
    """Set the batch sizes run.json gives for `rows`, steps `first_step` on (steps.csv has no column for them)."""
    for step, batch_size in facts.get("batch_sizes", []):
        rows[max(0, step - first_step):, BATCH_SIZE] = batch_size  # each pair holds until the next


def apply_stage_facts(stage_records: StageRecords, facts: dict) -> None:
    """The stages' latest details, and why their figures are missing, as run.json has them."""
    stage_records.details = dict(facts.get("stage_details") or {})
    figures = facts.get("stage_figures") or {}
    stage_records.unavailable, stage_records.partial = figures.get("unavailable"), figures.get("partial")


@contextmanager
def _not_a_record_unless_readable(folder: Path):
    try:
        yield
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, SpecError):
            raise
        raise SpecError(f"{folder / RUN_JSON}: not a run record ({type(error).__name__}: {error})") from None


def read_facts(folder: Path) -> dict:
    """run.json's content, checked to be one Pipescope wrote (SpecError naming the folder or file)."""
    if not folder.exists():
        raise SpecError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise SpecError(f"{folder}: not a folder")
    path = folder / RUN_JSON
    if not path.is_file():
        raise SpecError(f"{folder}: no run recorded here ({_why_no_run_json(folder)})")
    try:
        facts = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SpecError(f"{path}: cannot read it ({error})") from None
    if not isinstance(facts, dict) or not isinstance(facts.get("format"), int):
        raise SpecError(f"{path}: not a run record written by Pipescope")
    if facts["format"] > FORMAT:
        raise SpecError(f"{path}: written by a newer Pipescope (format {facts['format']}, this one reads {FORMAT})")
    return facts


def _read_spec(folder: Path, facts: dict) -> PipelineSpec:
    try:
        return spec_from_dict(facts["spec"], where="spec")
    except SpecError as error:
        raise SpecError(f"{folder / RUN_JSON}: its pipeline is not valid here ({error})") from None


def _why_no_run_json(folder: Path) -> str:
    if (folder / "summary.json").is_file():
        return "it has a summary.json but no run.json: an earlier Pipescope wrote it, before runs were streamed"
    return "no run.json; `run --out DIR` records a run"


def _read_steps(folder: Path, facts: dict) -> StepRecords:
    path = folder / "steps.csv"
    if not path.is_file():
        raise SpecError(f"{path}: missing (run.json is there, so the folder was changed after the run)")
    records = StepRecords(capacity=path.stat().st_size // ROW_BYTES_AT_LEAST + 1)
    read_steps_csv(path, records)
    apply_batch_sizes(records.rows(), facts)  # ours alone: no other thread writes them
    return records


def _read_stages(folder: Path, facts: dict) -> StageRecords:
    path = folder / "stages.csv"
    stage_ids = list(facts.get("stage_ids", []))
    stage_records = read_stages_csv(path, stage_ids) if path.is_file() else StageRecords()
    apply_stage_facts(stage_records, facts)
    return stage_records
