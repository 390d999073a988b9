"""`run`: a headless profiling run, progress on stderr, a one-line summary on stdout."""
from __future__ import annotations

import sys

from cli.common import (EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_spec_arguments,
                        print_error, resolve_spec)
from cli.execute import check_out_dir, execute, summary_line
from core.outputs.run_files import start_streaming, write_run_files
from core.outputs.summary import build_summary, profile_line
from core.spec.params import SpecError
from core.engine.runner import Run
from core.spec.pipeline import apply_overrides, length_overrides, parse_assignment


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="headless profiling run")
    add_spec_arguments(parser)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, metavar="N", help="steps to run (default: the file's run.steps)")
    length.add_argument("--seconds", type=float, metavar="S", help="run for S seconds instead")
    parser.add_argument("--change-at", nargs=2, action="append", default=[], metavar=("STEP", "PATH=VALUE"),
                        help="apply a change at that step without stopping (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="stream steps.csv, stages.csv, trace.json and run.json there as "
                                                     "the run goes, then write summary.json and timeline.png")
    parser.add_argument("--profile-dir", metavar="DIR", help="also keep a tf.profiler capture of run.profile_steps "
                        "steps after the warm-up, with step markers, for TensorBoard / `xprof --logdir DIR`")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=run_command)



def scheduled_changes(spec, pairs) -> dict[int, list]:
    """`--change-at STEP PATH=VALUE` pairs → {step: [(path, value)]}, checked against the spec now."""
    changes: dict[int, list] = {}
    for step_text, assignment in pairs:
        try:
            step = int(step_text)
        except ValueError:
            raise SpecError(f"--change-at {step_text}: STEP must be a whole number") from None
        if step < 0:
            raise SpecError(f"--change-at {step_text}: STEP must be ≥ 0")
        changes.setdefault(step, []).append(parse_assignment(assignment))
    checked = spec
    for step in sorted(changes):
        checked = apply_overrides(checked, changes[step])  # a bad path fails before the run starts
    return changes


def run_command(args) -> int:
    spec = resolve_spec(args)
    spec = apply_overrides(spec, length_overrides(args.steps, args.seconds))
    run = Run(spec, scheduled_changes(spec, args.change_at), profile_dir=args.profile_dir)
    check_out_dir(args.out)
    check_out_dir(args.profile_dir, "--profile-dir")
    stream = start_streaming(run, args.out) if args.out else None
    interrupted = execute(run, spec.name, show_progress=not args.quiet)
    summary = write_run_files(run, args.out, stream=stream) if args.out else build_summary(run)
    print(summary_line(spec.name, summary, args.out))
    if "profile" in summary:
        sys.stderr.write(profile_line(summary["profile"]) + "\n")
    error = run.outcome.error
    if isinstance(error, SpecError):
        print_error(str(error))
        return EXIT_BAD_INPUT
    if error is not None:
        print_error(str(error))
        return EXIT_FAILED
    if interrupted:
        sys.stderr.write("interrupted: the steps recorded so far were kept\n")
        return EXIT_INTERRUPTED
    if not summary["steps"]:  # a run that measured nothing must not pass for one that did
        print_error(f"{spec.name}: {summary['nothing_measured']}")
        return EXIT_FAILED
    return EXIT_OK
