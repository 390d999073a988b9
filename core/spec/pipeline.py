"""The pipeline description: plain dataclasses, JSON load/save, validation, overrides.

A description is checked against the kind registries (sources, stages, feeders,
models) so every error names the path that failed, e.g.
`stages[2].num_parallel_calls: must be ≥ 1 or AUTOTUNE, got 0`.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from core.spec.catalog import Batching, Kind
from core.spec.kinds import FEEDERS, FROM_SCRIPT, MODELS, SOURCES, STAGES
from core.spec.params import Param, SpecError

SPEC_VERSION = 1
_STAGE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

RUN_SETTINGS = Kind(
    "run",
    "How long to run and how many first steps to leave out of summaries.",
    (
        Param("steps", "int", 1000, "Training steps to run (ignored when seconds is set).", min=1, max=10_000_000),
        Param("seconds", "float", None, "Run for this many seconds instead of a step count.", min=0.1, optional=True),
        Param("warmup_steps", "int", 10, "First steps (tracing, allocation) kept but left out of summaries.", min=0),
        Param("seed", "int", 0, "Seed for synthetic data, shuffles and model initialisation.", min=0),
        Param("stall_seconds", "float", 5.0, "A request for a batch unanswered this long is reported as a "
              "stall, naming the stage the work is stuck in.", min=0.1, max=86_400.0),
        Param("capture_steps", "int", 10, "Steps after the 20th captured with tf.profiler to measure the "
              "device's own busy time (0: none).", min=0, max=10_000),
        Param("profile_steps", "int", 100, "Steps after the warm-up kept in a tf.profiler capture with step "
              "markers when one is asked for (run --profile-dir); it also measures the device's busy time.",
              min=1, max=1_000_000),
    ),
)


@dataclass
class Component:
    """A source, feeder or model: a kind and its checked parameters."""

    kind: str
    params: dict = field(default_factory=dict)


ORIGIN_KEYS = ("file", "line", "call", "function")


def where_made(origin: dict) -> str:
    """`custom_loop.py:27 · dataset = dataset.map(slow_read)`: where a watched script made a stage."""
    place = f"{Path(origin.get('file') or '?').name}:{origin.get('line', '?')}"
    return f"{place} · {origin['call']}" if origin.get("call") else place


@dataclass
class Stage:
    id: str
    kind: str
    params: dict = field(default_factory=dict)
    # Where a watched script made it: {file, line, call, function} (the user's function, by name, in the
    # kind's function parameter). None for a stage built in Pipescope.
    origin: Optional[dict] = None


@dataclass
class Branch:
    """A second input (for zip/concatenate): a source with its own stages."""

    source: Component
    stages: list[Stage]


@dataclass
class PipelineSpec:
    name: str
    source: Component
    stages: list[Stage]
    feeder: Component
    model: Component
    run: dict
    version: int = SPEC_VERSION
    description: str = ""  # one line for people (the app's preset menu); saved only when set

    def target(self) -> tuple[Optional[int], Optional[float]]:
        """(steps, seconds) to run for: one is set (seconds, when given, wins), or neither for a watched
        script's pipeline, which ends when the script does."""
        seconds = self.run["seconds"]
        if seconds or self.feeder.kind == FROM_SCRIPT:
            return None, seconds
        return self.run["steps"], None

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def to_dict(self) -> dict:
        data = {
            "version": self.version,
            "name": self.name,
            "source": _component_to_dict(self.source),
            "stages": [_stage_to_dict(stage) for stage in self.stages],
            "feeder": _component_to_dict(self.feeder),
            "model": _component_to_dict(self.model),
            "run": dict(self.run),
        }
        if self.description:
            data["description"] = self.description
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def copy(self) -> "PipelineSpec":
        return copy.deepcopy(self)


def _component_to_dict(component: Component) -> dict:
    return {"kind": component.kind, **{k: _param_to_json(v) for k, v in component.params.items()}}


def _stage_to_dict(stage: Stage) -> dict:
    data = {"id": stage.id, "kind": stage.kind, **{k: _param_to_json(v) for k, v in stage.params.items()}}
    return data | ({"origin": dict(stage.origin)} if stage.origin else {})


def _param_to_json(value: Any) -> Any:
    return branch_to_dict(value) if isinstance(value, Branch) else value


def branch_to_dict(branch: Branch) -> dict:
    """As `branch_from_dict` reads it."""
    return {"source": _component_to_dict(branch.source), "stages": [_stage_to_dict(s) for s in branch.stages]}


def yields_batches(spec: PipelineSpec) -> bool:
    """Whether elements reaching the model are batches (their first axis counts examples)."""
    batched = False
    for stage in spec.stages:
        batching = STAGES.get(stage.kind, "kind").batching_for(stage.params)
        if batching is not Batching.KEEPS:
            batched = batching is Batching.MAKES
    return batched


def last_buffer_index(spec: PipelineSpec) -> Optional[int]:
    """Index of the last stage with a buffer ahead of the consumer: the buffer the model reads from. None
    without one, and where a later stage moves it out of the process (onto tf.data service workers)."""
    for index in range(len(spec.stages) - 1, -1, -1):
        kind = STAGES.get(spec.stages[index].kind, "kind")
        if kind.buffer_param:
            return index
        if kind.moves_stages_before:
            return None
    return None


def buffer_setting(spec: PipelineSpec) -> Optional[tuple[str, Any]]:
    """(`--set` path, size) of the buffer the model reads from: the feeder's own (the queue runner's
    capacity) or the last buffering stage's; None without one."""
    feeder_param = FEEDERS.get(spec.feeder.kind, "feeder.kind").buffer_param
    if feeder_param:
        return f"feeder.{feeder_param}", spec.feeder.params[feeder_param]
    index = last_buffer_index(spec)
    if index is None:
        return None
    stage = spec.stages[index]
    param = STAGES.get(stage.kind, "kind").buffer_param
    return f"stages.{stage.id}.{param}", stage.params[param]


# ---------------------------------------------------------------- loading


def _expect_object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise SpecError(f"{path}: must be an object, got {type(value).__name__}")
    return value


def _component_from_dict(value: Any, path: str, registry) -> Component:
    data = dict(_expect_object(value, path))
    if "kind" not in data:
        raise SpecError(f"{path}.kind: missing (one of {', '.join(registry.names())})")
    kind = registry.get(data.pop("kind"), f"{path}.kind")
    return Component(kind.name, kind.check_params(data, path))


def _stages_from_list(value: Any, path: str) -> list[Stage]:
    if not isinstance(value, list):
        raise SpecError(f"{path}: must be a list, got {type(value).__name__}")
    stages, seen = [], set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        data = dict(_expect_object(item, item_path))
        stage_id = data.pop("id", None)
        if not is_stage_id(stage_id):
            raise SpecError(f"{item_path}.id: must be a name of letters, digits, _ or -, got {stage_id!r}")
        if stage_id in RESERVED_STAGE_IDS:
            raise SpecError(f"{item_path}.id: {stage_id!r} is reserved: {RESERVED_STAGE_IDS[stage_id]}")
        if stage_id in seen:
            raise SpecError(f"{item_path}.id: duplicate stage id {stage_id!r}", stage_id)
        seen.add(stage_id)
        try:
            stages.append(_stage_from_dict(stage_id, data, item_path))
        except SpecError as error:  # a stage inside a branch is named by the stage that holds it
            raise error.about_stage(stage_id) from None
    _check_stage_order(stages, path)
    return stages


def check_stage(data: dict, path: str) -> None:
    """A SpecError for the first problem in one stage's dict form at `path`, as loading the pipeline finds it
    (its id is the list's to check)."""
    _stage_from_dict(data.get("id"), {name: value for name, value in data.items() if name != "id"}, path)


def _stage_from_dict(stage_id: str, data: dict, path: str) -> Stage:
    if "kind" not in data:
        raise SpecError(f"{path}.kind: missing (one of {', '.join(STAGES.names())})")
    kind = STAGES.get(data.pop("kind"), f"{path}.kind")
    origin = _origin_from(data.pop("origin", None), f"{path}.origin")
    function = origin.get("function") if origin else None
    if function and kind.function_param:  # the script's own function, which no choice lists
        data.pop(kind.function_param, None)
    params = kind.check_params(data, path, parse_branch=branch_from_dict)
    if function and kind.function_param:
        params[kind.function_param] = function
    return Stage(stage_id, kind.name, params, origin)


def _origin_from(value: Any, path: str) -> Optional[dict]:
    if value is None:
        return None
    origin = _expect_object(value, path)
    unknown = set(origin) - set(ORIGIN_KEYS)
    if unknown:
        raise SpecError(f"{path}.{sorted(unknown)[0]}: unknown key (an origin has {', '.join(ORIGIN_KEYS)})")
    return dict(origin)


def _check_stage_order(stages: list[Stage], path: str) -> None:
    for index, stage in enumerate(stages):
        check = STAGES.get(stage.kind, "").check_position
        if check:
            problem = check(index, len(stages))
            if problem:
                raise SpecError(f"{path}[{index}]: {problem}", stage.id)


def _check_stage_feeder(stages: list[Stage], feeder_kind: str, path: str) -> None:
    """Stages that only work with some feeders (prefetch_to_device: tf_data) say so at their index."""
    for index, stage in enumerate(stages):
        check = STAGES.get(stage.kind, "").check_feeder
        problem = check(feeder_kind) if check else None
        if problem:
            raise SpecError(f"{path}[{index}]: {problem}", stage.id)


def branch_from_dict(value: Any, path: str) -> Branch:
    data = _expect_object(value, path)
    unknown = set(data) - {"source", "stages"}
    if unknown:
        raise SpecError(f"{path}.{sorted(unknown)[0]}: unknown key (a branch has source and stages)")
    if "source" not in data:
        raise SpecError(f"{path}.source: missing")
    source = _component_from_dict(data["source"], f"{path}.source", SOURCES)
    return Branch(source, _stages_from_list(data.get("stages", []), f"{path}.stages"))


_TOP_LEVEL = ("version", "name", "description", "source", "stages", "feeder", "model", "run")


def spec_from_dict(data: Any, where: str = "pipeline") -> PipelineSpec:
    """Validate a parsed pipeline file; raises SpecError naming the failing path."""
    data = _expect_object(data, where)
    for key in data:
        if key not in _TOP_LEVEL:
            raise SpecError(f"{key}: unknown key (known: {', '.join(_TOP_LEVEL)})")
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION or isinstance(version, bool):
        raise SpecError(f"version: this Pipescope reads version {SPEC_VERSION}, got {version!r}")
    name, description = data.get("name", "untitled"), data.get("description", "")
    for key, text in (("name", name), ("description", description)):
        if not isinstance(text, str):
            raise SpecError(f"{key}: must be a string, got {text!r}")
    for required in ("source", "feeder", "model"):
        if required not in data:
            raise SpecError(f"{required}: missing")
    source = _component_from_dict(data["source"], "source", SOURCES)
    stages = _stages_from_list(data.get("stages", []), "stages")
    feeder = _component_from_dict(data["feeder"], "feeder", FEEDERS)
    _check_stage_feeder(stages, feeder.kind, "stages")
    return PipelineSpec(
        name=name,
        source=source,
        stages=stages,
        feeder=feeder,
        model=_component_from_dict(data["model"], "model", MODELS),
        run=RUN_SETTINGS.check_params(_expect_object(data.get("run", {}), "run"), "run"),
        version=version,
        description=description,
    )


def load_spec(path: str | Path) -> PipelineSpec:
    return spec_from_dict(read_json_file(Path(path), "pipeline file"))


def read_json_file(path: Path, what: str) -> Any:
    """A JSON file's data, or a SpecError naming the file and what is wrong with it (`what`: its kind)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"{path}: cannot read {what} ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not a {what} (binary, not UTF-8 text: byte {error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None


def save_spec(spec: PipelineSpec, path: str | Path) -> None:
    Path(path).write_text(spec.to_json())


# ---------------------------------------------------------------- overrides


# Ids the figures of a run use for what is not a stage: a stage with one would share its figures.
RESERVED_STAGE_IDS = {
    "source": "a stall stuck before the first stage names the source so",
    "feeder": "the queue_runner's queue is sampled under it",
}


def is_stage_id(text: Any) -> bool:
    return isinstance(text, str) and bool(_STAGE_ID.match(text))


def parse_value(raw: str) -> Any:
    """A value typed as text: JSON if it parses, else the string itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_assignment(text: str) -> tuple[str, Any]:
    """`PATH=VALUE` → (path, value); VALUE is JSON if it parses, else a string."""
    if "=" not in text:
        raise SpecError(f"--set {text}: expected PATH=VALUE")
    path, raw = text.split("=", 1)
    return path.strip(), parse_value(raw)


def length_overrides(steps: Optional[int] = None, seconds: Optional[float] = None) -> list[tuple[str, Any]]:
    """A run's length as overrides: steps switch a timed run back to counting steps."""
    if steps is not None:
        return [("run.steps", steps), ("run.seconds", None)]
    if seconds is not None:
        return [("run.seconds", seconds)]
    return []


def apply_overrides(spec: PipelineSpec, assignments: list[tuple[str, Any]]) -> PipelineSpec:
    """Return a new, re-validated spec with `feeder.x`, `stages.<id>.x`, ... set.

    Errors name stages by id (`stages.io.ms`), as the assignments do, not by index.
    """
    data = spec.to_dict()
    for path, value in assignments:
        _assign(data, path, value)
    try:
        return spec_from_dict(data)
    except SpecError as error:
        raise _named_by_stage_id(error, [stage.id for stage in spec.stages]) from None


_STAGE_INDEX_PATH = re.compile(r"^stages\[(\d+)\]")


def _named_by_stage_id(error: SpecError, stage_ids: list[str]) -> SpecError:
    """`stages[1].ms: …` → `stages.io.ms: …`; ids from before the overrides, which may rename one."""
    match = _STAGE_INDEX_PATH.match(error.path)
    if not match or int(match.group(1)) >= len(stage_ids):
        return error
    stage_id = stage_ids[int(match.group(1))]
    return error.at_path(f"stages.{stage_id}{error.path[match.end():]}", stage_id)


def _assign(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    head = parts[0]
    if head in ("feeder", "model", "source", "run") and len(parts) == 2:
        target = data[head]
        if parts[1] == "kind" and head != "run":
            target.clear()  # a new kind starts from its own defaults
        target[parts[1]] = value
        return
    if head == "stages" and len(parts) == 3:
        for stage in data["stages"]:
            if stage["id"] == parts[1]:
                if parts[2] == "kind":  # a new kind starts from its own defaults
                    for name in [key for key in stage if key != "id"]:
                        del stage[name]
                stage[parts[2]] = value
                return
        ids = ", ".join(stage["id"] for stage in data["stages"])
        raise SpecError(f"{path}: no stage with id {parts[1]!r} (stages: {ids})")
    if head == "name" and len(parts) == 1:
        data["name"] = value
        return
    raise SpecError(
        f"{path}: not a settable path (use feeder.<param>, model.<param>, source.<param>, "
        "run.<param> or stages.<id>.<param>)"
    )
