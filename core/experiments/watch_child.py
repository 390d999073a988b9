"""The watched script's process (`watch`, issue 16): Pipescope's hooks, then the script, unchanged.

    python -m core.experiments.watch_child FOLDER [--seconds S] [--change-at STEP PATH=VALUE]…
                                           [--allow-data-restart] SCRIPT [ARGS…]

The script runs as `python SCRIPT ARGS…` would run it: as `__main__`, with its own argv, its
folder first on sys.path, in the working directory it was given, its stdout and stderr the
process's own. The hooks go in once the script imports TensorFlow (and Keras), not before, so that what it
sets first (TF_CPP_MIN_LOG_LEVEL, CUDA_VISIBLE_DEVICES) still counts. The job's records stream
into FOLDER as a run's do; the parent (`core.experiments.watching`) writes the summary from
them, also when this process is killed. What-if changes the app appends to FOLDER's changes.jsonl
(`core.experiments.change_channel`) are read on a thread of their own while the script runs, and
made at the training data's next step boundary. The exit code is the script's; an exception the
script does not catch is printed from the script's first frame on, as Python would print it.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from typing import Callable, Optional

from core.engine.live_changes import ChangeRequest
from core.engine.outcome import RunFailure, RunStatus
from core.engine.watched_job import WatchedJob
from core.experiments.change_channel import ChangePoller
from core.outputs.record_stream import RecordStream
from core.spec.pipeline import parse_assignment

EXIT_INTERRUPTED = 130  # as a shell reports a program that Ctrl-C ended


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `then()` once `module` has been imported, whoever imports it. It stays in place until the
    module runs: TensorFlow looks Keras up (find_spec) before it imports it."""

    def __init__(self, module: str, then: Callable[[], None]):
        self.module, self.then = module, then
        self._finding = False

    def find_spec(self, name, path, target=None):
        if name != self.module or self._finding:
            return None
        self._finding = True  # importlib.util.find_spec below asks every finder again, this one too
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_then_hook(module):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            execute(module)
            self.then()

        spec.loader.exec_module = exec_then_hook
        return spec


def run_script(job: WatchedJob, script: str, args: list[str]) -> tuple[int, RunStatus, Optional[BaseException]]:
    """Run the script as `__main__`; (exit code, how it ended, the error it raised)."""
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        return _exit_code(exit_.code), RunStatus.FINISHED, None
    except KeyboardInterrupt as interrupt:
        _print_from_script(interrupt, script)
        return EXIT_INTERRUPTED, RunStatus.STOPPED, None
    except BaseException as error:  # the script's own failure: its traceback, its exit code
        _print_from_script(error, script)
        return 1, RunStatus.FAILED, RunFailure(f"the script raised {type(error).__name__}: {error}")
    return 0, RunStatus.FINISHED, None


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # sys.exit("message") prints the message and exits 1
    return 1


def _print_from_script(error: BaseException, script: str) -> None:
    """The traceback from the script's first frame on: runpy's and Pipescope's frames are not the user's."""
    tb = error.__traceback__
    script_path = os.path.abspath(script)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script_path:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__)
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    folder, seconds, changes, script, args = _parse(argv)
    job = WatchedJob(script, [script, *args], seconds)
    for request in changes:
        job.changes.add(request)
    for module, install in (("tensorflow", job.install), ("keras", job.install_fit)):
        if module in sys.modules:
            install()
        else:
            sys.meta_path.insert(0, _AfterImport(module, install))
    stream = RecordStream(job, Path(folder)).start()
    poller = ChangePoller(folder, job.changes.add, job.outcome.warnings.append).start()
    signal.signal(signal.SIGINT, _interrupt_noting(job))
    try:
        code, status, error = run_script(job, script, args)
    finally:
        poller.stop()  # before the records close: a change made after would be in no file
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the closing of the records short
    _close(job, stream, write_again=job.end(status, error))
    return code


def _interrupt_noting(job: WatchedJob):
    """Python's own Ctrl-C (a KeyboardInterrupt), noted for the hooks: one that lands where Python swallows
    it is raised again at the script's next request. A script that sets its own handler keeps it."""
    def interrupt(signum, frame):
        job.hooks.interrupted = True
        raise KeyboardInterrupt
    return interrupt


def _close(job: WatchedJob, stream: RecordStream, write_again: bool) -> None:
    """Close the records; written again whole when the training dataset turned out to be another."""
    try:
        stream.close()
        if write_again:
            RecordStream(job, stream.folder).close()
    except OSError as error:
        sys.stderr.write(f"pipescope: the job's files in {stream.folder} stop early ({error})\n")
    finally:
        job.uninstall()


def _parse(argv: list[str]) -> tuple[str, Optional[float], list[ChangeRequest], str, list[str]]:
    """FOLDER [--seconds S] [--change-at STEP PATH=VALUE]… [--allow-data-restart] SCRIPT ARGS…, as
    core.experiments.watching writes it."""
    folder, rest = argv[0], argv[1:]
    seconds, changes, allow_restart = None, [], False
    while rest and rest[0] in ("--seconds", "--change-at", "--allow-data-restart"):
        option = rest.pop(0)
        if option == "--seconds":
            seconds = float(rest.pop(0))
        elif option == "--change-at":
            step, assignment = int(rest.pop(0)), parse_assignment(rest.pop(0))
            changes.append((step, assignment))
        else:
            allow_restart = True
    requests = [ChangeRequest(step, (assignment,), allow_restart) for step, assignment in changes]
    return folder, seconds, requests, rest[0], rest[1:]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
