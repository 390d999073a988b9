"""What a kind is: the one typed declaration of a source, stage, feeder or model kind.

A `Kind` says everything about a kind that is not TensorFlow: its parameters,
its block label, the checks across its parameters and its place in a pipeline,
whether it makes or unmakes batches, which parameter sizes its buffer, which sets
its parallelism and what its work costs (for bottleneck analysis), and the tf.data
node names it becomes and whether it hides the stages before it from them (so
live figures can find it). The editor, validation, live
figures and analysis read it; the engine looks up a builder by the kind's name
(`core.engine.builders`) and the code generator an emitter (`core.outputs.codegen`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from core.spec.params import Param, SpecError


class Work(enum.Enum):
    """What an element costs a stage: how its throughput grows with its parallelism."""
    CPU = "cpu"  # host CPU work: more calls in flight help up to the host's cores
    WAITS = "waits"  # waiting (I/O) that uses no CPU: more calls in flight help almost without limit


class Batching(enum.Enum):
    KEEPS = "keeps"  # elements leave as they came: batches stay batches
    MAKES = "makes"  # elements leave grouped into batches
    UNMAKES = "unmakes"  # batches leave split into their examples


@dataclass(frozen=True)
class Kind:
    name: str
    help: str
    params: tuple[Param, ...] = ()
    label: Optional[Callable[[dict], str]] = None  # the block's text; the kind's name when None
    check: Optional[Callable[[dict, str], None]] = None  # across parameters: raises SpecError at the path
    check_position: Optional[Callable[[int, int], Optional[str]]] = None  # (index, count) -> why not here
    check_feeder: Optional[Callable[[str], Optional[str]]] = None  # feeder kind -> why not with it
    batching: Union[Batching, Callable[[dict], Batching]] = Batching.KEEPS
    buffer_param: Optional[str] = None  # sizes a buffer elements wait in ahead of the consumer
    parallel_param: Optional[str] = None  # how many elements it works on at once (what analysis may raise)
    work: Work = Work.CPU  # what that work costs, so analysis can say what more parallelism buys
    node_names: frozenset = frozenset()  # tf.data node names it becomes, lower-case, without `V2`
    function_param: Optional[str] = None  # names its function: a watched script's own function goes here by name
    # Where the stages before it run, out of sight of tf.data's live model ("inside prefetch_to_device's copy
    # iterator"): only it and the stages after it have live figures. None: it hides nothing.
    hides_stages_before: Optional[str] = None
    # Where it moves the stages before it, out of the training process, as the canvas marks them ("on
    # tf.data service"). None: they run where they are.
    moves_stages_before: Optional[str] = None
    from_script: bool = False  # only in pipelines imported from a watched script: shown, never built or offered

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def defaults(self) -> dict:
        return {param.name: param.default for param in self.params}

    def label_for(self, params: dict) -> str:
        return self.label(params) if self.label else self.name

    def batching_for(self, params: dict) -> Batching:
        return self.batching(params) if callable(self.batching) else self.batching

    def check_params(self, values: dict, path: str, parse_branch: Optional[Callable[[Any, str], Any]] = None) -> dict:
        """Validate a params mapping; unknown names and bad values name their path.

        `parse_branch(value, path)` reads a branch parameter (a pipeline of its own)."""
        known = {param.name for param in self.params}
        for key in values:
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise SpecError(f"{path}.{key}: unknown parameter for kind '{self.name}' (known: {allowed})")
        checked = {}
        for param in self.params:
            value = values.get(param.name, param.default)
            param_path = f"{path}.{param.name}"
            checked[param.name] = parse_branch(value, param_path) if param.type == "branch" else param.check(
                value, param_path)
        if self.check:
            self.check(checked, path)
        return checked


class Registry:
    """The kinds of one category (stages, sources, ...), in the order they were declared."""

    def __init__(self, category: str):
        self.category = category
        self._kinds: dict[str, Kind] = {}

    def add(self, kind: Kind) -> Kind:
        if kind.name in self._kinds:
            raise ValueError(f"{self.category} kind '{kind.name}' declared twice")
        self._kinds[kind.name] = kind
        return kind

    def get(self, name: Any, path: str) -> Kind:
        if name not in self._kinds:
            known = ", ".join(self._kinds)
            raise SpecError(f"{path}: unknown {self.category} kind {name!r} (known: {known})")
        return self._kinds[name]

    def names(self) -> list[str]:
        return list(self._kinds)

    def offered(self) -> list[Kind]:
        """The kinds a user can choose (the palette, the inspector): those the engine can build."""
        return [kind for kind in self._kinds.values() if not kind.from_script]

    def kinds(self) -> list[Kind]:
        return list(self._kinds.values())

    def __contains__(self, name: str) -> bool:
        return name in self._kinds
