"""`compare`: run folders read back and set side by side, written as compare.json and compare.png.

- `compare_runs(folders)`: each run loaded as `report` loads it (also one that was killed), then
  compared by `compare_recorded`. Nothing is written into the run folders.
- `compare_recorded(runs)`: runs already in memory (the app's run history, or runs loaded), each with
  its label and rows: its summary rebuilt from the rows, each description's differences from the
  first run's (the baseline), and the figures side by side (core.analysis.comparison).
- `write_compare_files(comparison, out_dir)`: compare.json (sorted keys, indented) and compare.png.

compare.json: `runs` (each `{label, folder, name, closed, summary}`), `differences` (for each run
after the first, `{against: 0, run, description: [{path, a, b, change, text}]}`) and `figures`
(`{figures, runs, differences}`: each run's headline figures and their differences to the first's).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from core.analysis.comparison import side_by_side
from core.engine.run_protocol import RunView
from core.outputs.compare_image import PlottedRun, render_compare_png
from core.outputs.run_files import CUT_OFF
from core.outputs.run_folder import load_run
from core.outputs.summary import build_summary, write_json
from core.spec.diff import Difference, describe_differences
from core.spec.params import SpecError

COMPARE_JSON, COMPARE_PNG = "compare.json", "compare.png"
BASELINE = 0  # every run is compared against the first


@dataclass
class ComparedRun:
    label: str  # A, B, C …: short enough for a table's column (the app's: `#3 whatif`)
    run: RunView  # a LoadedRun, or a run of the app's history
    summary: dict
    rows: np.ndarray  # its step records, as compared

    @property
    def name(self) -> str:
        return self.run.spec.name

    @property
    def folder(self) -> Optional[Path]:
        return getattr(self.run, "folder", None)  # only a run loaded from disk knows its folder

    @property
    def closed(self) -> bool:
        return self.run.closed

    def to_dict(self) -> dict:
        return {"label": self.label, "folder": str(self.folder), "name": self.name,
                "closed": self.closed, "summary": self.summary}


@dataclass
class Comparison:
    runs: list[ComparedRun]
    differences: list[list[Difference]]  # per run after the first: its description against the first's
    figures: dict  # core.analysis.comparison.side_by_side

    def to_dict(self) -> dict:
        return {"runs": [run.to_dict() for run in self.runs],
                "differences": [{"against": BASELINE, "run": index + 1,
                                 "description": [difference.to_dict() for difference in differences]}
                                for index, differences in enumerate(self.differences)],
                "figures": self.figures}

    def description_lines(self) -> list[str]:
        """Each later run's description against the baseline's: a heading line, then one line per difference."""
        baseline, lines = self.runs[BASELINE].label, []
        for run, differences in zip(self.runs[BASELINE + 1:], self.differences):
            if not differences:
                lines.append(f"{run.label} against {baseline}: the same pipeline")
                continue
            lines.append(f"{run.label} against {baseline}:")
            lines += [f"  {difference.text}" for difference in differences]
        return lines


def compare_runs(folders) -> Comparison:
    """The runs in `folders`, the first being the baseline; a folder holding no run is a SpecError naming it."""
    loaded = [load_run(folder) for folder in folders]
    return compare_recorded([(run_label(index), run, run.records.rows()) for index, run in enumerate(loaded)])


def compare_recorded(runs: list[tuple[str, RunView, np.ndarray]]) -> Comparison:
    """(label, run, its rows) for each run, the first being the baseline; nothing is read from disk."""
    compared = [ComparedRun(label, run, _summary(run, rows), rows) for label, run, rows in runs]
    baseline = compared[BASELINE].run.spec
    differences = [describe_differences(baseline, other.run.spec) for other in compared[BASELINE + 1:]]
    return Comparison(compared, differences, side_by_side([run.summary for run in compared]))


def run_label(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index] if index < len(letters) else f"R{index + 1}"


def _summary(run: RunView, rows: np.ndarray) -> dict:
    # The summary `report` would write (the same figures as the run's own summary.json), built in
    # memory: a comparison leaves the run folders as they are.
    extra = dict(run.extra) | ({} if run.closed else {"record_stream": CUT_OFF})
    return build_summary(run, extra, rows)


def write_compare_files(comparison: Comparison, out_dir) -> tuple[Path, Path]:
    """compare.json and compare.png in `out_dir`; a folder that cannot be written is a SpecError naming it."""
    out = Path(out_dir)
    json_path, png_path = out / COMPARE_JSON, out / COMPARE_PNG
    try:
        write_json(json_path, comparison.to_dict())
        render_compare_png(png_path, [_plotted(run) for run in comparison.runs], headline=_headline(comparison))
    except OSError as error:
        raise SpecError(f"{out}: cannot write the comparison's files ({error})") from None
    return json_path, png_path


def legend_label(run: ComparedRun) -> str:
    figures = run.summary
    return f"{run.label}   {run.name} — {run.folder} — {figures['steps_per_s']:.1f} steps/s, " \
           f"idle {100 * figures['idle_fraction']:.1f}%"


def _plotted(run: ComparedRun) -> PlottedRun:
    return PlottedRun(legend_label(run), run.rows, run.run.spec.run["warmup_steps"],
                      [change.t for change in run.run.outcome.changes])


def _headline(comparison: Comparison) -> str:
    labels = [run.label for run in comparison.runs]
    return f"compare: {' vs '.join(labels)} ({labels[BASELINE]} is the baseline)"
