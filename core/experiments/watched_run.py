"""A watched script as the app runs it: the `LiveRun` its worker thread drives (`watch` in the app, issue 16).

`run()` starts the script's process (`core.experiments.watching.WatchedScript`), which streams its
job into the run folder as a run streams its records; until the process ends, a few times a
second, the steps and stage samples written since the last look are appended to this run's own
`records` and `stage_records` (the files are read from where the last look ended) and run.json's
facts (the imported pipeline, once the script's first request has made it; the device, the
outcome) are taken over. Then the folder's summary, trace and timeline are written as `watch`
writes them. So the app reads a watched job as it reads any run, and the folder is its record:
the app starts no record stream of its own for it.

`request_stop()` is Ctrl-C for the script. `request_change(new_spec)` is a what-if edit: once the
job's pipeline is imported (`accepts_changes`), the values that differ and can change while the
script trains (a stage's parallelism, buffer, cycle or block length) are appended to the run
folder's change channel (`core.experiments.change_channel`), for the script's process to make at
its next step; anything else is refused, and nothing is sent. A pipeline whose position cannot be
carried over (it runs Python) would start its data again: the change is then asked about
(`RestartQuestion`) and sent only with `allow_data_restart`. A change stays pending until run.json
has it made (`changes`) or refused (a warning that says so).
"""
from __future__ import annotations

import os
import shlex
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

from core.engine.live_changes import CHANGEABLE, NEVER_MADE, SERVICE_WORKERS
from core.engine.outcome import RunFailure, RunOutcome, RunStatus
from core.experiments.change_channel import ChangeWriter
from core.experiments.watching import WatchedScript, check_script
from core.outputs.run_folder import (LoadedRun, apply_batch_sizes, apply_stage_facts, described_by_facts,
                                     read_facts)
from core.outputs.run_json import RUN_JSON
from core.outputs.stages_csv import read_new_samples, stages_csv_tail
from core.outputs.steps_csv import new_step_rows, steps_csv_tail
from core.spec.diff import ADDED, SET, describe_differences
from core.spec.kinds.from_script import script_placeholder
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, spec_from_dict
from core.spec.records import T_DONE, StageRecords, StepRecords

LOOK_EVERY_S = 0.25  # the script's process writes its records every 0.5 s
STOP_GRACE_S = 10.0  # a script that has not ended this long after Ctrl-C is killed: closing the app must not hang
POSITION_CARRIED_OVER = "position_carried_over"  # in the job's extra once its training pipeline is imported
REFUSED = "refused"  # in a run warning: a change the job could not make
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


class RestartQuestion(SpecError):
    """A change the job can make only by starting its data again: asked before it is sent."""


def changeable_assignments(before: PipelineSpec, after: PipelineSpec) -> list[str]:
    """`PATH=VALUE` for each value that differs from `before` to `after`; SpecError naming the differences
    that cannot change while the script trains, when there are any (then nothing is to be sent)."""
    assignments, fixed = [], []
    for difference in describe_differences(before, after):
        parts = difference.path.split(".")
        if (difference.change == SET and len(parts) == 3 and parts[0] == "stages" and parts[2] in CHANGEABLE
                and difference.b is not None):
            assignments.append(difference.assignment())
        elif _moves_onto_service(difference, after):
            assignments.append(f"{SERVICE_WORKERS}={difference.b['workers']}")
        else:
            fixed.append(difference.text)
    if fixed:
        allowed = f"{', '.join(CHANGEABLE[:-1])} or {CHANGEABLE[-1]}"
        raise SpecError(f"{'; '.join(fixed)}: a watched script's pipeline changes only in a stage's {allowed} "
                        "while it trains (nothing was sent)")
    return assignments


def _moves_onto_service(difference, after: PipelineSpec) -> bool:
    """A tf_data_service stage of local workers added last: the whole pipeline onto them
    (`core.engine.live_changes`)."""
    stage = difference.b
    return (difference.change == ADDED and stage.get("kind") == "tf_data_service" and after.stages[-1].kind
            == "tf_data_service" and stage.get("workers", 0) >= 1 and not stage.get("dispatcher")
            and not stage.get("port"))


class WatchedRun:
    changeable = CHANGEABLE  # the stage parameters a change may set while the script trains

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
        self._channel = ChangeWriter(self.folder)
        self._asking = threading.Lock()  # requests come from the app's thread; its answers from the worker's
        self._spec_asked: Optional[PipelineSpec] = None  # the pipeline once the changes sent are made
        self._answers_awaited = 0  # the changes made or refused once every request sent has its answer

    @property
    def accepts_changes(self) -> bool:
        """Once the job's training pipeline is imported (a placeholder has no stage to change), while it runs."""
        return self.outcome.status is RunStatus.RUNNING and bool(self.spec.stages)

    @property
    def change_pending(self) -> bool:
        """A change sent waits for run.json to have it made or refused."""
        return not self.outcome.status.ended and self._unanswered() > 0

    def spec_after_pending(self) -> PipelineSpec:
        """The pipeline as the job will run it once the changes sent are made (its own while none waits)."""
        spec_asked = self._spec_asked
        return spec_asked if spec_asked is not None and self.change_pending else self.spec

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
        if self._unanswered():
            self.outcome.warnings.append(f"{self._unanswered()} change(s) sent from the app not made: the script "
                                         "ended before its training data's next step")
        return self.outcome

    def request_stop(self) -> None:
        """Ctrl-C for the script, from any thread; once (a second one could cut its closing of the records
        short), then a kill if it has not ended STOP_GRACE_S later."""
        if self._stop_asked_at is None:
            self._stop_asked_at = time.monotonic()
            self.watched.interrupt()

    def request_change(self, new_spec: PipelineSpec, allow_data_restart: bool = False) -> None:
        """Send the script what differs from the pipeline as it will run it, to be made at its next step.
        SpecError for a difference that cannot change while it trains; RestartQuestion when the change
        would start the data again and `allow_data_restart` is not given. Nothing is sent after either."""
        if not self.accepts_changes:
            raise SpecError("the script's pipeline is not imported yet: it can change once its training data "
                            "has had its first steps")
        with self._asking:
            assignments = changeable_assignments(self.spec_after_pending(), new_spec)
            if not assignments:
                return
            moves = any(assignment.startswith(SERVICE_WORKERS) for assignment in assignments)
            if moves and not allow_data_restart:
                raise RestartQuestion(f"On tf.data service workers, {self.spec.name}'s pipeline starts its data "
                                      "again: each worker makes it from the start (the position cannot be handed "
                                      "to them). The servers listen on every network interface, with no "
                                      f"authentication, while the script runs. Apply {', '.join(assignments)}?")
            if self.extra.get(POSITION_CARRIED_OVER) is False and not allow_data_restart:
                raise RestartQuestion(
                    f"{self.spec.name}'s pipeline holds a py_function or numpy_function (or reads a Python "
                    "generator), so its position cannot be carried over: the rebuilt pipeline would start its "
                    f"data again. Apply {', '.join(assignments)} anyway?")
            if not self.change_pending:
                self._answers_awaited = self._answered()
            try:
                self._channel.send(assignments, allow_data_restart)
            except OSError as error:
                raise SpecError(f"the change could not be sent to the script ({error})") from None
            self._answers_awaited += 1
            self._spec_asked = new_spec

    def changes_refused(self) -> int:
        """The changes the job has refused so far."""
        return _refusals(self.outcome)

    def _answered(self) -> int:
        outcome = self.outcome  # replaced whole when run.json changes: one look
        return len(outcome.changes) + _refusals(outcome)

    def _unanswered(self) -> int:
        return max(0, self._answers_awaited - self._answered())

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


def _refusals(outcome: RunOutcome) -> int:
    """The run's warnings that say a change was refused, or never made because the script ended first."""
    return sum(REFUSED in warning or NEVER_MADE in warning for warning in outcome.warnings)
