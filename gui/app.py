"""`run_app(spec, path, args)`: open the main window, optionally run once and quit (the scripted mode).

Scripted mode (`--run [--steps N] [--screenshot FILE] [--out DIR] [--quit-after-run]`)
starts the run at once, its records streamed into --out as it goes; when it
ends it saves the window screenshot and the run's files (summary.json with
`ui_lag_ms`), then quits. `--watch SCRIPT [--watch-args "ARGS"]` does the same
for the user's own training script, as File → Watch script… starts it. Otherwise, if the app last ended in the middle of a
run, it offers to open what that run recorded. `run_app` says how it ended as
an `AppResult`; the CLI turns that into its exit code.
"""
from __future__ import annotations

import enum
import signal
import sys
import traceback
from typing import Optional

from PyQt5 import QtCore

from core.outputs.summary import nothing_measured_reason
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, apply_overrides
from core.spec.presets import load_preset

DEFAULT_PRESET = "seed_tf_data"


# The GUI thread paints in Python holding the GIL; the run's stepping thread, wanting it back
# after a C++ call, waits up to the switch interval (5 ms by default) — time that lands in its
# step records. A shorter interval bounds that wait.
GIL_SWITCH_INTERVAL_S = 0.0005


class AppResult(enum.Enum):
    DONE = "done"
    FAILED = "failed"  # the pipeline failed while running
    BAD_INPUT = "bad input"  # it cannot run as described, or its files cannot be written
    INTERRUPTED = "interrupted"  # Ctrl-C in the terminal


def print_error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def run_app(spec: Optional[PipelineSpec], path: Optional[str], args) -> AppResult:
    """The app on `spec` (read from `path`, if from a file; the default preset when None)."""
    from gui.qt_app import ensure_qapp  # deferred, as MainWindow below: widgets load once the app starts

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    if spec is None:
        spec = load_preset(DEFAULT_PRESET)
    if args.steps is not None:
        spec = apply_overrides(spec, [("run.steps", args.steps), ("run.seconds", None)])
    app = ensure_qapp()
    from gui.main_window import MainWindow  # deferred: its modules make widgets, after the QApplication

    window = MainWindow()
    window.load_spec(spec, path)
    window.show()
    _keep_alive_on_slot_errors(window)
    interrupted = _stop_on_ctrl_c(app, window)
    if not (args.run or args.watch):
        QtCore.QTimer.singleShot(0, window.run_folder_actions.offer_to_reopen)  # once the window is up
        app.exec_()
        return AppResult.INTERRUPTED if interrupted["yes"] else AppResult.DONE
    result = _run_scripted(app, window, args)
    return AppResult.INTERRUPTED if interrupted["yes"] else result


def _keep_alive_on_slot_errors(window) -> None:
    """PyQt aborts the process on an exception escaping a slot unless an excepthook is set."""

    def report(kind, error, trace):
        traceback.print_exception(kind, error, trace)
        window.show_internal_error(f"{kind.__name__}: {error}")

    sys.excepthook = report


def _stop_on_ctrl_c(app, window) -> dict:
    """Ctrl-C in the terminal stops the run, a sweep's run and waits for a measurement (as closing the window
    does; the run's files are still written), then quits with 130."""
    interrupted = {"yes": False}

    def on_sigint(*_):
        interrupted["yes"] = True
        window.shutdown_workers()  # waits here: the run's end (run_finished) is said before the loop ends
        app.exit()

    signal.signal(signal.SIGINT, on_sigint)
    # Python runs signal handlers only between bytecodes: wake it while Qt's loop waits.
    waker = QtCore.QTimer(app)
    waker.setObjectName("pipescope-signal-waker")
    waker.timeout.connect(lambda: None)
    waker.start(250)
    return interrupted


def _run_scripted(app, window, args) -> AppResult:
    outcome = {"result": AppResult.DONE}

    def finished(run) -> None:
        app.processEvents()  # paint the final plots before the screenshot
        try:
            if args.screenshot:
                window.export_actions.window_png(args.screenshot)
            if args.out:
                window.export_actions.run_files(args.out)
        except OSError as error:
            print_error(str(error))
            outcome["result"] = AppResult.BAD_INPUT
        error = run.outcome.error
        if error is not None:
            print_error(str(error))
            outcome["result"] = AppResult.BAD_INPUT if isinstance(error, SpecError) else AppResult.FAILED
        elif not len(run.records) and run.outcome.status != "stopped":  # as `run`: one that measured nothing fails
            print_error(f"{run.spec.name}: {nothing_measured_reason(run.outcome)}")
            outcome["result"] = AppResult.FAILED
        if args.quit_after_run:
            window.document.undo_stack.setClean()  # nothing to ask about when quitting a script
            window.close()
            app.exit()

    window.controller.run_finished.connect(finished)
    problem = _start(window, args)
    if problem:
        print_error(problem)
        window.close()
        return AppResult.BAD_INPUT
    app.exec_()
    return outcome["result"] if args.quit_after_run else AppResult.DONE


def _start(window, args) -> Optional[str]:
    """Start the run, or watch the script, recorded into --out as it goes (as `run --out` and `watch --out`
    record); what kept it from starting, if anything."""
    if args.watch:
        try:
            window.watch_actions.watch_script(args.watch, args.watch_args, record_to=args.out)
            return None
        except (SpecError, OSError) as error:
            return str(error)
    if window.start_run(record_to=args.out):
        return None
    return window.document.first_problem() or "cannot start the run"
