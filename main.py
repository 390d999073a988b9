"""Pipescope: find where your accelerator waits for data.

`python main.py` opens the desktop app; the other commands run headless.
"""
from __future__ import annotations

import os
import sys

# No TF_CPP_MIN_LOG_LEVEL here: it follows --verbose, set once the arguments are read (core.engine.tf_runtime).
if "TF_FORCE_GPU_ALLOW_GROWTH" not in os.environ:  # GPU memory as needed, here and in child processes
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    os.environ["PIPESCOPE_ADDED_ENV"] = "TF_FORCE_GPU_ALLOW_GROWTH"  # a watched script gets the user's own


def build_parser():
    # Pipescope's modules are imported in the functions, so the environment above is set before any loads.
    from cli import (analyze_command, codegen_command, compare_command, data_commands, gui_command, report_command,
                     run_command, service_command, sweep_command, tune_command, watch_command)
    from cli.common import CommandParser, OneLineParser, add_global_options

    parser = OneLineParser(prog="pipescope", description="Profile TensorFlow input pipelines.")
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", parser_class=CommandParser)
    gui_command.add_parser(subparsers)
    run_command.add_parser(subparsers)
    report_command.add_parser(subparsers)
    compare_command.add_parser(subparsers)
    analyze_command.add_parser(subparsers)
    sweep_command.add_parser(subparsers)
    tune_command.add_parser(subparsers)
    codegen_command.add_parser(subparsers)
    watch_command.add_parser(subparsers)
    service_command.add_parser(subparsers)
    data_commands.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UsageError, print_error  # deferred, as in build_parser
    from core.engine.tf_runtime import let_tensorflow_log
    from core.spec.params import SpecError

    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_arguments(argv)
        if args.verbose:
            let_tensorflow_log()
        return args.handler(args)
    except (UsageError, SpecError) as error:
        print_error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `main.py presets | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0


def parse_arguments(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args if args.command else parser.parse_args([*argv, "gui"])  # no command (or only options): the app


def exit_now_if_work_left_in_flight(code: int) -> None:
    """A run that ended on time or on a stop may leave an element in flight (a tf.data `next()`
    cannot be cancelled), or an iterator still being released (core.engine.feeders: tf.data's
    autotuning thread may hold it up to a minute). Its files are written by now; waiting for it, or
    for TensorFlow's threads at interpreter shutdown, would only hang the exit."""
    import threading

    from core.engine.feeders import PRODUCER_THREAD, RELEASE_THREAD  # deferred, as in build_parser
    from core.engine.runner import STEPPING_THREAD

    if any(thread.name.startswith((STEPPING_THREAD, PRODUCER_THREAD, RELEASE_THREAD)) and thread.is_alive()
           for thread in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    exit_code = main()
    if "core.engine.runner" in sys.modules:
        exit_now_if_work_left_in_flight(exit_code)
    sys.exit(exit_code)
