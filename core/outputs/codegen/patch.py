"""A watched job's tuned values handed back as a unified diff of the user's own script.

A watched job's pipeline cannot be written out again (its functions are the user's), but each stage
knows the line that made it (`origin`: file, line, the line's text). For every value a live change set
(`stages.<id>.<param>=VALUE`), the call on that line (`.map(…)`, `.prefetch(…)`) gets the value: its
argument replaced where the script gives one (by keyword or position), added where it does not. What
cannot be placed (no line recorded, the script changed since, a call that is not there) is said, not
guessed.
"""
from __future__ import annotations

import ast
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from core.outputs.run_folder import read_facts
from core.spec.params import AUTOTUNE, SpecError

# Where each tuned parameter sits among a tf.data method's positional arguments (TF 2.x signatures).
POSITIONS = {
    "map": {"num_parallel_calls": 1},
    "batch": {"num_parallel_calls": 2},
    "interleave": {"cycle_length": 1, "block_length": 2, "num_parallel_calls": 3},
    "prefetch": {"buffer_size": 0},
    "shuffle": {"buffer_size": 0},
}
_CHANGED_VALUE = re.compile(r"stages\.([^.=\s]+)\.(\w+)=")


@dataclass(frozen=True)
class Edit:
    stage_id: str
    param: str
    value: object


@dataclass
class Patch:
    diff: str = ""  # unified diff, empty when nothing could be placed
    placed: list[str] = field(default_factory=list)  # `custom_loop.py:27 num_parallel_calls=8`
    unplaced: list[str] = field(default_factory=list)  # each with why
    script: str = ""  # the watched script, when the patch is a watched run's


def patch_of_watched_run(folder: Path, relative_to: Optional[Path] = None) -> Patch:
    """The patch for the changes made while a watched job trained (an empty one when none was); SpecError,
    naming the folder, when `watch` did not write it."""
    facts = read_facts(Path(folder))
    extra = facts.get("extra") or {}
    if extra.get("source") != "watch" or not extra.get("pipeline"):
        raise SpecError(f"{folder} is not a folder `watch` wrote (its run.json has no watched pipeline)")
    changes = [change["description"] for change in facts.get("changes", []) if change.get("description")]
    patch = make_patch(extra["pipeline"], changes, relative_to) if changes else Patch()
    patch.script = extra.get("script", "")
    return patch


def tuned_edits(pipeline: dict, changes: list[str]) -> list[Edit]:
    """The values the live changes set, as the pipeline has them at the end (a value changed twice: its last)."""
    stages = {stage["id"]: stage for stage in pipeline.get("stages", [])}
    wanted = dict.fromkeys(match.groups() for change in changes for match in _CHANGED_VALUE.finditer(change))
    return [Edit(stage_id, param, stages[stage_id].get(param)) for stage_id, param in wanted if stage_id in stages]


def make_patch(pipeline: dict, changes: list[str], relative_to: Optional[Path] = None) -> Patch:
    """The diff that gives the script the tuned values; file names relative to `relative_to` where they can be."""
    patch, by_file = Patch(), {}
    stages = {stage["id"]: stage for stage in pipeline.get("stages", [])}
    for edit in tuned_edits(pipeline, changes):
        stage = stages[edit.stage_id]
        origin = stage.get("origin") or {}
        why_not = _why_not_placeable(stage, origin, edit)
        if why_not:
            patch.unplaced.append(f"stages.{edit.stage_id}.{edit.param}={_shown(edit.value)}: {why_not}")
            continue
        by_file.setdefault(origin["file"], []).append((edit, stage))
    for file, edits in by_file.items():
        _patch_file(Path(file), edits, patch, relative_to)
    return patch


def _why_not_placeable(stage: dict, origin: dict, edit: Edit) -> Optional[str]:
    if not origin.get("file") or not origin.get("line"):
        return "no line of the script was recorded for this stage"
    if edit.param not in POSITIONS.get(stage["kind"], {}):
        return f"Pipescope does not know where {edit.param} goes in a {stage['kind']} call"
    if not os.path.isfile(origin["file"]):
        return f"{origin['file']} is not there any more"
    return None


def _patch_file(path: Path, edits: list, patch: Patch, relative_to: Optional[Path]) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        patch.unplaced += [f"stages.{edit.stage_id}.{edit.param}: {path.name} no longer parses ({error.msg})"
                           for edit, _ in edits]
        return
    replacements = []
    for edit, stage in edits:
        origin = stage["origin"]
        where = f"{path.name}:{origin['line']}"
        if lines[origin["line"] - 1].strip() != origin.get("call", lines[origin["line"] - 1].strip()):
            patch.unplaced.append(f"stages.{edit.stage_id}.{edit.param}: {where} is not the line it was when the "
                                  "job ran (the script has changed since)")
            continue
        call = _the_call(tree, stage["kind"], origin["line"])
        if call is None:
            patch.unplaced.append(f"stages.{edit.stage_id}.{edit.param}: no single .{stage['kind']}(…) call on "
                                  f"{where}")
            continue
        replacements.append(_replacement(call, edit, _autotune_name(tree)))
        patch.placed.append(f"{where} {edit.param}={_shown(edit.value)}")
    if replacements:
        patched = _apply(lines, replacements)
        name = _display_name(path, relative_to)
        patch.diff += "".join(difflib.unified_diff(lines, patched, f"a/{name}", f"b/{name}"))


def _the_call(tree: ast.AST, method: str, line: int) -> Optional[ast.Call]:
    """The one `.method(…)` call whose lines hold `line` (the innermost where they nest)."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr == method and node.lineno <= line <= node.end_lineno]
    starting_there = [node for node in calls if node.func.end_lineno == line] or calls
    return starting_there[0] if len(starting_there) == 1 else None


def _autotune_name(tree: ast.AST) -> str:
    """`tf.data.AUTOTUNE`, with the name the script gave TensorFlow."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "tensorflow":
                    return f"{alias.asname or 'tensorflow'}.data.AUTOTUNE"
    return "tf.data.AUTOTUNE"


@dataclass(frozen=True)
class Replacement:
    """Text from (first_line, start) to (last_line, end) replaced: 0-based lines, UTF-8 byte offsets as ast
    gives them; an insertion where the two are the same."""

    first_line: int
    start: int
    last_line: int
    end: int
    text: str


def _replacement(call: ast.Call, edit: Edit, autotune: str) -> Replacement:
    value = autotune if edit.value == AUTOTUNE else repr(edit.value)
    keyword = next((keyword for keyword in call.keywords if keyword.arg == edit.param), None)
    position = POSITIONS[call.func.attr][edit.param]
    node = keyword.value if keyword is not None else call.args[position] if position < len(call.args) else None
    if node is not None:
        return Replacement(node.lineno - 1, node.col_offset, node.end_lineno - 1, node.end_col_offset, value)
    last = max([*call.args, *(keyword.value for keyword in call.keywords)],
               key=lambda node: (node.end_lineno, node.end_col_offset), default=None)
    if last is None:  # `.prefetch()`: inside its parentheses
        line, at, text = call.end_lineno - 1, call.end_col_offset - 1, f"{edit.param}={value}"
    else:
        line, at, text = last.end_lineno - 1, last.end_col_offset, f", {edit.param}={value}"
    return Replacement(line, at, line, at, text)


def _apply(lines: list[str], replacements: list[Replacement]) -> list[str]:
    """The lines with each replacement made, the last first, so that the offsets of those before stay right."""
    encoded = [line.encode("utf-8") for line in lines]
    for made in sorted(replacements, key=lambda made: (made.first_line, made.start), reverse=True):
        joined = encoded[made.first_line][:made.start] + made.text.encode("utf-8") + encoded[made.last_line][made.end:]
        encoded[made.first_line:made.last_line + 1] = [joined]
    return [line.decode("utf-8") for line in encoded]


def _display_name(path: Path, relative_to: Optional[Path]) -> str:
    if relative_to is not None:
        try:
            return path.resolve().relative_to(relative_to.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def _shown(value) -> str:
    return "AUTOTUNE" if value == AUTOTUNE else repr(value)
