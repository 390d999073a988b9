"""`report DIR`: rebuild summary.json, trace.json and timeline.png from what a run streamed to DIR.

Works after a kill or a crash too: the files hold the run up to its last second. The summary
line goes to stdout as `run` prints it; a run that was cut off is said on stderr.
"""
from __future__ import annotations

import sys

from cli.common import EXIT_OK
from cli.execute import summary_line
from core.outputs.run_files import rebuild_run_files


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="rebuild a run folder's summary, trace and timeline from its records")
    parser.add_argument("folder", metavar="DIR", help="a folder `run --out DIR` wrote (also one whose run was killed)")
    parser.set_defaults(handler=report_command)


def report_command(args) -> int:
    run, summary = rebuild_run_files(args.folder)
    if not run.closed:
        sys.stderr.write(f"report: the run in {args.folder} was cut off (killed or crashed) while {run.outcome.status}: "
                         f"rebuilt from the {len(run.records)} steps on disk\n")
    print(summary_line(run.spec.name, summary, args.folder))
    return EXIT_OK
