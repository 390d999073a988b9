"""`watch SCRIPT [ARGS…]`: run the user's own training script unchanged, under the profiler.

The script's stdout and stderr are its own, and so is the exit code. Ctrl-C reaches the script as
it would from a terminal (this process waits, as a shell does); `--seconds` stops it the same
way once the time is up, and then watch exits 0. The job is recorded as a run is, into `--out`
(by default a new folder beside the app's runs); the summary line goes to stderr, so that the
script's stdout stays the script's.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from cli.common import EXIT_OK
from cli.execute import check_out_dir, summary_line
from core.experiments.run_folders import RunFolders
from core.experiments.watching import WatchedScript, check_script, why_no_steps
from core.engine.live_changes import SERVICE_WORKERS
from core.spec.params import SpecError
from core.spec.pipeline import parse_assignment


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "watch", help="run your own training script unchanged and profile its tf.data input",
        description="Run SCRIPT with ARGS as `python SCRIPT ARGS` would, timing every request to its "
                    "tf.data iterators, and record the job as a run.")
    parser.add_argument("--out", metavar="DIR", help="the run folder (default: a new one in ~/.cache/pipescope/runs)")
    parser.add_argument("--seconds", type=float, metavar="S", help="stop the script after S seconds, as Ctrl-C would")
    parser.add_argument("--change-at", nargs=2, action="append", default=[], metavar=("STEP", "PATH=VALUE"),
                        help="change stages.<id>.<param> (parallelism, a buffer) once the training data has had "
                             "STEP steps, while the script trains (repeatable)")
    parser.add_argument("--allow-data-restart", action="store_true",
                        help="let a change go ahead when the pipeline cannot carry its position over "
                             "(a py_function): the rebuilt pipeline then starts its data again")
    parser.add_argument("script", metavar="SCRIPT", help="the training script")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")
    parser.set_defaults(handler=watch_command)


def watch_command(args) -> int:
    check_script(args.script)
    if args.seconds is not None and args.seconds <= 0:
        raise SpecError(f"--seconds {args.seconds:g}: must be more than 0")
    check_out_dir(args.out)
    folder = Path(args.out) if args.out else RunFolders().new_folder(f"watch-{Path(args.script).stem}")
    watched = WatchedScript(args.script, args.args, folder, args.seconds, changes=_changes(args.change_at),
                            allow_data_restart=args.allow_data_restart).start()
    _wait(watched)
    run, summary = watched.finish()
    name = run.spec.name
    if summary["steps"]:
        sys.stderr.write(summary_line(name, summary, folder) + "\n")
    else:
        sys.stderr.write(f"watch: {why_no_steps(summary)}; files in {folder}\n")
    if watched.stopped_on_time:
        sys.stderr.write(f"watch: stopped {Path(args.script).name} after {args.seconds:g} s, as --seconds asked\n")
        return EXIT_OK
    return watched.exit_code()


def _changes(pairs: list[list[str]]) -> list[tuple[int, str]]:
    """--change-at pairs, checked before the script starts."""
    changes = []
    for step, assignment in pairs:
        if not step.isdigit():
            raise SpecError(f"--change-at {step}: STEP must be a whole number of steps")
        path, _ = parse_assignment(assignment)
        if not path.startswith("stages.") and path != SERVICE_WORKERS:
            raise SpecError(f"--change-at {step} {assignment}: a watched script's pipeline changes as "
                            f"stages.<id>.<param>=VALUE, or moves onto local tf.data service workers as "
                            f"{SERVICE_WORKERS}=N")
        changes.append((int(step), assignment))
    return changes


def _wait(watched: WatchedScript) -> None:
    """Until the script's process ends: Ctrl-C is the script's to handle, SIGTERM is passed on."""
    timer = threading.Timer(watched.seconds, watched.interrupt, kwargs={"on_time": True}) if watched.seconds else None
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to the script as well
    previous_term = signal.signal(signal.SIGTERM, lambda *_: watched.process.terminate())
    try:
        if timer:
            timer.daemon = True
            timer.start()
        watched.process.wait()
    finally:
        if timer:
            timer.cancel()
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
