"""run.json: what a run folder holds beside its rows, so that `report` and the app can rebuild the run.

The resolved pipeline, when the run started, the device and the feeding buffer's capacity;
the outcome as it stands (status, error, configuration changes with their times, stalls,
warnings, skipped files, the device's busy time, the tf.profiler capture kept for XProf);
which batch size the steps had (steps.csv has no column for it); the stage ids and details
behind stages.csv; and, once the run's files are closed, `closed: true` and what the run added
to its summary (`extra`, e.g. the app's ui_lag_ms). Small, so it is rewritten whole whenever it
changes, atomically (a temporary file renamed over it): a kill leaves the last complete version,
never half of one. The host CPU split (`cpu_split`) is written once the run has ended: a live
one would change at every look.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Optional

from core.engine.outcome import ConfigChange, RunFailure, RunOutcome, RunStatus
from core.engine.run_protocol import RunView
from core.engine.stalls import Stall
from core.spec.params import SpecError

RUN_JSON = "run.json"
FORMAT = 1  # bumped when a reader of an older run.json would misread a newer one


def run_facts(run: RunView, started_at: Optional[str], batch_sizes: list, closed: bool = False,
              extra: Optional[dict] = None) -> dict:
    """run.json's content for `run` (a core.engine.runner.Run, or a run loaded from its folder)."""
    outcome, stages = run.outcome, run.stage_records
    return {
        "format": FORMAT,
        "spec": run.spec.to_dict(),
        "started_at": started_at,
        "device": run.device,
        "device_details": run.device_details,
        "capacity": run.capacity,
        "status": str(outcome.status),
        "error": _error_facts(outcome.error),
        "changes": [asdict(change) for change in list(outcome.changes)],
        "stalls": [stall.to_dict() for stall in list(outcome.stalls)],
        "warnings": list(outcome.warnings),
        "stages_unavailable": outcome.stages_unavailable,
        "skipped_files": outcome.skipped_files,
        "left_in_flight": outcome.left_in_flight,
        "pending_at_end": outcome.pending_at_end.to_dict() if outcome.pending_at_end else None,
        "device_busy": outcome.device_busy,
        "profile": outcome.profile,
        "service": outcome.service,
        "cpu_split": run.cpu_split if outcome.status.ended else None,
        "batch_sizes": [list(pair) for pair in batch_sizes],
        "stage_ids": list(stages.stage_ids),
        "stage_details": dict(stages.details),
        "stage_figures": {"unavailable": stages.unavailable, "partial": stages.partial},
        "closed": closed,
        "extra": run.extra | (extra or {}),  # a watched job's facts are there from the start
    }


def wall_clock_start(run: RunView) -> Optional[str]:
    """When the run started, as local ISO time; None before it has."""
    if run.started_at:
        return run.started_at  # a run loaded from its folder keeps its own
    if run.outcome.status in (RunStatus.PENDING, RunStatus.BUILDING) or not run.elapsed_s():
        return None
    started = time.time() - run.elapsed_s()
    return datetime.fromtimestamp(started).astimezone().isoformat(timespec="milliseconds")


def outcome_from_facts(facts: dict) -> RunOutcome:
    return RunOutcome(
        status=RunStatus(facts["status"]),
        error=_error_from_facts(facts.get("error")),
        changes=[ConfigChange(**change) for change in facts.get("changes", [])],
        stalls=[Stall(**stall) for stall in facts.get("stalls", [])],
        skipped_files=facts.get("skipped_files"),
        left_in_flight=facts.get("left_in_flight", False),
        pending_at_end=Stall(**facts["pending_at_end"]) if facts.get("pending_at_end") else None,
        stages_unavailable=facts.get("stages_unavailable"),
        warnings=list(facts.get("warnings", [])),
        device_busy=facts.get("device_busy") or RunOutcome().device_busy,
        profile=facts.get("profile"),
        service=facts.get("service"),
    )


def _error_facts(error: Optional[BaseException]) -> Optional[dict]:
    if error is None:
        return None
    return {"message": str(error), "bad_input": isinstance(error, SpecError), "stage": getattr(error, "stage_id", None)}


def _error_from_facts(facts: Optional[dict]) -> Optional[BaseException]:
    """The run's error as the kind it was: bad input (SpecError) or a failure naming its stage."""
    if not facts:
        return None
    if facts.get("bad_input"):
        return SpecError(facts["message"], stage_id=facts.get("stage"))
    return RunFailure(facts["message"], facts.get("stage"))


def add_extra_facts(folder: Path, extra: dict) -> None:
    """`extra` added to a closed run.json's, as if the run had said it."""
    path = Path(folder) / RUN_JSON
    facts = json.loads(path.read_text())
    facts["extra"] = (facts.get("extra") or {}) | extra
    write_atomically(path, facts_text(facts))


def facts_text(facts: dict) -> str:
    return json.dumps(facts, indent=2, sort_keys=True) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` whole: a kill leaves the old file or the new one, never a part."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
