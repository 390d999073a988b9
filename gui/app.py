"""`run_app(args)`: open the main window, optionally run once and quit (the scripted mode).

Scripted mode (`--run [--steps N] [--screenshot FILE] [--out DIR] [--quit-after-run]`)
starts the run at once; when it ends it saves the window screenshot and the
run's files (summary.json with `ui_lag_ms`), then quits with the CLI's exit
codes: 0 done, 1 the pipeline failed, 2 it cannot run as described.
"""
from __future__ import annotations

import signal
import sys
import traceback

from PyQt5 import QtCore

from cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, print_error, resolve_spec
from core.params import SpecError
from core.presets import load_preset
from core.spec import apply_overrides

DEFAULT_PRESET = "seed_tf_data"


# The GUI thread paints in Python holding the GIL; the run's stepping thread, wanting it back
# after a C++ call, waits up to the switch interval (5 ms by default) — time that lands in its
# step records. A shorter interval bounds that wait.
GIL_SWITCH_INTERVAL_S = 0.0005


def run_app(args) -> int:
    from gui.qt_app import ensure_qapp

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    spec = resolve_spec(args, required=False)
    path = args.spec if spec is not None and args.spec else None
    if spec is None:
        spec = load_preset(DEFAULT_PRESET)
    if args.steps is not None:
        spec = apply_overrides(spec, [("run.steps", args.steps), ("run.seconds", None)])
    app = ensure_qapp()
    from gui.main_window import MainWindow

    window = MainWindow()
    window.load_spec(spec, path)
    window.show()
    _keep_alive_on_slot_errors(window)
    interrupted = _stop_on_ctrl_c(app, window)
    code = app.exec_() if not args.run else _run_scripted(app, window, args)
    return EXIT_INTERRUPTED if interrupted["yes"] else code


def _keep_alive_on_slot_errors(window) -> None:
    """PyQt aborts the process on an exception escaping a slot unless an excepthook is set."""

    def report(kind, error, trace):
        traceback.print_exception(kind, error, trace)
        window.show_internal_error(f"{kind.__name__}: {error}")

    sys.excepthook = report


def _stop_on_ctrl_c(app, window) -> dict:
    """Ctrl-C in the terminal stops the run (its files are still written), then quits with 130."""
    interrupted = {"yes": False}

    def on_sigint(*_):
        interrupted["yes"] = True
        if window.controller.running:
            window.controller.run_finished.connect(lambda _run: app.exit(EXIT_INTERRUPTED))
            window.controller.stop()
        else:
            app.exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGINT, on_sigint)
    # Python runs signal handlers only between bytecodes: wake it while Qt's loop waits.
    waker = QtCore.QTimer(app)
    waker.setObjectName("pipescope-signal-waker")
    waker.timeout.connect(lambda: None)
    waker.start(250)
    return interrupted


def _run_scripted(app, window, args) -> int:
    outcome = {"code": EXIT_OK}

    def finished(run) -> None:
        app.processEvents()  # paint the final plots before the screenshot
        try:
            if args.screenshot:
                window.export_actions.window_png(args.screenshot)
            if args.out:
                window.export_actions.run_files(args.out)
        except OSError as error:
            print_error(str(error))
            outcome["code"] = EXIT_BAD_INPUT
        error = run.outcome.error
        if error is not None:
            print_error(str(error))
            outcome["code"] = EXIT_BAD_INPUT if isinstance(error, SpecError) else EXIT_FAILED
        if args.quit_after_run:
            window.document.undo_stack.setClean()  # nothing to ask about when quitting a script
            window.close()
            app.exit(outcome["code"])

    window.controller.run_finished.connect(finished)
    if not window.start_run():
        print_error(window.document.first_problem() or "cannot start the run")
        window.close()
        return EXIT_BAD_INPUT
    code = app.exec_()
    return outcome["code"] if args.quit_after_run else code
