"""Differences between two pipeline descriptions, named by the paths a user types.

`describe_differences(a, b)` lists them as `Difference` records, for `compare` (run B against run A);
`describe_change(before, after)` is the one-line label of a live what-if change, made from the same
list. Kinds of difference (`Difference.change`), with their text:

    set       a kind or parameter differs        stages.io.num_parallel_calls: 1 → 3
    added     a stage only b has                 stages: + cache (after normalize)
    removed   a stage only a has                 stages: − prefetch
    moved     a stage both have, elsewhere       stages: cpu moved (after io → first)

Paths are those of `--set` (`stages.<id>.<param>`, `feeder.kind`), so a `set` difference reads as
the override that makes it. A side branch (zip, concatenate) is compared as a description of its own,
under its stage's path: `stages.z.branch.source.count: 10 → 20`. The pipeline's name and its one-line
description are labels, not settings, and are left out.

Descriptions are taken as dicts (a pipeline file's shape) or as anything with `to_dict()`, such as a
PipelineSpec, so run records read back from disk compare as well as live ones.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Optional

SET, ADDED, REMOVED, MOVED = "set", "added", "removed", "moved"
COMPONENTS_BEFORE_STAGES = ("source",)
COMPONENTS_AFTER_STAGES = ("feeder", "model", "run")
ABSENT_TEXT = "—"  # a parameter one side's kind does not have


@dataclass(frozen=True)
class Difference:
    path: str
    a: Any  # the value (for added, removed and moved stages: the stage, or its place) in a, None if absent
    b: Any
    change: str  # SET, ADDED, REMOVED or MOVED
    text: str

    def to_dict(self) -> dict:
        return asdict(self)

    def assignment(self) -> str:
        """`PATH=VALUE` (b's value as JSON) for a set difference, as `--set` takes it; else the text."""
        return f"{self.path}={json.dumps(self.b)}" if self.change == SET else self.text


def describe_differences(a, b) -> list[Difference]:
    """What changes from description `a` to description `b`: components and stages in the pipeline's order."""
    return _differences(_as_dict(a), _as_dict(b), prefix="")


def describe_change(before, after) -> Optional[str]:
    """A short label for a live change: `stages.io.ms=2.0, feeder.kind="tf_data"`; None when nothing differs."""
    differences = describe_differences(before, after)
    return ", ".join(difference.assignment() for difference in differences) if differences else None


def _as_dict(description) -> dict:
    return description if isinstance(description, dict) else description.to_dict()


def _differences(a: dict, b: dict, prefix: str) -> list[Difference]:
    """A description or a side branch: its components, with its stages after the source."""
    result = []
    for name in COMPONENTS_BEFORE_STAGES:
        result += _component_differences(a.get(name), b.get(name), f"{prefix}{name}")
    result += _stage_differences(a.get("stages") or [], b.get("stages") or [], f"{prefix}stages")
    for name in COMPONENTS_AFTER_STAGES:
        result += _component_differences(a.get(name), b.get(name), f"{prefix}{name}")
    return result


def _component_differences(a: Optional[dict], b: Optional[dict], path: str) -> list[Difference]:
    """Parameter by parameter, `kind` first: a new kind's parameters follow the kind that brought them."""
    a, b = a or {}, b or {}
    names = sorted(set(a) | set(b), key=lambda name: (name != "kind", name))
    result = []
    for name in names:
        old, new = a.get(name, _ABSENT), b.get(name, _ABSENT)
        if old == new:
            continue
        if _is_branch(old) and _is_branch(new):
            result += _differences(old, new, prefix=f"{path}.{name}.")
        else:
            result.append(_set(f"{path}.{name}", old, new))
    return result


def _set(path: str, old: Any, new: Any) -> Difference:
    text = f"{path}: {_shown(old)} → {_shown(new)}"
    return Difference(path, _stored(old), _stored(new), SET, text)


def _stage_differences(a: list[dict], b: list[dict], path: str) -> list[Difference]:
    a_ids, b_ids = [stage["id"] for stage in a], [stage["id"] for stage in b]
    a_stages, b_stages = dict(zip(a_ids, a)), dict(zip(b_ids, b))
    result = [Difference(f"{path}.{stage_id}", _without_id(a_stages[stage_id]), None, REMOVED,
                         f"{path}: − {stage_id}")
              for stage_id in a_ids if stage_id not in b_stages]
    for index, stage_id in enumerate(b_ids):
        if stage_id not in a_stages:
            stage = b_stages[stage_id]
            result.append(Difference(f"{path}.{stage_id}", None, _without_id(stage), ADDED,
                                     f"{path}: + {stage_id} ({_kind_and_place(stage, b_ids, index)})"))
    result += _moves(a_ids, b_ids, path)
    for stage_id in b_ids:
        if stage_id in a_stages:
            result += _component_differences(_without_id(a_stages[stage_id]), _without_id(b_stages[stage_id]),
                                             f"{path}.{stage_id}")
    return result


def _moves(a_ids: list[str], b_ids: list[str], path: str) -> list[Difference]:
    """The stages both have that left the longest run of stages kept in order: the fewest moves that explain b."""
    common = set(a_ids) & set(b_ids)
    a_order, b_order = [i for i in a_ids if i in common], [i for i in b_ids if i in common]
    kept = set(_longest_common_subsequence(a_order, b_order))
    result = []
    for stage_id in b_order:
        if stage_id not in kept:
            before, after = _place(a_ids, a_ids.index(stage_id)), _place(b_ids, b_ids.index(stage_id))
            result.append(Difference(f"{path}.{stage_id}", before, after, MOVED,
                                     f"{path}: {stage_id} moved ({before} → {after})"))
    return result


def _longest_common_subsequence(a: list[str], b: list[str]) -> list[str]:
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            lengths[i][j] = lengths[i + 1][j + 1] + 1 if a[i] == b[j] else max(lengths[i + 1][j], lengths[i][j + 1])
    kept, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.append(a[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _place(ids: list[str], index: int) -> str:
    return "first" if index == 0 else f"after {ids[index - 1]}"


def _kind_and_place(stage: dict, ids: list[str], index: int) -> str:
    """`after io`, with the stage's kind first when its id does not already say it: `cache, after io`."""
    place = _place(ids, index)
    return place if stage["id"] == stage.get("kind") else f"{stage.get('kind')}, {place}"


def _without_id(stage: dict) -> dict:
    return {name: value for name, value in stage.items() if name != "id"}


def _is_branch(value: Any) -> bool:
    return isinstance(value, dict) and "source" in value


class _Absent:
    """A parameter only the other side has (its kind has it, this side's kind does not)."""


_ABSENT = _Absent()


def _stored(value: Any) -> Any:
    return None if value is _ABSENT else value


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return ABSENT_TEXT
    return value if isinstance(value, str) else json.dumps(value)
