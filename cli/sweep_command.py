"""`sweep`: one short run per combination of a grid over one to three parameters; sweep.csv and sweep.png.

Every combination is checked before the first run (core.experiments.sweep), so a bad path or value
is bad input at once. The combinations then run one after another, each for `--steps` (or
`--seconds`), with the progress line of `run`. A combination that fails is a row with its error and
the sweep goes on; Ctrl-C keeps, and writes, the combinations that have run. stdout gets the table
and the best combination as `--set` arguments, ready to paste into `run`.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_spec_arguments, print_error, resolve_spec,
                        with_length)
from cli.execute import check_out_dir
from cli.trials import Interrupted, run_trial
from core.experiments.sweep import Sweep, build_sweep_from_options, sweep_base
from core.outputs.sweep_files import write_sweep_files

DEFAULT_STEPS = 300  # long enough to pass warm-up and settle, short enough for a 4×4 grid in minutes


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("sweep", help="one run per combination of a grid of settings")
    add_spec_arguments(parser)
    parser.add_argument("--grid", action="append", required=True, metavar="PATH=V1,V2,…",
                        help="a parameter and its values, as --set takes the path (one to three --grid)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, metavar="N", help=f"steps per combination (default {DEFAULT_STEPS})")
    length.add_argument("--seconds", type=float, metavar="S", help="seconds per combination instead")
    parser.add_argument("--out", metavar="DIR", help="where sweep.csv and sweep.png go (default: sweep-<name>)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=sweep_command)


def sweep_command(args) -> int:
    steps, seconds = (None, args.seconds) if args.seconds is not None else (DEFAULT_STEPS if args.steps is None else args.steps, None)
    spec = resolve_spec(args)
    option = "--seconds" if seconds is not None else "--steps"
    sweep = build_sweep_from_options(sweep_base(with_length(spec, option, steps, seconds)), args.grid)
    out = Path(args.out or f"sweep-{spec.name}")
    check_out_dir(out)
    length = f"{seconds:g} s" if seconds is not None else f"{steps} steps"
    try:
        _run_all(sweep, args.quiet)
    except Interrupted:
        sys.stderr.write("interrupted: the combinations run so far are written\n")
        _write(out, spec.name, sweep, length)
        if sweep.done:
            print(_report(sweep, out))
        return EXIT_INTERRUPTED
    _write(out, spec.name, sweep, length)
    print(_report(sweep, out))
    if sweep.best is None:
        print_error("every combination failed; see the error column of " + str(out / "sweep.csv"))
        return EXIT_FAILED
    return EXIT_OK



def _run_all(sweep: Sweep, quiet: bool) -> None:
    total = len(sweep.combinations)
    while (combination := sweep.ask()) is not None:
        label = f"combination {combination.number}/{total}: {combination.describe()}"
        trial = run_trial(combination.spec, label, show_progress=not quiet)
        sweep.tell(combination, trial.summary, trial.error)
        if trial.error:  # said even with --quiet: it is a result, not progress
            sys.stderr.write(f"combination {combination.number}/{total} failed: {trial.error}; the sweep goes on\n")


def _write(out: Path, name: str, sweep: Sweep, length: str) -> None:
    best = sweep.best
    caption = (f"best: {best.describe()} — {best.steps_per_s:.1f} steps/s" if best is not None
               else "no combination ran to a result")
    title = f"{name}: steps/s per combination ({length} each)"
    write_sweep_files(out, sweep.columns(), sweep.rows(), sweep.heatmaps(), title, caption)


def _report(sweep: Sweep, out: Path) -> str:
    """The table of results, the best marked `*`, then the best as `--set` arguments."""
    best = sweep.best
    widths = [max(len(path), *(len(text) for text in axis.texts)) for path, axis in zip(sweep.paths, sweep.axes)]
    header = "  ".join([f"{'#':>3}", *(f"{path:>{width}}" for path, width in zip(sweep.paths, widths)),
                        f"{'steps/s':>8}", f"{'idle':>6}", f"{'step p50':>11}"])
    lines = [header]
    for combination in sweep.done:
        mark = "*" if combination is best else " "
        cells = [f"{mark}{combination.number:>2}", *(f"{text:>{width}}" for text, width in zip(combination.texts,
                                                                                              widths))]
        lines.append("  ".join([*cells, _figures(combination)]))
    if best is None:
        lines.append("best: none — no combination ran to a result")
    else:
        slowest = min(combination.steps_per_s for combination in sweep.done if combination.succeeded)
        than_slowest = f" (×{best.steps_per_s / slowest:.2f} the slowest)" if slowest < best.steps_per_s else ""
        lines.append(f"best: {best.steps_per_s:.1f} steps/s with {best.describe()}{than_slowest}")
        lines.append(f"  {best.set_arguments()}")
    lines.append(f"files: {out / 'sweep.csv'}, {out / 'sweep.png'}")
    return "\n".join(lines)


def _figures(combination) -> str:
    if not combination.succeeded:
        return f"failed: {combination.error or 'no steps recorded'}"
    figures = combination.figures()
    step_p50 = figures["step_ms_p50"]
    step_text = "—" if step_p50 is None or math.isnan(step_p50) else f"{step_p50:.2f} ms"
    return f"{figures['steps_per_s']:>8.1f}  {100 * (figures['idle_fraction'] or 0):>5.1f}%  {step_text:>11}"
