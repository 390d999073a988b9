"""Typed parameters and the errors bad values raise.

A `Param` says a parameter's type, default, range and help once; validation,
the editor's inspector and the code generator all read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

AUTOTUNE = "AUTOTUNE"


class SpecError(ValueError):
    """Bad input the user can fix: one line that starts with the failing path, then the reason.

    `path` is that path as written (`stages[2].num_parallel_calls`, `stages.io.ms`, a file name;
    "" when the message names none) and `reason` the text after it; `str(error)` is the whole
    line. Where the path is a pipeline file's, `parts` holds it as parts (`("stages", 2,
    "num_parallel_calls")`), `block` the top-level key it is in and `param` the parameter of that
    block; `stage_id` is the stage the error is about, or None; `user_path` says it as `--set`
    does (`stages.cpu.num_parallel_calls`) once the stage is known.
    """

    def __init__(self, message: str, stage_id: Optional[str] = None):
        super().__init__(message)
        path, separator, reason = message.partition(": ")
        self.path, self.reason = (path, reason) if separator else ("", message)
        self.parts = path_parts(self.path)
        named = self.parts[1] if self.block == "stages" and len(self.parts) > 1 else None
        self.stage_id = stage_id if stage_id is not None else (named if isinstance(named, str) else None)

    def __str__(self) -> str:
        """The line as said to the user: a stage named by its index is named by its id too."""
        if self.path and self.stage_id is not None and self.block == "stages" and isinstance(self.parts[1], int):
            return f"{self.path} (stage '{self.stage_id}'): {self.reason}"
        return super().__str__()

    @property
    def block(self) -> Optional[str]:
        return self.parts[0] if self.parts else None

    @property
    def param(self) -> Optional[str]:
        """The parameter of its block (a stage's, or the source's, feeder's, model's or run's)."""
        at = 2 if self.block == "stages" else 1
        return self.parts[at] if len(self.parts) > at and isinstance(self.parts[at], str) else None

    @property
    def user_path(self) -> str:
        if self.block != "stages" or self.stage_id is None or len(self.parts) < 2:
            return self.path
        return ".".join(["stages", self.stage_id, *(_part_text(part) for part in self.parts[2:])]).replace(".[", "[")

    def at_path(self, path: str, stage_id: Optional[str] = None) -> "SpecError":
        """The same reason, said at another path (as the user wrote it)."""
        return SpecError(f"{path}: {self.reason}", stage_id if stage_id is not None else self.stage_id)

    def about_stage(self, stage_id: str) -> "SpecError":
        """The same error, known to be about the stage `stage_id`."""
        return SpecError(f"{self.path}: {self.reason}" if self.path else self.reason, stage_id)


PIPELINE_KEYS = ("version", "name", "description", "source", "stages", "feeder", "model", "run")


def path_parts(path: str) -> tuple:
    """`stages[2].branch.stages[0].ms` → ("stages", 2, "branch", "stages", 0, "ms"); () for a path
    that is not a pipeline file's (a file name, `--out DIR`)."""
    parts: list = []
    for name in path.split("."):
        name, *indices = name.split("[")
        if not name or not all(index.endswith("]") and index[:-1].isdigit() for index in indices):
            return ()
        parts.append(name)
        parts.extend(int(index[:-1]) for index in indices)
    return tuple(parts) if parts and parts[0] in PIPELINE_KEYS else ()


def _part_text(part) -> str:
    return f"[{part}]" if isinstance(part, int) else part


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # int | float | bool | str | choice | int_list | branch
    default: Any
    help: str
    min: Optional[float] = None
    max: Optional[float] = None
    choices: tuple = ()
    autotune: bool = False  # accepts "AUTOTUNE" as tf.data does
    optional: bool = False  # None is allowed

    def check(self, value: Any, path: str) -> Any:
        """Return the value normalised to this parameter's type, or raise SpecError."""
        if value is None and self.optional:
            return None
        if self.autotune and (value == AUTOTUNE or value == -1):
            return AUTOTUNE
        if self.type == "branch":
            raise TypeError(f"{path}: a branch is a pipeline of its own; the catalog's Kind checks it")
        checker = _CHECKERS[self.type]
        return checker(self, value, path)

    def describe_range(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"≥ {_fmt(self.min)}")
        if self.max is not None:
            parts.append(f"≤ {_fmt(self.max)}")
        text = " and ".join(parts)
        if self.autotune:
            text = f"{text} or AUTOTUNE" if text else "AUTOTUNE"
        return text


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _range_error(param: Param, value: Any, path: str) -> SpecError:
    return SpecError(f"{path}: must be {param.describe_range()}, got {value!r}")


def _check_bounds(param: Param, value: float, path: str) -> None:
    if (param.min is not None and value < param.min) or (param.max is not None and value > param.max):
        raise _range_error(param, value, path)


def _check_int(param: Param, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            expected = "an integer" + (" or AUTOTUNE" if param.autotune else "")
            raise SpecError(f"{path}: must be {expected}, got {value!r}")
    _check_bounds(param, value, path)
    return value


def _check_float(param: Param, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{path}: must be a number, got {value!r}")
    _check_bounds(param, float(value), path)
    return float(value)


def _check_bool(param: Param, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{path}: must be true or false, got {value!r}")
    return value


def _check_str(param: Param, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{path}: must be a string, got {value!r}")
    return value


def _check_choice(param: Param, value: Any, path: str) -> str:
    if value not in param.choices:
        options = ", ".join(param.choices)
        raise SpecError(f"{path}: must be one of {options}, got {value!r}")
    return value


def _check_int_list(param: Param, value: Any, path: str) -> list:
    if not isinstance(value, list) or not value:
        raise SpecError(f"{path}: must be a non-empty list of integers, got {value!r}")
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise SpecError(f"{path}[{index}]: must be an integer ≥ 1, got {item!r}")
    return list(value)


_CHECKERS: dict[str, Callable[[Param, Any, str], Any]] = {
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "str": _check_str,
    "choice": _check_choice,
    "int_list": _check_int_list,
}
