"""Problems in the edited pipeline, said the way the app shows them: by stage id, at the field.

Core's errors name a path (`stages[2].num_parallel_calls: must be ≥ 1 …`) and carry
it as parts (`SpecError.block`, `.param`, `.stage_id`); the app names the block and
the field (`stage 'cpu': num_parallel_calls must be ≥ 1 …`) and marks that field.
Errors without a pipeline path (a failed run's, a file's) are about the pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

PIPELINE = "pipeline"  # the block key of the run settings and the pipeline as a whole
_COMPONENTS = ("source", "feeder", "model")


@dataclass(frozen=True)
class Problem:
    key: str  # the block: "source", "feeder", "model", "stages.<id>" or "pipeline"
    param: Optional[str]  # the field it is about, when it is about one
    text: str  # what the user reads


def problem_from_error(error: Exception, data: dict) -> Problem:
    """Where an error points in `data` (a pipeline's dict form), and its message by stage id."""
    block, param, reason = getattr(error, "block", None), getattr(error, "param", None), getattr(error, "reason", "")
    if block == "stages":
        stage_id = getattr(error, "stage_id", None) or _stage_id_at(error.parts, data)
        if stage_id is not None:
            return _problem(f"stages.{stage_id}", f"stage '{stage_id}'", param, reason)
    if block in _COMPONENTS:
        return _problem(block, block, param, reason)
    if block == "run":
        return _problem(PIPELINE, "run", param, reason)
    return Problem(PIPELINE, None, str(error))


def _stage_id_at(parts: tuple, data: dict) -> Optional[str]:
    """The id of the stage a `stages[i]…` path names in `data`."""
    index = parts[1] if len(parts) > 1 else None
    stages = data.get("stages", [])
    return stages[index].get("id") if isinstance(index, int) and index < len(stages) else None


def _problem(key: str, where: str, param: Optional[str], reason: str) -> Problem:
    return Problem(key, param, f"{where}: {param} {reason}" if param else f"{where}: {reason}")
