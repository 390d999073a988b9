"""`analyze`: per-stage throughput in isolation, the bottleneck, and what to change (analysis.json).

First a normal run of the description (`--run-seconds`), then the source alone, each prefix of the
pipeline and the model alone (`--seconds` each). The table on stdout sets each stage's isolated rate
beside tf.data's live figure from the normal run, and what the isolated figures predict beside what
the run achieved.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_spec_arguments, print_error, resolve_spec,
                        with_length)
from cli.execute import check_out_dir
from cli.trials import Interrupted, run_trial
from core.engine.build import summarize_error
from core.experiments.bottleneck_analysis import SECONDS_PER_PART, analyze_pipeline
from core.experiments.watching import analyze_watched_folder
from core.outputs.summary import write_json
from core.spec.params import SpecError

RUN_SECONDS = 4.0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("analyze", help="per-stage throughput and the bottleneck stage")
    add_spec_arguments(parser)
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_PART, metavar="S",
                        help=f"time to measure each prefix and the model on its own (default {SECONDS_PER_PART:g})")
    parser.add_argument("--run-seconds", type=float, default=RUN_SECONDS, metavar="S",
                        help=f"length of the normal run the analysis is checked against (default {RUN_SECONDS:g}; "
                             "0 skips it)")
    parser.add_argument("--out", metavar="DIR", help="write analysis.json there")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=analyze_command)


def analyze_command(args) -> int:
    if args.spec and Path(args.spec).is_dir():
        return _analyze_watched(args)
    if args.seconds <= 0:
        raise SpecError(f"--seconds: must be > 0, got {args.seconds:g}")
    spec = resolve_spec(args)
    normal = with_length(spec, "--run-seconds", seconds=args.run_seconds) if args.run_seconds else None
    check_out_dir(args.out)  # after every check: bad input leaves no folder behind
    summary = None
    if normal is not None:
        try:
            trial = run_trial(normal, f"{spec.name}: normal run", show_progress=not args.quiet)
        except Interrupted:
            sys.stderr.write("interrupted\n")
            return EXIT_INTERRUPTED
        if trial.error:
            print_error(trial.error)
            return EXIT_FAILED
        summary = trial.summary
    say = (lambda text: None) if args.quiet else (lambda text: sys.stderr.write(f"analyze: measuring {text}\n"))
    try:
        analysis = analyze_pipeline(spec, summary, args.seconds, say)
    except SpecError:
        raise
    except Exception as error:  # a stage that fails when measured alone (a normal run would have said so)
        print_error(f"analysis failed: {summarize_error(f'{type(error).__name__}: {error}')}")
        return EXIT_FAILED
    if args.out:
        write_json(Path(args.out) / "analysis.json", analysis)
    print(analysis_table(analysis))
    return EXIT_OK


def _analyze_watched(args) -> int:
    """A watched job's folder: its stages as tf.data measured them while it trained; nothing is run."""
    if args.preset or args.overrides:
        raise SpecError(f"{args.spec}: a watched job's folder is analyzed as it was recorded (no --preset, no --set)")
    analysis = analyze_watched_folder(args.spec)
    write_json(Path(args.out or args.spec) / "analysis.json", analysis)
    print(analysis_table(analysis))
    return EXIT_OK


def analysis_table(analysis: dict) -> str:
    lines = [f"{'stage':<12} {'kind':<14} {'elements/s':>11} {'steps/s':>9} {'live el/s':>10}"]
    for stage in analysis["stages"]:
        live = stage.get("live_elements_per_s")
        lines.append(f"{stage['id']:<12} {stage['kind']:<14} {stage['elements_per_s']:>11.1f} "
                     f"{stage['steps_per_s']:>9.1f} {'—' if live is None else format(live, '.1f'):>10}")
    lines.append(f"{'model':<12} {'':<14} {'':>11} {analysis['model_steps_per_s']:>9.1f}")
    ahead = analysis.get("model_launching_ahead_steps_per_s")
    if ahead is not None:
        lines.append(f"{'model':<12} {'sync: window':<14} {'':>11} {ahead:>9.1f}")
    measured = analysis.get("measured")
    achieved = f", the normal run achieved {measured['steps_per_s']:.1f}" if measured else ""
    if analysis.get("source") == "watch":
        achieved = f", its steps ran at {analysis['measured_steps_per_s']:.1f}"
    lines.append(f"bottleneck: {analysis['bottleneck']} — predicted {analysis['predicted_steps_per_s']:.1f} "
                 f"steps/s{achieved}")
    for recommendation in analysis["recommendations"]:
        if analysis.get("source") == "watch":
            how = f" (watch --change-at STEP {recommendation['change']})" if recommendation["change"] else ""
            lines.append(f"→ {recommendation['text']}{how}")
        else:
            lines.append(f"→ {recommendation['text']} (--set {recommendation['change']}: about "
                         f"{recommendation['expected_steps_per_s']:.1f} steps/s)")
    if not analysis["recommendations"]:
        lines.append("no change to recommend")
    return "\n".join(lines)
