"""The sweep: a grid over one to three parameters of a description, one short run per combination.

Ask/tell, as the tuner: `ask()` gives the next combination to run (or None when all have run),
`tell()` takes its run's summary or why it failed. Whoever runs the combinations (the command line,
the app's dialog) owns the running; the sweep only decides the order and keeps the results.

A grid is written as `--set` takes a path: `PATH=V1,V2,…` (each value JSON if it parses, else a
string, so `AUTOTUNE` and `[512,512]` work; commas inside brackets do not split). Every combination
is checked against the description before any run, so a bad path or value is bad input named by the
grid and value, not a failure twenty minutes in. The results come back as CSV rows (the grid's paths,
then the contract's figures) and as heatmaps of steps/s: for two parameters a matrix (rows: the first
path's values, columns: the second's), for one a single row, for three one matrix per value of the third.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from core.spec.kinds import CATALOG
from core.spec.params import Param, SpecError
from core.spec.pipeline import PipelineSpec, apply_overrides, length_overrides, parse_value

MAX_PARAMETERS = 3  # ("one to three" in messages) a fourth would fit neither one picture nor an afternoon
FIGURE_COLUMNS = ("steps_per_s", "idle_fraction", "step_ms_p50")  # the contract's, in its order
EXTRA_COLUMNS = ("examples_per_s", "error")
SWEEPABLE_TYPES = ("int", "float", "bool")


@dataclass(frozen=True)
class GridAxis:
    """One swept parameter: its path (as `--set` writes it) and its values, in the order given."""
    path: str
    values: tuple  # parsed as `--set` parses them
    texts: tuple[str, ...]  # as written, for tables, CSV cells and `--set` arguments

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Combination:
    """One point of the grid: its assignments, the description with them, and once run its figures."""
    number: int  # 1-based, in the order the combinations run
    axes: tuple[GridAxis, ...]
    indices: tuple[int, ...]  # into each axis's values
    spec: PipelineSpec
    summary: Optional[dict] = None
    error: Optional[str] = None
    done: bool = False

    @property
    def assignments(self) -> list[tuple[str, Any]]:
        return [(axis.path, axis.values[index]) for axis, index in zip(self.axes, self.indices)]

    @property
    def texts(self) -> list[str]:
        return [axis.texts[index] for axis, index in zip(self.axes, self.indices)]

    def describe(self) -> str:
        return " ".join(f"{axis.path}={text}" for axis, text in zip(self.axes, self.texts))

    def set_arguments(self) -> str:
        return " ".join(f"--set {axis.path}={text}" for axis, text in zip(self.axes, self.texts))

    @property
    def succeeded(self) -> bool:
        return self.done and self.error is None and bool(self.summary) and bool(self.summary.get("steps_per_s"))

    @property
    def steps_per_s(self) -> float:
        """The objective; NaN where there is none (not run yet, or failed), so it is never the best."""
        return float(self.summary["steps_per_s"]) if self.succeeded else math.nan

    def figures(self) -> dict:
        """The CSV's figures: empty for a failed run, whose partial numbers would read as a result."""
        if not self.succeeded:
            return {name: None for name in (*FIGURE_COLUMNS, "examples_per_s")}
        summary = self.summary
        return {"steps_per_s": summary.get("steps_per_s"), "idle_fraction": summary.get("idle_fraction"),
                "step_ms_p50": (summary.get("step_ms") or {}).get("p50"),
                "examples_per_s": summary.get("examples_per_s")}


@dataclass(frozen=True)
class Heatmap:
    """Steps/s over two parameters (rows × columns), NaN where a combination failed or has not run.

    With one parameter there is a single unnamed row; with three, one heatmap per value of the third,
    named in `title`. `best` is the best combination's cell when it is in this heatmap."""
    title: str
    row_path: Optional[str]
    row_labels: tuple[str, ...]
    column_path: str
    column_labels: tuple[str, ...]
    values: np.ndarray
    best: Optional[tuple[int, int]]
    failed: frozenset = frozenset()  # cells whose run failed (the other NaN cells have not run)


@dataclass
class Sweep:
    spec: PipelineSpec
    axes: tuple[GridAxis, ...]
    combinations: list[Combination] = field(default_factory=list)
    _next: int = 0
    _pending: Optional[Combination] = None

    def __post_init__(self) -> None:
        if not self.combinations:
            self.combinations = list(_combinations(self.spec, self.axes))

    @property
    def paths(self) -> list[str]:
        return [axis.path for axis in self.axes]

    def ask(self) -> Optional[Combination]:
        if self._pending is not None:
            raise RuntimeError("ask() before the last combination was told")
        if self._next >= len(self.combinations):
            return None
        self._pending = self.combinations[self._next]
        self._next += 1
        return self._pending

    def tell(self, combination: Combination, summary: Optional[dict], error: Optional[str] = None) -> None:
        if combination is not self._pending:
            raise RuntimeError("tell() for a combination that was not asked for")
        self._pending = None
        combination.summary, combination.error, combination.done = summary, error, True

    @property
    def done(self) -> list[Combination]:
        return [combination for combination in self.combinations if combination.done]

    @property
    def best(self) -> Optional[Combination]:
        """The fastest run by steps/s (the first of equals); a failed run is never the best."""
        candidates = [combination for combination in self.combinations if combination.succeeded]
        return max(candidates, key=lambda combination: combination.steps_per_s) if candidates else None

    def columns(self) -> list[str]:
        return [*self.paths, *FIGURE_COLUMNS, *EXTRA_COLUMNS]

    def rows(self) -> list[list]:
        """One row per combination run so far, in the columns' order."""
        rows = []
        for combination in self.done:
            figures = combination.figures()
            rows.append([*combination.texts, *(figures[name] for name in FIGURE_COLUMNS),
                         figures["examples_per_s"], combination.error or ""])
        return rows

    def heatmaps(self) -> list[Heatmap]:
        row_axis, column_axis, page_axis = _heatmap_axes(self.axes)
        best = self.best
        pages = range(len(page_axis)) if page_axis else [None]
        return [self._heatmap(row_axis, column_axis, page_axis, page, best) for page in pages]

    def _heatmap(self, row_axis, column_axis, page_axis, page, best) -> Heatmap:
        values = np.full((len(row_axis) if row_axis else 1, len(column_axis)), np.nan)
        best_cell, failed = None, set()
        for combination in self.combinations:
            index = dict(zip((axis.path for axis in self.axes), combination.indices))
            if page_axis is not None and index[page_axis.path] != page:
                continue
            cell = (index[row_axis.path] if row_axis else 0, index[column_axis.path])
            values[cell] = combination.steps_per_s
            if combination is best:
                best_cell = cell
            if combination.done and not combination.succeeded:
                failed.add(cell)
        title = f"{page_axis.path}={page_axis.texts[page]}" if page_axis is not None else ""
        return Heatmap(title, row_axis.path if row_axis else None, row_axis.texts if row_axis else ("",),
                       column_axis.path, column_axis.texts, values, best_cell, frozenset(failed))


def _heatmap_axes(axes: tuple[GridAxis, ...]) -> tuple[Optional[GridAxis], GridAxis, Optional[GridAxis]]:
    """(rows, columns, pages): one parameter is the columns of one row; a third makes pages."""
    if len(axes) == 1:
        return None, axes[0], None
    return axes[0], axes[1], (axes[2] if len(axes) == 3 else None)


# ------------------------------------------------------------ reading and checking grids


def sweep_base(spec: PipelineSpec, steps: Optional[int] = None, seconds: Optional[float] = None) -> PipelineSpec:
    """The description each combination starts from: the run's length for one combination, and no
    tf.profiler capture, whose captured steps run slower and would tilt a short run's figures."""
    return apply_overrides(spec, [*length_overrides(steps, seconds), ("run.capture_steps", 0)])


def split_grid(text: str) -> tuple[str, str]:
    """`PATH=V1,V2` → (PATH, "V1,V2"), the error naming the option as written."""
    path, separator, values = text.partition("=")
    if not separator or not path.strip():
        raise SpecError(f"--grid {text}: expected PATH=V1,V2,…")
    return path.strip(), values


def split_values(text: str) -> list[str]:
    """`1,2,[3,4]` → ["1", "2", "[3,4]"]: commas split values except inside brackets or quotes."""
    values, current, depth, quoted = [], [], 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    values.append("".join(current).strip())
    return values


def make_axis(spec: PipelineSpec, path: str, values_text: str, where: str) -> GridAxis:
    """One parameter's values, each checked on `spec` alone; `where` starts every error message."""
    texts = split_values(values_text)
    if any(text == "" for text in texts):
        raise SpecError(f"{where}: an empty value (give values as V1,V2,…)")
    values = [parse_value(text) for text in texts]
    seen = set()
    for text, value in zip(texts, values):
        normal = _normalised(spec, path, value, where, text)
        if normal in seen:
            raise SpecError(f"{where}: the value {text} is given twice")
        seen.add(normal)
    return GridAxis(path, tuple(values), tuple(texts))


def _normalised(spec: PipelineSpec, path: str, value: Any, where: str, text: str) -> str:
    """The value as the description holds it (-1 is AUTOTUNE, 2 is 2.0 for a float), so repeats are found."""
    try:
        checked = apply_overrides(spec, [(path, value)])
    except SpecError as error:
        raise SpecError(f"{where}: value {text}: {error}") from None
    return repr(_value_at(checked, path))


def _value_at(spec: PipelineSpec, path: str) -> Any:
    data = spec.to_dict()
    head, *rest = path.split(".")
    if head == "stages" and len(rest) == 2:
        return next(stage for stage in data["stages"] if stage["id"] == rest[0]).get(rest[1])
    return data[head].get(rest[0]) if isinstance(data.get(head), dict) and rest else data.get(head)


def build_sweep(spec: PipelineSpec, grids: list[tuple[str, str, str]]) -> Sweep:
    """A sweep of `spec` over `grids`, each (path, values text, where to say an error is).

    Raises SpecError, naming the grid and value, for too few or too many grids, a path swept twice,
    a value the description does not take, or a combination its checks across parameters refuse."""
    if not 1 <= len(grids) <= MAX_PARAMETERS:
        raise SpecError(f"--grid: give one to three parameters to sweep, got {len(grids)}")
    axes, seen = [], {}
    for path, values_text, where in grids:
        if path in seen:
            raise SpecError(f"{where}: {path} is already swept by {seen[path]}")
        seen[path] = where
        axes.append(make_axis(spec, path, values_text, where))
    sweep = Sweep(spec, tuple(axes))
    wheres = [where for _, _, where in grids]
    for combination in sweep.combinations:
        _check_combination(spec, combination, wheres)
    return sweep


def build_sweep_from_options(spec: PipelineSpec, options: list[str]) -> Sweep:
    """A sweep from `--grid PATH=V1,V2,…` options, errors naming the option as written."""
    if not options:
        raise SpecError("--grid: give at least one PATH=V1,V2,…")
    return build_sweep(spec, [(*split_grid(text), f"--grid {text}") for text in options])


def _combinations(spec: PipelineSpec, axes: tuple[GridAxis, ...]):
    """Every combination, the last parameter changing fastest (itertools.product's order)."""
    for number, indices in enumerate(itertools.product(*(range(len(axis)) for axis in axes)), start=1):
        assignments = [(axis.path, axis.values[index]) for axis, index in zip(axes, indices)]
        yield Combination(number, axes, indices, _applied(spec, assignments))


def _applied(spec: PipelineSpec, assignments) -> Optional[PipelineSpec]:
    try:
        return apply_overrides(spec, assignments)
    except SpecError:
        return None  # said, with the grids that make it, by _check_combination


def _check_combination(spec: PipelineSpec, combination: Combination, wheres: list[str]) -> None:
    if combination.spec is not None:
        return
    try:
        apply_overrides(spec, combination.assignments)
    except SpecError as error:
        named = "; ".join(f"{where} value {text}" for where, text in zip(wheres, combination.texts))
        raise SpecError(f"{named}: together: {error}") from None


# ------------------------------------------------------------ what can be swept (the app's choices)


@dataclass(frozen=True)
class SweepKnob:
    """A parameter the app offers to sweep: its `--set` path, its declaration and its value now."""
    path: str
    param: Param
    current: Any
    role: Optional[str] = None  # "parallel" or "buffer" where the kind declares the parameter so

    @property
    def parallel(self) -> bool:
        return self.role == "parallel"

    @property
    def label(self) -> str:
        owner = self.path.rsplit(".", 1)[0]
        return f"{owner.removeprefix('stages.')} · {self.param.name}"


def sweepable_knobs(spec: PipelineSpec) -> list[SweepKnob]:
    """Numeric and on/off parameters of the stages, the feeder and the model, in the pipeline's order."""
    blocks = [(f"stages.{stage.id}", CATALOG["stages"], stage.kind, stage.params) for stage in spec.stages]
    blocks += [(key, CATALOG[key], getattr(spec, key).kind, getattr(spec, key).params) for key in ("feeder", "model")]
    return [SweepKnob(f"{prefix}.{param.name}", param, params.get(param.name), _role(declared, param.name))
            for prefix, registry, kind, params in blocks
            for declared in [registry.get(kind, prefix)]
            for param in declared.params if param.type in SWEEPABLE_TYPES]


def _role(kind, name: str) -> Optional[str]:
    """What the catalog says the parameter does: sets parallelism (doublings are what to try) or a buffer."""
    return "parallel" if name == kind.parallel_param else "buffer" if name == kind.buffer_param else None


def suggested_values(knob: SweepKnob) -> str:
    """Values to start from, as comma text: doublings for parallelism and buffers, around the value now
    for sizes and costs, both states of a switch; all within the parameter's range."""
    param, current = knob.param, knob.current
    if param.type == "bool":
        return "true,false"
    if knob.parallel:
        values = [1, 2, 4, 8]
    elif isinstance(current, (int, float)) and current > 0:
        values = [current / 2, current, current * 2]
    else:  # AUTOTUNE, none or 0 now: a spread from the bottom of the range
        values = [1, 2, 4, 8] if param.type == "int" else [0, 1, 2]
    return ",".join(_text(value, param) for value in _in_range(values, param))


def _in_range(values: list, param: Param) -> list:
    kept = []
    for value in values:
        value = max(value, param.min) if param.min is not None else value
        value = min(value, param.max) if param.max is not None else value
        value = int(round(value)) if param.type == "int" else value
        if value not in kept:
            kept.append(value)
    return kept


def _text(value, param: Param) -> str:
    return str(int(value)) if param.type == "int" else f"{value:g}"
