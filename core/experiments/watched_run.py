"""A watched script as the app runs it: the `LiveRun` its worker thread drives (`watch` in the app, issue 16).

`run()` starts the script's process (`core.experiments.watching.WatchedScript`), which streams its
job into the run folder as a run streams its records; until the process ends, a few times a
second, the steps and stage samples written since the last look are appended to this run's own
`records` and `stage_records` (the files are read from where the last look ended) and run.json's
facts (the imported pipeline, once the script's first request has made it; the device, the
outcome) are taken over. Then the folder's summary, trace and timeline are written as `watch`
writes them. So the app reads a watched job as it reads any run, and the folder is its record:
the app starts no record stream of its own for it.

`request_stop()` is Ctrl-C for the script. What-if changes cannot reach the script yet
(`accepts_changes` is False).
"""
from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Optional

import numpy as np

from core.engine.outcome import RunFailure, RunOutcome, RunStatus
from core.experiments.watching import WatchedScript, check_script
from core.outputs.run_folder import (LoadedRun, apply_batch_sizes, apply_stage_facts, described_by_facts,
                                     read_facts)
from core.outputs.run_json import RUN_JSON
from core.outputs.stages_csv import read_new_samples, stages_csv_tail
from core.outputs.steps_csv import new_step_rows, steps_csv_tail
from core.spec.kinds.from_script import script_placeholder
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, spec_from_dict
from core.spec.records import T_DONE, StageRecords, StepRecords

LOOK_EVERY_S = 0.25  # the script's process writes its records every 0.5 s
STOP_GRACE_S = 10.0  # a script that has not ended this long after Ctrl-C is killed: closing the app must not hang
REWRITTEN = ("the job's records were written again as it ended (its training dataset turned out to be another): "
             "the plots show what was read while it ran; File → Open run… shows the run as recorded")


def check_watch(script: str, cwd: Optional[str]) -> None:
    """A SpecError for a script that is missing or not Python, or a working directory that is not a folder."""
    check_script(script)
    if cwd is not None and not Path(cwd).is_dir():
        raise SpecError(f"{cwd}: the working directory is not a folder")


def split_arguments(line: str) -> list[str]:
    """The script's arguments typed on one line, split as a shell splits them."""
    try:
        return shlex.split(line)
    except ValueError as error:  # an unclosed quote
        raise SpecError(f"the script's arguments: {error} in {line!r}") from None


def placeholder_spec(script: str) -> PipelineSpec:
    """The pipeline a watched script shows until its first request has imported its own."""
    return spec_from_dict(script_placeholder(Path(script).stem or "script"))


class WatchedRun:
    accepts_changes = False  # what-if on a watched job comes with its control channel (issue 16 §6)
    change_pending = False

    def __init__(self, spec: PipelineSpec, script: str, args: list[str], folder, cwd: Optional[str] = None,
                 seconds: Optional[float] = None):
        self.folder = Path(folder)
        self.watched = WatchedScript(script, args, self.folder, seconds, cwd)
        self.spec = spec
        self.records = StepRecords()
        self.stage_records = StageRecords()
        self.outcome = RunOutcome(status=RunStatus.BUILDING)  # until the script's process says it runs
        self.device: Optional[str] = None
        self.device_details: dict = {}
        self.capacity: Optional[int] = None
        self.started_at: Optional[str] = None
        self.extra: dict = {}
        self.closed = False
        self.cpu_split: Optional[dict] = None
        self._steps = steps_csv_tail(self.folder / "steps.csv")
        self._stages = stages_csv_tail(self.folder / "stages.csv")
        self._facts: Optional[dict] = None
        self._unreadable = False  # the files stopped making sense while they grew: the end tells why
        self._started: Optional[float] = None
        self._stop_asked_at: Optional[float] = None

    def target(self) -> tuple[Optional[int], Optional[float]]:
        return None, self.watched.seconds

    def elapsed_s(self) -> float:
        if self.outcome.status.ended:
            return float(self.records.rows()[-1, T_DONE]) if len(self.records) else 0.0
        return time.monotonic() - self._started if self._started else 0.0

    # ------------------------------------------------------------ the worker's thread

    def run(self) -> RunOutcome:
        self._started = time.monotonic()
        self.watched.start()
        if self._stop_asked_at is not None:  # asked before the process was there to hear it
            self.watched.interrupt()
        try:
            while self.watched.process.poll() is None:
                self._read_new()
                self._stop_when_due()
                time.sleep(LOOK_EVERY_S)
        finally:
            if self.watched.process.poll() is None:  # a failure of ours: the script must not outlive its run
                self.watched.process.kill()
                self.watched.process.wait()
        self._read_new()
        if (self.folder / RUN_JSON).is_file():
            self._end(self.watched.finish()[0])
        self._say_how_it_ended()
        return self.outcome

    def request_stop(self) -> None:
        """Ctrl-C for the script, from any thread; once (a second one could cut its closing of the records
        short), then a kill if it has not ended STOP_GRACE_S later."""
        if self._stop_asked_at is None:
            self._stop_asked_at = time.monotonic()
            self.watched.interrupt()

    def request_change(self, new_spec: PipelineSpec) -> None:
        raise SpecError("a watched script takes no what-if change yet")

    def _stop_when_due(self) -> None:
        now = time.monotonic()
        seconds = self.watched.seconds
        if seconds and self._stop_asked_at is None and now - self._started >= seconds:
            self._stop_asked_at = now
            self.watched.interrupt(on_time=True)
        if self._stop_asked_at is not None and now - self._stop_asked_at > STOP_GRACE_S:
            self.watched.process.kill()  # what it streamed is kept; the end says it was cut off

    def _read_new(self) -> None:
        """The steps and samples written since the last look, then the facts that describe them."""
        if self._unreadable or not (self.folder / RUN_JSON).is_file():
            return  # not yet: the process makes the CSV files, then run.json
        try:
            new_rows = list(new_step_rows(self._steps, first_step=len(self.records)))
            read_new_samples(self._stages, self.stage_records)
            facts = read_facts(self.folder)  # after the rows: written after them, it has their batch sizes
            first_step = len(self.records)
            for rows in new_rows:
                apply_batch_sizes(rows, facts, first_step)
                self.records.extend(rows)
                first_step += len(rows)
            if facts != self._facts:
                self._take_facts(facts)
        except (ValueError, OSError):  # SpecError too: a file that stopped making sense; the end says why
            self._unreadable = True

    def _take_facts(self, facts: dict, final: bool = False) -> None:
        self._facts = facts
        described = described_by_facts(self.folder, facts)
        if not final and described["outcome"].status.ended:
            described["outcome"].status = RunStatus.RUNNING  # ended for the app once the process has
        for name, value in described.items():
            setattr(self, name, value)
        apply_stage_facts(self.stage_records, facts)

    def _end(self, recorded: LoadedRun) -> None:
        """The process has ended and the folder's files are final: the run is as they have it."""
        self._take_facts(read_facts(self.folder), final=True)
        apply_batch_sizes(self.records.rows(), self._facts)  # a batch size that came after its rows were read
        if self._unreadable or not np.array_equal(self.records.rows(), recorded.records.rows()):
            self.outcome.warnings.append(REWRITTEN)

    def _say_how_it_ended(self) -> None:
        code = self.watched.exit_code()
        if not self.outcome.status.ended:  # killed, or it crashed, before it closed its records
            self.outcome.status = RunStatus.FAILED
            self.outcome.error = RunFailure(f"the script's process ended (exit code {code}) without closing its "
                                            "records: what it streamed is kept, its last second may be missing")
        elif self.watched.stopped_on_time and self.outcome.status is RunStatus.STOPPED:
            self.outcome.status = RunStatus.FINISHED  # it ran for the seconds it was given
        elif code and self.outcome.status is RunStatus.FINISHED:
            self.outcome.warnings.append(f"{os.path.basename(self.watched.script)} exited with code {code}")
