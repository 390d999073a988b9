"""A saved session: the pipeline being edited and the session's runs, by the folders they were recorded in.

Runs are not copied: the app already streamed each one into a folder of its own, so a session file
names those folders, with each run's id and label (so `#3 whatif` is `#3 whatif` again when the
session is reopened) and which run was shown. A run with no folder (its recording failed) cannot be
reopened and is left out, which `session_of` says. The file is JSON with sorted keys:

    {"format": "pipescope-session", "version": 1,
     "pipeline": {"path": "/…/whatif.json" or null, "spec": {a pipeline file}},
     "runs": [{"id": 3, "label": "#3 whatif", "folder": "/…/runs/20261125-164512-whatif"}, …],
     "current": 3 or null}

`read_session` checks all of it, and a bad file is one SpecError naming the file and the field
(`s.pipescope-session.json: runs[1].folder: missing`). `open_runs` reads the runs back: a folder
that is gone, or holds no run any more, is one line saying so, and the others still open.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from core.experiments.history import RunHistory
from core.outputs.run_folder import LoadedRun, load_run
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, load_spec, read_json_file, spec_from_dict

SESSION_SUFFIX = ".pipescope-session.json"
FORMAT = "pipescope-session"
VERSION = 1
_TOP_LEVEL = ("format", "version", "pipeline", "runs", "current")
_PIPELINE_KEYS = ("path", "spec")
_RUN_KEYS = ("id", "label", "folder")


@dataclass(frozen=True)
class SessionRun:
    id: int
    label: str
    folder: str

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "folder": self.folder}


@dataclass(frozen=True)
class Session:
    pipeline: PipelineSpec
    pipeline_path: Optional[str]  # the pipeline file it was opened from or saved to, if any
    runs: tuple[SessionRun, ...]  # oldest first, as the history keeps them
    current: Optional[int] = None  # the id of the run that was shown

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION,
                "pipeline": {"path": self.pipeline_path, "spec": self.pipeline.to_dict()},
                "runs": [run.to_dict() for run in self.runs], "current": self.current}


def session_of(pipeline: PipelineSpec, pipeline_path: Optional[str],
               history: RunHistory) -> tuple[Session, list[str]]:
    """The session to save, and a line for each run left out of it (one never recorded on disk)."""
    recorded = [entry for entry in history.entries if entry.folder is not None]
    left_out = [f"{entry.label}: left out, it was not recorded on disk" for entry in history.entries
                if entry.folder is None]
    current = history.current
    current_id = current.id if current is not None and current in recorded else None
    runs = tuple(SessionRun(entry.id, entry.label, str(entry.folder)) for entry in recorded)
    return Session(pipeline, pipeline_path, runs, current_id), left_out


def write_session(session: Session, path) -> None:
    """Write the session file (sorted keys, indented); a file that cannot be written is a SpecError naming it."""
    try:
        Path(path).write_text(json.dumps(session.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as error:
        raise SpecError(f"{path}: cannot write the session ({error.strerror or error})") from None


def read_session(path) -> Session:
    """The session in `path`, checked whole; SpecError `<file>: <field>: <problem>` otherwise."""
    data = read_json_file(Path(path), "session file")
    where = _Where(path)
    if not isinstance(data, dict):
        raise where.error("", f"not a Pipescope session (a JSON object with \"format\": \"{FORMAT}\" expected)")
    _only_known_keys(data, _TOP_LEVEL, where, "")
    if data.get("format") != FORMAT:
        raise where.error("format", f"not a Pipescope session (expected {FORMAT!r}, got {data.get('format')!r})")
    _check_version(data, where)
    pipeline, pipeline_path = _pipeline(_required(data, "pipeline", dict, where, ""), where)
    runs = _runs(_required(data, "runs", list, where, ""), where)
    current = data.get("current")
    if current is not None and (not _is_int(current) or current not in {run.id for run in runs}):
        raise where.error("current", f"no run with id {current!r} in runs")
    return Session(pipeline, pipeline_path, runs, current)


def pipeline_file_of(session: Session) -> Optional[str]:
    """The session's pipeline file, if it still holds the session's pipeline. Else None: the file changed
    since, or the pipeline had edits not saved to it, and Save must ask where rather than overwrite it."""
    if session.pipeline_path is None:
        return None
    try:
        on_disk = load_spec(session.pipeline_path)
    except SpecError:  # gone, or no longer a pipeline
        return None
    return session.pipeline_path if on_disk.to_dict() == session.pipeline.to_dict() else None


def open_runs(session: Session) -> tuple[list[tuple[SessionRun, LoadedRun]], list[str]]:
    """Each run of the session read back from its folder, in order; a line for each that cannot be."""
    opened, skipped = [], []
    for run in session.runs:
        try:
            opened.append((run, load_run(run.folder)))
        except SpecError as error:  # load_run's message names the folder or the file in it
            skipped.append(f"{run.label}: skipped, {error}")
    return opened, skipped


# ---------------------------------------------------------------- checking a file


class _Where:
    """Names a field of one session file in an error: `<file>: runs[1].folder: <problem>`."""

    def __init__(self, path):
        self.path = path

    def error(self, field: str, problem: str) -> SpecError:
        return SpecError(f"{self.path}: {field}: {problem}" if field else f"{self.path}: {problem}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _only_known_keys(data: dict, known: tuple, where: _Where, prefix: str) -> None:
    for key in data:
        if key not in known:
            raise where.error(f"{prefix}{key}", f"unknown key (known: {', '.join(known)})")


def _required(data: dict, key: str, kind: type, where: _Where, prefix: str):
    if key not in data:
        raise where.error(f"{prefix}{key}", "missing")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and not _is_int(value)):
        names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
        raise where.error(f"{prefix}{key}", f"must be {names[kind]}, got {value!r}")
    return value


def _check_version(data: dict, where: _Where) -> None:
    version = _required(data, "version", int, where, "")
    if version > VERSION:
        raise where.error("version", f"written by a newer Pipescope (version {version}; this one reads {VERSION})")
    if version < 1:
        raise where.error("version", f"must be 1 or more, got {version}")


def _pipeline(data: dict, where: _Where) -> tuple[PipelineSpec, Optional[str]]:
    _only_known_keys(data, _PIPELINE_KEYS, where, "pipeline.")
    path = data.get("path")
    if path is not None and not isinstance(path, str):
        raise where.error("pipeline.path", f"must be a string or null, got {path!r}")
    spec_data = _required(data, "spec", dict, where, "pipeline.")
    try:
        return spec_from_dict(spec_data, where="pipeline.spec"), path
    except SpecError as error:  # its own message names the field inside the pipeline
        raise where.error(f"pipeline.spec.{error.path}" if error.path else "pipeline.spec",
                          error.reason) from None


def _runs(data: list, where: _Where) -> tuple[SessionRun, ...]:
    runs, seen = [], set()
    for index, item in enumerate(data):
        prefix = f"runs[{index}]."
        if not isinstance(item, dict):
            raise where.error(f"runs[{index}]", f"must be an object, got {item!r}")
        _only_known_keys(item, _RUN_KEYS, where, prefix)
        run_id = _required(item, "id", int, where, prefix)
        label = _required(item, "label", str, where, prefix)
        folder = _required(item, "folder", str, where, prefix)
        if run_id < 1:
            raise where.error(f"{prefix}id", f"must be 1 or more, got {run_id}")
        if run_id in seen:
            raise where.error(f"{prefix}id", f"{run_id} is already the id of an earlier run")
        if not folder.strip():
            raise where.error(f"{prefix}folder", "empty")
        seen.add(run_id)
        runs.append(SessionRun(run_id, label, folder))
    return tuple(runs)
