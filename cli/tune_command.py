"""`tune`: search settings with short trial runs guided by the analysis; best.json and tune.csv.

Each trial runs the description for `--trial-seconds`; the tuner (core.experiments.tuner) picks the
next one. After the budget, the same pipeline with every knob on AUTOTUNE runs once more for the
same time, so the result is set beside what tf.data's own tuning gets (`autotune_baseline`: with the
best's model, so that the comparison is of the input's tuning alone).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_spec_arguments, print_error, resolve_spec,
                        with_length)
from cli.execute import check_out_dir
from cli.trials import Interrupted, run_trial
from core.experiments.bottleneck_analysis import analyze_pipeline
from core.experiments.tuner import Trial, Tuner
from core.outputs.summary import write_json
from core.spec.edits import autotune_baseline
from core.spec.params import SpecError
from core.spec.pipeline import save_spec

DEFAULT_BUDGET = 12
AUTOTUNE_TRIAL = "autotune"  # the AUTOTUNE comparison's name in tune.csv and the table
TRIAL_SECONDS = 3.0
ANALYSIS_SECONDS = 0.5  # per prefix while tuning: the trials themselves check what the analysis predicts
CSV_COLUMNS = ("trial", "change", "why", "steps_per_s", "examples_per_s", "idle_fraction", "step_ms_p50",
               "best", "error")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("tune", help="search settings, write the best pipeline")
    add_spec_arguments(parser)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, metavar="N",
                        help=f"trial runs at most (default {DEFAULT_BUDGET})")
    parser.add_argument("--trial-seconds", type=float, default=TRIAL_SECONDS, metavar="S",
                        help=f"length of each trial run (default {TRIAL_SECONDS:g})")
    parser.add_argument("--out", metavar="DIR", help="where best.json and tune.csv go (default: tune-<name>)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=tune_command)


def tune_command(args) -> int:
    if args.budget < 1:
        raise SpecError(f"--budget: must be ≥ 1, got {args.budget}")
    spec = resolve_spec(args)
    trial_spec = with_length(spec, "--trial-seconds", seconds=args.trial_seconds)
    out = Path(args.out or f"tune-{spec.name}")
    check_out_dir(out)  # after every check: bad input leaves no folder behind
    say = (lambda text: None) if args.quiet else (lambda text: sys.stderr.write(f"tune: {text}\n"))
    tuner = Tuner(trial_spec, args.budget, lambda s, summary: analyze_pipeline(
        s, summary, ANALYSIS_SECONDS, lambda part: say(f"analysing the best so far: {part}")))
    try:
        _search(tuner, args.quiet)
        if tuner.best is None:
            _write(out, spec, tuner, None)
            print_error(f"{spec.name}: the description as given failed, so there is nothing to tune: "
                        f"{tuner.trials[0].error}")
            return EXIT_FAILED
        autotune = _run_autotuned(trial_spec, tuner.best.spec, args.quiet)
    except Interrupted:
        sys.stderr.write("interrupted: the trials so far are written\n")
        _write(out, spec, tuner, None)
        return EXIT_INTERRUPTED
    _write(out, spec, tuner, autotune)
    print(_report(tuner, autotune, out))
    return EXIT_OK


def _search(tuner: Tuner, quiet: bool) -> None:
    while (trial := tuner.ask()) is not None:
        label = f"trial {trial.number}/{tuner.budget}: {trial.moves[-1] if trial.moves else 'as given'}"
        done = run_trial(trial.spec, label, show_progress=not quiet)
        tuner.tell(trial, done.summary, done.error)
        if done.error:
            print_error(f"{label}: {done.error}")


def _run_autotuned(spec, best, quiet: bool) -> Trial:
    """The same pipeline under tf.data's own tuning with the best's model, a trial outside the search
    (number 0)."""
    trial = Trial(0, autotune_baseline(spec, best), ("every knob AUTOTUNE",), "tf.data's own tuning")
    result = run_trial(trial.spec, "AUTOTUNE", show_progress=not quiet)
    trial.summary, trial.error = result.summary, result.error
    return trial


def _write(out: Path, spec, tuner: Tuner, autotune) -> None:
    if tuner.best is not None:
        best = tuner.best.spec.copy()
        best.run = dict(spec.run)  # the user's own length and warm-up, not the trials'
        save_spec(best, out / "best.json")
    with open(out / "tune.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for trial in tuner.trials + ([autotune] if autotune else []):
            writer.writerow(_row(trial, trial is tuner.best))
    if tuner.analyses:
        write_json(out / "analysis.json", tuner.analyses[-1])


def _row(trial: Trial, best: bool) -> list:
    summary = trial.summary or {}
    number = trial.number or AUTOTUNE_TRIAL
    change = " + ".join(trial.moves) or "as given"
    step_p50 = (summary.get("step_ms") or {}).get("p50")
    return [number, change, trial.why, summary.get("steps_per_s"), summary.get("examples_per_s"),
            summary.get("idle_fraction"), step_p50, int(best), trial.error or ""]


def _report(tuner: Tuner, autotune: Trial, out: Path) -> str:
    lines = [f"{'trial':>8} {'examples/s':>11} {'steps/s':>8} {'idle':>6}  change"]
    for trial in tuner.trials + [autotune]:
        summary = trial.summary or {}
        mark = "*" if trial is tuner.best else " "
        lines.append(f"{trial.number or AUTOTUNE_TRIAL:>8} {trial.objective:>11.0f} {summary.get('steps_per_s') or 0:>8.1f} "
                     f"{100 * (summary.get('idle_fraction') or 0):>5.1f}% {mark}{trial.moves[-1] if trial.moves else 'as given'}"
                     + (f"  (failed: {trial.error})" if trial.error else ""))
    first, best = tuner.trials[0], tuner.best
    ratio = best.objective / autotune.objective if autotune.objective else float("nan")
    lines.append(f"best: {best.objective:.0f} examples/s, {best.summary['steps_per_s']:.1f} steps/s "
                 f"(as given {first.objective:.0f}; AUTOTUNE {autotune.objective:.0f}, ×{ratio:.2f}) after "
                 f"{len(tuner.trials)} trials: {' + '.join(best.moves) or 'as given'}; {out / 'best.json'}")
    return "\n".join(lines)
