"""`gui`: the desktop app (its modules, and Qt, load only when asked for)."""
from __future__ import annotations

import sys

from cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_spec_arguments, resolve_spec
from core.experiments.watched_run import check_watch, split_arguments


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="the desktop app (default)")
    add_spec_arguments(parser, overrides=False)
    parser.add_argument("--run", action="store_true", help="start the run at once")
    parser.add_argument("--steps", type=int, metavar="N", help="steps for the run")
    parser.add_argument("--screenshot", metavar="FILE.png", help="save a window screenshot when the run ends")
    parser.add_argument("--out", metavar="DIR", help="write the run's files when it ends")
    parser.add_argument("--quit-after-run", action="store_true", help="quit when the run ends")
    parser.add_argument("--watch", metavar="SCRIPT",
                        help="watch your own training script at once instead of running the pipeline, as File → "
                             "Watch script… does (with --screenshot, --out and --quit-after-run as for --run)")
    parser.add_argument("--watch-args", metavar='"ARGS"', default="",
                        help="the watched script's arguments, on one line as a shell takes them")
    parser.set_defaults(handler=gui_command)


def gui_command(args) -> int:
    from gui.qt_app import has_display  # deferred: the other commands never load the app's modules

    if not has_display():
        sys.stderr.write("error: no display found (DISPLAY is unset); run headless instead, e.g. "
                         "./run.sh run --preset seed_tf_data --steps 300\n")
        return EXIT_BAD_INPUT
    if args.watch:  # bad input is said before the window opens, as `watch` says it
        check_watch(args.watch, None)
        split_arguments(args.watch_args)
    spec = resolve_spec(args, required=False)
    path = args.spec if spec is not None and args.spec else None
    from gui.app import AppResult, run_app  # Qt loads only when the app is asked for

    codes = {AppResult.DONE: EXIT_OK, AppResult.FAILED: EXIT_FAILED, AppResult.BAD_INPUT: EXIT_BAD_INPUT,
             AppResult.INTERRUPTED: EXIT_INTERRUPTED}
    return codes[run_app(spec, path, args)]
