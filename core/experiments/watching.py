"""Watching a user's training script (`watch`, issue 16), from Pipescope's side of the process line.

`WatchedScript` starts the script's process (`core.experiments.watch_child`) with the same
Python, streaming its job into a run folder; the folder is the only channel. Once the process has
ended, however it ended, `finish()` writes the summary, trace and timeline from what was streamed,
as `report` would, with the watch's own facts: `source: "watch"`, the script, its argv and the
imported pipeline.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

from core.analysis.watched_bottleneck import analyze_watched
from core.outputs.run_files import rebuild_run_files
from core.outputs.run_folder import LoadedRun, load_run
from core.spec.params import SpecError

PIPESCOPE_ROOT = Path(__file__).resolve().parents[2]
ADDED_ENV = "PIPESCOPE_ADDED_ENV"  # main.py lists there what it set that the user had not
NOTHING_ITERATED = "no tf.data iterator was used, nothing to profile"
_CHILD = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from core.experiments.watch_child import main; "
          "sys.path.remove(sys.path[0]); sys.exit(main(sys.argv[1:]))")


def check_script(script: str) -> None:
    """A SpecError naming the script when it is missing or not Python."""
    path = Path(script)
    if not path.is_file():
        raise SpecError(f"{script}: no such script" if not path.exists() else f"{script}: not a file")
    try:
        source = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise SpecError(f"{script}: cannot read the script ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{script}: not a Python script (binary, not UTF-8 text)") from None
    try:
        compile(source, script, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise SpecError(f"{script}: not a Python script (line {error.lineno}: {error.msg})") from None
    except ValueError as error:  # source with a NUL byte
        raise SpecError(f"{script}: not a Python script ({error})") from None


def script_environment() -> dict:
    """The environment the user gave Pipescope, without what Pipescope added for itself."""
    environment = dict(os.environ)
    for name in environment.pop(ADDED_ENV, "").split(","):
        environment.pop(name, None)
    return environment


def analyze_watched_folder(folder) -> dict:
    """analysis.json for the watched job recorded in `folder`, from what tf.data measured as it trained."""
    run = load_run(folder)
    if run.extra.get("source") != "watch":
        raise SpecError(f"{folder}: a run folder of a built-in pipeline: analyze its pipeline file (run.json's "
                        "spec) instead; a folder is analyzed only for a watched script")
    return analyze_watched_run(run)


def analyze_watched_run(run) -> dict:
    """analysis.json's dict for a watched job (recorded, or still training: its records so far); SpecError
    when there is nothing to analyze yet."""
    spec = run.spec  # one look: a job that trains has it replaced when a change is made
    warmup = spec.run["warmup_steps"]
    steps = run.records.snapshot()
    if not spec.stages:
        raise SpecError("the script's pipeline is not imported yet: analyze once its training data has had "
                        "its first steps")
    if len(steps) < warmup + 2:
        raise SpecError(f"{len(steps)} step(s) recorded: analyze once the job has had a few more")
    stage_records = run.stage_records
    samples = stage_records.snapshot()  # before the ids: every stage a sample names is among them then
    stage_ids, details = list(stage_records.stage_ids), dict(stage_records.details)
    cores = (run.cpu_split or {}).get("cores") or os.cpu_count() or 1
    return analyze_watched(spec, samples, stage_ids, details, steps, warmup, cores)


def why_no_steps(summary: dict) -> str:
    """One line for a watched job that recorded no step."""
    if summary.get("not_measured"):
        return summary["not_measured"]
    return summary["nothing_measured"] if summary.get("datasets") else NOTHING_ITERATED


class WatchedScript:
    def __init__(self, script: str, args: list[str], folder: Path, seconds: Optional[float] = None,
                 cwd: Optional[str] = None, changes: tuple = (), allow_data_restart: bool = False):
        """`changes`: (step, "PATH=VALUE") pairs to make while the script trains (`--change-at`)."""
        self.script, self.args, self.folder, self.seconds = script, list(args), Path(folder), seconds
        self.cwd = cwd
        self.changes, self.allow_data_restart = list(changes), allow_data_restart
        self.process: Optional[subprocess.Popen] = None
        self.stopped_on_time = False

    def start(self) -> "WatchedScript":
        script = os.path.abspath(os.path.join(self.cwd or ".", self.script))
        command = [sys.executable, "-c", _CHILD, str(PIPESCOPE_ROOT), str(self.folder.resolve()),
                   *self._child_options(), script, *self.args]
        self.process = subprocess.Popen(command, cwd=self.cwd, env=script_environment())
        return self

    def _child_options(self) -> list[str]:
        options = ["--seconds", str(self.seconds)] if self.seconds else []
        for step, assignment in self.changes:
            options += ["--change-at", str(step), assignment]
        return options + (["--allow-data-restart"] if self.allow_data_restart else [])

    def interrupt(self, on_time: bool = False) -> None:
        """Ctrl-C for the script: it ends as a KeyboardInterrupt ends it, and its records are closed."""
        if self.process is not None and self.process.poll() is None:
            self.stopped_on_time = self.stopped_on_time or on_time
            self.process.send_signal(signal.SIGINT)

    def exit_code(self) -> int:
        """The script's exit code; a process ended by a signal gives 128 + the signal's number."""
        code = self.process.returncode
        return 128 - code if code < 0 else code

    def finish(self) -> tuple[LoadedRun, dict]:
        """The run folder's summary, trace and timeline from what the job streamed (run.json holds the
        watch's own facts from its first version on, so a killed job keeps them too)."""
        return rebuild_run_files(self.folder, keep_a_closed_trace=True)
