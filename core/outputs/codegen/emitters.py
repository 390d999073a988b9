"""The code generator's half of a kind: the Python source that makes it, found by the kind's name.

As each engine module registers a builder per kind the catalog declares, each module here registers an
emitter (`core.spec.per_kind`), and a test fails for a kind a user can choose that has none. An emitter
returns `Code`: the statements that make its kind, the module-level definitions they call (written once
in a script however many stages call them) and the imports those need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from core.spec.params import AUTOTUNE
from core.spec.per_kind import PerKind

AUTOTUNE_CODE = "tf.data.AUTOTUNE"


@dataclass(frozen=True)
class Code:
    lines: tuple[str, ...] = ()  # statements, without indentation
    helpers: tuple[str, ...] = ()  # whole module-level definitions (a def, a class), each once in a script
    imports: tuple[str, ...] = ()  # `import numpy as np`, …; tensorflow is always there
    endings: tuple[str, ...] = ()  # statements after main() has returned, each once in a script

    def __add__(self, other: "Code") -> "Code":
        return Code(self.lines + other.lines, self.helpers + other.helpers, self.imports + other.imports,
                    self.endings + other.endings)


@dataclass(frozen=True)
class StageContext:
    """What a stage's emitter needs beyond its parameters."""

    stage_id: str
    seed: str  # the seed as code: `SEED`, or `SEED + 1` in a side branch, as the engine seeds it
    serial: bool  # feed_dict: each batch made strictly before it is fed, so nothing runs ahead
    emit_branch: Callable  # (Branch, stage id) -> (the name of the function that makes it, its Code)


@dataclass(frozen=True)
class Feeding:
    """A feeder's code: the dataset options it needs, and `batches(dataset)`, which hands the model its batches."""

    serial: bool
    options: tuple[str, ...]  # statements that set `options`, a tf.data.Options
    batches: Code  # defines `batches(dataset)`


class Emitters(PerKind):
    role = "emitter"
    from_script_refusal = ("its code is the user's: `codegen --patch RUN_DIR` hands tuned values back to the "
                           "script instead")

    emits = PerKind.register

    def emitter_for(self, name: str, path: str) -> Callable:
        return self.for_kind(name, path)


def literal(value) -> str:
    """A parameter's value as Python source: AUTOTUNE as tf.data's."""
    return AUTOTUNE_CODE if value == AUTOTUNE else repr(value)


def parallel_calls(value, ctx: StageContext) -> Optional[str]:
    """`num_parallel_calls` as the engine sets it, or None to leave it out: a serial pipeline, or 1, which
    as a parallel map would still compute one element ahead."""
    if ctx.serial or value in (None, 1):
        return None
    return literal(value)


def call(method: str, *arguments: str, **keywords: Optional[str]) -> str:
    """`ds = ds.method(a, key=value)`, leaving out keywords whose value is None."""
    given = [*arguments, *(f"{key}={value}" for key, value in keywords.items() if value is not None)]
    return f"ds = ds.{method}({', '.join(given)})"
