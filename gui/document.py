"""The edited pipeline: its plain dict form, the undo stack, the file it came from.

Every edit is a `SnapshotCommand` on the QUndoStack (the dict is small, so a
command keeps the whole before and after); views listen to `changed` and read
the dict back. The dict may hold invalid values: `problems()` says which block
is wrong and why, and `spec()` turns a valid dict into a PipelineSpec.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

from PyQt5 import QtCore, QtWidgets

from core.spec.params import SpecError
from core.spec.pipeline import RUN_SETTINGS, PipelineSpec, check_stage, spec_from_dict
from core.spec.kinds import FEEDERS, MODELS, SOURCES, STAGES
from gui.problems import PIPELINE, Problem, problem_from_error

SOURCE, FEEDER, MODEL = "source", "feeder", "model"
COMPONENT_REGISTRIES = {SOURCE: SOURCES, FEEDER: FEEDERS, MODEL: MODELS}


def stage_key(stage_id: str) -> str:
    return f"stages.{stage_id}"


def stage_id_of(key: str) -> Optional[str]:
    return key[len("stages."):] if key.startswith("stages.") else None


class SnapshotCommand(QtWidgets.QUndoCommand):
    """One edit: the document's dict before and after. Edits of one field in a row merge."""

    def __init__(self, document: "PipelineDocument", text: str, after: dict, merge_key: Optional[str] = None):
        super().__init__(text)
        self._document = document
        self._before = document.data()
        self._after = after
        self._merge_key = merge_key

    def id(self) -> int:
        return 1 if self._merge_key else -1

    def mergeWith(self, other) -> bool:
        if not isinstance(other, SnapshotCommand) or other._merge_key != self._merge_key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._document._replace(self._after)

    def undo(self) -> None:
        self._document._replace(self._before)


class PipelineDocument(QtCore.QObject):
    changed = QtCore.pyqtSignal()
    path_changed = QtCore.pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.undo_stack = QtWidgets.QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda _clean: self.path_changed.emit())
        self.path: Optional[str] = None
        self._data: dict = {}
        self._problems: dict[str, Problem] = {}

    # ------------------------------------------------------------ reading

    def data(self) -> dict:
        return copy.deepcopy(self._data)

    def block(self, key: str) -> dict:
        """The dict of one block; PIPELINE gives the run settings."""
        return _block_in(self._data, key)

    def stage_ids(self) -> list[str]:
        return [stage["id"] for stage in self._data["stages"]]

    def kind_of(self, key: str):
        if key == PIPELINE:
            return RUN_SETTINGS
        registry = STAGES if stage_id_of(key) is not None else COMPONENT_REGISTRIES[key]
        return registry.get(self.block(key)["kind"], "kind")

    def problems(self) -> dict[str, str]:
        """Block key → the first problem in it, in words (empty when the pipeline can run)."""
        return {key: problem.text for key, problem in self._problems.items()}

    def problem_in(self, key: str) -> Optional[Problem]:
        return self._problems.get(key)

    def first_problem(self) -> Optional[str]:
        return next((problem.text for problem in self._problems.values()), None)

    def spec(self) -> PipelineSpec:
        return spec_from_dict(self.data())

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        return self._data.get("name", "untitled")

    # ------------------------------------------------------------ whole documents

    def load(self, spec: PipelineSpec, path: Optional[str] = None) -> None:
        self.undo_stack.clear()
        self.path = path
        self._replace(spec.to_dict())
        self.undo_stack.setClean()
        self.path_changed.emit()

    def mark_saved(self, path: str) -> None:
        self.path = path
        self.undo_stack.setClean()
        self.path_changed.emit()

    # ------------------------------------------------------------ edits (each one undoable)

    def set_value(self, key: str, param: str, value: Any) -> None:
        data = self.data()
        _block_in(data, key)[param] = value
        self._push(f"Set {param}", data, merge_key=f"{key}/{param}")

    def set_kind(self, key: str, kind: str) -> None:
        registry = COMPONENT_REGISTRIES[key]
        data = self.data()
        data[key] = {"kind": kind, **copy.deepcopy(registry.get(kind, key).defaults())}
        self._push(f"Change {key} to {kind}", data)

    def set_path(self, path: str, value: Any) -> None:
        """One value by its `--set` path, as one undoable edit (`stages.io.ms` → block `stages.io`);
        `feeder.kind=tf_data` changes a kind, its parameters starting from the new kind's defaults."""
        key, _, param = path.rpartition(".")
        if param == "kind" and key in COMPONENT_REGISTRIES:
            self.set_kind(key, value)
        else:
            self.set_value(key, param, value)

    def set_name(self, name: str) -> None:
        data = self.data()
        data["name"] = name
        self._push("Rename pipeline", data, merge_key="name")

    def insert_stage(self, index: int, kind: str) -> str:
        data = self.data()
        stage_id = _unique_id(kind, {stage["id"] for stage in data["stages"]})
        stage = {"id": stage_id, "kind": kind, **copy.deepcopy(STAGES.get(kind, "kind").defaults())}
        index = max(0, min(index, len(data["stages"])))
        data["stages"].insert(index, stage)
        self._push(f"Add {kind}", data)
        return stage_id

    def remove_stage(self, stage_id: str) -> None:
        data = self.data()
        data["stages"] = [stage for stage in data["stages"] if stage["id"] != stage_id]
        self._push(f"Delete {stage_id}", data)

    def move_stage(self, stage_id: str, index: int) -> None:
        data = self.data()
        stages = data["stages"]
        old = next(i for i, stage in enumerate(stages) if stage["id"] == stage_id)
        index = max(0, min(index, len(stages) - 1))
        if index == old:
            return
        stages.insert(index, stages.pop(old))
        self._push(f"Move {stage_id}", data)

    def rename_stage(self, stage_id: str, new_id: str) -> None:
        if new_id == stage_id:
            return
        data = self.data()
        _block_in(data, stage_key(stage_id))["id"] = new_id
        self._push(f"Rename {stage_id}", data)

    def _push(self, text: str, after: dict, merge_key: Optional[str] = None) -> None:
        self.undo_stack.push(SnapshotCommand(self, text, after, merge_key))

    def _replace(self, data: dict) -> None:
        self._data = copy.deepcopy(data)
        self._problems = find_problems(self._data)
        self.changed.emit()


def _block_in(data: dict, key: str) -> dict:
    stage_id = stage_id_of(key)
    if stage_id is not None:
        return next(stage for stage in data["stages"] if stage["id"] == stage_id)
    return data["run"] if key == PIPELINE else data[key]


def _unique_id(kind: str, taken: set[str]) -> str:
    if kind not in taken:
        return kind
    number = 2
    while f"{kind}_{number}" in taken:
        number += 1
    return f"{kind}_{number}"


def find_problems(data: dict) -> dict[str, Problem]:
    """Every block's first problem, then (when each block is fine) the pipeline's as a whole."""
    found = []
    for key, registry in COMPONENT_REGISTRIES.items():
        found.append(_check_block(key, data[key], registry))
    for index, stage in enumerate(data["stages"]):
        found.append(_first_error(lambda: check_stage(stage, f"stages[{index}]")))
    found.append(_first_error(lambda: RUN_SETTINGS.check_params(data["run"], "run")))
    problems = {}
    for error in filter(None, found):
        problem = problem_from_error(error, data)
        problems.setdefault(problem.key, problem)
    if not problems:
        error = _first_error(lambda: spec_from_dict(data))
        if error is not None:
            problem = problem_from_error(error, data)
            problems[problem.key] = problem
    return problems


def key_for_error(error: Exception, document: "PipelineDocument") -> str:
    """The block an error's path (`stages[2].ms: …`, `source.path: …`) points at."""
    return problem_from_error(error, document.data()).key


def _first_error(check) -> Optional[SpecError]:
    try:
        check()
    except SpecError as error:
        return error
    return None


def _check_block(path: str, block: dict, registry) -> Optional[SpecError]:
    values = {name: value for name, value in block.items() if name not in ("kind", "id")}
    return _first_error(lambda: registry.get(block.get("kind"), f"{path}.kind").check_params(values, path))
