"""Drive a core Run on a worker thread with a progress line; Ctrl-C stops it cleanly."""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from cli.progress import ProgressBar
from core.spec.params import SpecError
from core.engine.outcome import RunStatus
from core.engine.runner import Run


def _progress_detail(run: Run) -> str:
    done = len(run.records)
    elapsed = run.elapsed_s()
    rate = done / elapsed if elapsed > 0 else 0.0
    if run.outcome.status in (RunStatus.PENDING, RunStatus.BUILDING):
        return "building the pipeline"
    return f"{done} steps, {rate:.1f} steps/s" if run.outcome.status is RunStatus.RUNNING else run.outcome.status


def _fraction(run: Run) -> float:
    steps, seconds = run.target()
    if steps:
        return len(run.records) / steps
    return run.elapsed_s() / seconds if seconds else 0.0


def execute(run: Run, label: str, show_progress: bool = True) -> bool:
    """Run to the end; returns True when interrupted by Ctrl-C."""
    # An Event, not Thread.join: a join interrupted by Ctrl-C can mark a still-running thread as finished.
    finished = threading.Event()

    def work() -> None:
        try:
            run.run()
        except BaseException as error:  # Run reports failures itself; this is a last resort
            run.outcome.status, run.outcome.error = RunStatus.FAILED, error
        finally:
            finished.set()

    bar = ProgressBar(label) if show_progress else None
    interrupted = False
    threading.Thread(target=work, name="pipescope-run", daemon=True).start()
    stalls = StallReporter(run, bar)
    warned = False
    try:
        while not finished.wait(timeout=0.2):
            warned = warned or _say_warnings(run, bar)
            if bar:
                bar.update(_fraction(run), _progress_detail(run))
            stalls.report()
    except KeyboardInterrupt:
        interrupted = True
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not lose the data
        try:
            run.request_stop()
            finished.wait(timeout=30.0)
        finally:
            signal.signal(signal.SIGINT, previous)
    if not warned:
        _say_warnings(run, bar)
    stalls.report()
    if bar:
        bar.finish(_fraction(run), _progress_detail(run))
    return interrupted


def _say_warnings(run: Run, bar) -> bool:
    """The run's start-up warnings on stderr, once they are known; True when said."""
    if run.outcome.status is RunStatus.PENDING:
        return False
    for line in run.outcome.warnings:
        say_beside(bar, line)
    return True


def say_beside(bar, line: str) -> None:
    """A line on stderr that a progress bar redrawn in place does not swallow."""
    if bar and bar.interactive:
        sys.stderr.write("\n")
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class StallReporter:
    """One stderr line when a stall begins and one when it ends, as the run's supervisor records them."""

    def __init__(self, run: Run, bar):
        self.run, self.bar = run, bar
        self._reported: dict[int, bool] = {}  # index in run.outcome.stalls → reported as over

    def report(self) -> None:
        for index, stall in enumerate(list(self.run.outcome.stalls)):
            over = not stall.ongoing
            if self._reported.get(index) == over:
                continue
            self._reported[index] = over
            say_beside(self.bar, f"stall: {stall.describe()}" + ("" if over else "; the run goes on"))


def check_out_dir(out_dir, option: str = "--out") -> None:
    """Fail before a run, not after it, when its files could not be written."""
    if out_dir is None:
        return
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpecError(f"{option} {out_dir}: cannot create the folder ({error.strerror})") from None
    if not os.access(path, os.W_OK):
        raise SpecError(f"{option} {out_dir}: the folder is not writable")


def summary_line(name: str, summary: dict, out_dir) -> str:
    if not summary["steps"]:
        return f"{name}: {summary['nothing_measured']}"
    step = summary["step_ms"]
    where = f"; files in {out_dir}" if out_dir else ""
    return (
        f"{name}: {summary['steps']} steps on {summary['device']} in {summary['wall_s']:.2f} s — "
        f"{summary['steps_per_s']:.1f} steps/s, {summary['examples_per_s']:.0f} examples/s, "
        f"step p50 {step['p50']:.2f} ms, waiting {100 * summary['idle_fraction']:.1f}% "
        f"({summary['verdict']}){where}"
    )
