"""`compare RUN_DIR RUN_DIR… [--out DIR]`: A/B runs side by side in compare.json and compare.png.

The first run is the baseline: every other run's figures and description are compared with its.
stdout gets the same comparison as a short table, so the command is useful without opening a file:
the figures side by side (each later run with its difference to the baseline), then how each
description differs. Without --out the files go to compare-<name> here; the run folders are only read.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cli.common import EXIT_OK, UsageError
from cli.execute import check_out_dir
from core.analysis.comparison import figures_table
from core.outputs.compare_files import COMPARE_JSON, COMPARE_PNG, Comparison, compare_runs, write_compare_files

COLUMN_GAP = "   "


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="A/B: run folders side by side (compare.json, compare.png)")
    parser.add_argument("folders", nargs="+", metavar="RUN_DIR",
                        help="two or more folders `run --out DIR` wrote; the first is the baseline")
    parser.add_argument("--out", metavar="DIR",
                        help="where to write compare.json and compare.png (default: compare-<name> here, "
                             "<name> the first run's pipeline; the run folders are only read)")
    parser.set_defaults(handler=compare_command)


def compare_command(args) -> int:
    if len(args.folders) < 2:
        raise UsageError(f"compare: give two run folders or more (the first is the baseline), got only "
                         f"{args.folders[0]}")
    comparison = compare_runs(args.folders)  # a folder that holds no run fails here, before any is made
    for compared in comparison.runs:
        if not compared.run.closed:
            sys.stderr.write(f"compare: the run in {compared.run.folder} was cut off (killed or crashed): "
                             f"compared as far as it got ({len(compared.run.records)} steps)\n")
    out = Path(args.out or f"compare-{comparison.runs[0].name}")
    check_out_dir(out)
    write_compare_files(comparison, out)
    print(comparison_text(comparison))
    print(f"\n{COMPARE_JSON} and {COMPARE_PNG} written to {out}")
    return EXIT_OK


def comparison_text(comparison: Comparison) -> str:
    """Which run is which, the figures side by side, and each description's differences from the baseline."""
    lines = [f"{run.label}  {run.name}  {run.folder}" for run in comparison.runs]
    return "\n".join([*lines, "", *_figures_table(comparison), "", *comparison.description_lines()])


def _figures_table(comparison: Comparison) -> list[str]:
    """A row per figure: its name, the baseline's value, then each later run's value and its difference."""
    rows = figures_table([run.summary for run in comparison.runs], [run.label for run in comparison.runs])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [COLUMN_GAP.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
