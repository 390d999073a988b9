"""Runs side by side: the headline figures of each run's summary, and how far each run after the first is from it.

`side_by_side(summaries)` reads summaries as summary.json holds them and returns

    {"figures": [names], "runs": [{name: value}], "differences": [{"against": 0, "run": i,
                                                                   "figures": {name: difference}}]}

A number's difference is `{absolute, relative, text}` (`steps_per_s: +48.2 (+31%)`; relative is None
against a zero); a share's text says percentage points (`-21.2 pts (-95%)`); the verdict's difference
is its change (`input-bound → compute-bound`), None when it is the same. A figure a run lacks is None, and so is its difference. The host CPU
shares are included when the summaries have `cpu` (`cpu.<part>.share`).

`figures_table(summaries, labels)` lays the same out as table cells, for `compare`'s stdout and the
app's A/B view alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class Figure:
    name: str
    keys: tuple  # where it is in a summary
    unit: str = ""  # "%": a share, shown and differenced in percent (points)
    digits: int = 1

    def value(self, summary: dict) -> Optional[float]:
        for key in self.keys:
            summary = summary.get(key) if isinstance(summary, dict) else None
        return summary if isinstance(summary, (int, float)) and not isinstance(summary, bool) else None

    def shown(self, value: Optional[float]) -> str:
        """As a table shows it: `119.3`, `22.4%`, `4.12 ms`; `–` when missing."""
        if value is None:
            return MISSING
        if self.unit == "%":
            return f"{100 * value:.{self.digits}f}%"
        return f"{value:,.{self.digits}f}{self.unit}"

    def difference(self, first: Optional[float], other: Optional[float]) -> Optional[dict]:
        if first is None or other is None:
            return None
        absolute = other - first
        relative = absolute / first if first else None
        return {"absolute": round(absolute, 6), "relative": None if relative is None else round(relative, 4),
                "text": self._difference_text(absolute, relative)}

    def _difference_text(self, absolute: float, relative: Optional[float]) -> str:
        """`+48.2 (+31%)`; a share's in points (`-21.2 pts (-95%)`): a percent of a percent misleads."""
        if self.unit == "%":
            text = f"{_unsigned_zero(100 * absolute, self.digits):+.{self.digits}f} pts"
        else:
            text = f"{_unsigned_zero(absolute, self.digits):+,.{self.digits}f}{self.unit}"
        return text if relative is None else f"{text} ({_unsigned_zero(100 * relative, 0):+.0f}%)"


FIGURES = (
    Figure("steps_per_s", ("steps_per_s",)),
    Figure("examples_per_s", ("examples_per_s",), digits=0),
    Figure("idle_fraction", ("idle_fraction",), unit="%"),
    Figure("step_ms.p50", ("step_ms", "p50"), unit=" ms", digits=2),
    Figure("step_ms.p90", ("step_ms", "p90"), unit=" ms", digits=2),
    Figure("wait_ms.p50", ("wait_ms", "p50"), unit=" ms", digits=2),
    Figure("compute_ms.p50", ("compute_ms", "p50"), unit=" ms", digits=2),
)
VERDICT = "verdict"
CPU = "cpu"
MISSING = "–"


def _unsigned_zero(value: float, digits: int) -> float:
    """`value`, but 0.0 where it rounds to zero: a difference too small to show is not `-0.00`."""
    return value if round(value, digits) != 0 else 0.0


def figures_of(summaries: list[dict]) -> list[Figure]:
    """The figures set side by side for these summaries: FIGURES, and the CPU shares any of them has."""
    return list(FIGURES) + _cpu_figures(summaries)


def side_by_side(summaries: list[dict]) -> dict:
    figures = figures_of(summaries)
    runs = [{**{figure.name: figure.value(summary) for figure in figures}, VERDICT: summary.get(VERDICT)}
            for summary in summaries]
    differences = [{"against": 0, "run": index, "figures": _differences(runs[0], run, figures)}
                   for index, run in enumerate(runs) if index > 0]
    return {"figures": [figure.name for figure in figures] + [VERDICT], "runs": runs, "differences": differences}


def figures_table(summaries: list[dict], labels: list[str]) -> list[list[str]]:
    """The figures as table cells: a header, then a row per figure — its name, the first run's value, then
    each later run's value and its difference to the first's (`B vs A`). A verdict's change is the two
    verdicts, both already in its row."""
    figures = {figure.name: figure for figure in figures_of(summaries)}
    side = side_by_side(summaries)
    baseline, later = labels[0], labels[1:]
    rows = [["", baseline, *[cell for label in later for cell in (label, f"{label} vs {baseline}")]]]
    for name in side["figures"]:
        figure = figures.get(name)
        values = [figure.shown(run[name]) if figure else run[name] or MISSING for run in side["runs"]]
        changes = ["" if name == VERDICT else (difference["figures"][name] or {}).get("text", "")
                   for difference in side["differences"]]
        rows.append([name, values[0], *[cell for pair in zip(values[1:], changes) for cell in pair]])
    return rows


def _differences(first: dict, other: dict, figures: list[Figure]) -> dict:
    result = {figure.name: figure.difference(first[figure.name], other[figure.name]) for figure in figures}
    same_verdict = first[VERDICT] == other[VERDICT]
    result[VERDICT] = None if same_verdict else {"absolute": None, "relative": None,
                                                 "text": f"{first[VERDICT]} → {other[VERDICT]}"}
    return result


def _cpu_figures(summaries: list[dict]) -> list[Figure]:
    """Every share under any summary's `cpu` (the input pipeline's, the model's, the profiler's)."""
    keys = []
    for summary in summaries:
        for path in _share_paths(summary.get(CPU), (CPU,)):
            if path not in keys:
                keys.append(path)
    return [Figure(".".join(path), path, unit="%") for path in keys]


def _share_paths(data: Any, path: tuple) -> list[tuple]:
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in _share_paths(value, (*path, key))]
    is_number = isinstance(data, (int, float)) and not isinstance(data, bool)
    return [path] if is_number and "share" in path[-1] else []
