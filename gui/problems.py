"""Problems in the edited pipeline, said the way the app shows them: by stage id, at the field.

Core's errors name a path (`stages[2].num_parallel_calls: must be ≥ 1 …`); the
app names the block and the field (`stage 'cpu': num_parallel_calls must be
≥ 1 …`) and marks that field. A SpecError carries `path`, `stage_id` and
`reason`; other errors (a failed run's) only a message, which is parsed instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

PIPELINE = "pipeline"  # the block key of the run settings and the pipeline as a whole
_STAGE_PATH = re.compile(r"stages(?:\[(?P<index>\d+)\]|\.(?P<id>[\w-]+))(?:\.(?P<param>\w+))?")
_BLOCK_PATH = re.compile(r"(?P<block>source|feeder|model|run)(?:\.(?P<param>\w+))?")


@dataclass(frozen=True)
class Problem:
    key: str  # the block: "source", "feeder", "model", "stages.<id>" or "pipeline"
    param: Optional[str]  # the field it is about, when it is about one
    text: str  # what the user reads


def problem_from_error(error: Exception, data: dict) -> Problem:
    """Where a SpecError points in `data` (a pipeline's dict form), and its message by stage id."""
    path, reason = _path_and_reason(error)
    stage = _STAGE_PATH.match(path)
    if stage:
        stage_id = getattr(error, "stage_id", None) or stage.group("id") or _stage_id_at(stage.group("index"), data)
        if stage_id is not None:
            return _problem(f"stages.{stage_id}", f"stage '{stage_id}'", stage.group("param"), reason)
    block = _BLOCK_PATH.match(path)
    if block:
        name = block.group("block")
        return _problem(PIPELINE if name == "run" else name, name, block.group("param"), reason)
    return Problem(PIPELINE, None, str(error))


def _path_and_reason(error: Exception) -> tuple[str, str]:
    path, reason = getattr(error, "path", None), getattr(error, "reason", None)
    if path is not None and reason is not None:
        return str(path), str(reason)
    path, _, reason = str(error).partition(": ")
    return path, reason or str(error)


def _stage_id_at(index: Optional[str], data: dict) -> Optional[str]:
    stages = data.get("stages", [])
    return stages[int(index)].get("id") if index is not None and int(index) < len(stages) else None


def _problem(key: str, where: str, param: Optional[str], reason: str) -> Problem:
    return Problem(key, param, f"{where}: {param} {reason}" if param else f"{where}: {reason}")
