"""Processes that take turns on the machine, a short slice each, so that two jobs compared see the same
machine: on a shared VM whose speed drifts over seconds, jobs run one after the other are compared across
its moods, and a round of a few seconds each reads ±20 % from the jobs' own differences.

Each process runs in a session of its own, stopped (SIGSTOP to its group, so its threads stop with it)
while another has its turn. A step that spans a pause reads long on its own clock; compare median steps,
with slices of many steps, and such steps change nothing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def take_turns(commands: dict[str, list[str]], slice_s: float, timeout_s: float = 900.0, cwd=None
               ) -> dict[str, Finished]:
    """Run every command to its end, a `slice_s` turn each in the order given, until all have ended.
    Output goes to files, not pipes: a stopped reader cannot drain a pipe, and a full one stalls its writer."""
    with tempfile.TemporaryDirectory() as folder:
        outputs = {name: (open(os.path.join(folder, f"{index}.out"), "w+"), open(os.path.join(folder, f"{index}.err"), "w+"))
                   for index, name in enumerate(commands)}
        processes = {}
        try:
            for name, command in commands.items():
                out, err = outputs[name]
                processes[name] = subprocess.Popen(command, stdout=out, stderr=err, text=True, cwd=cwd,
                                                   start_new_session=True)
                _signal(processes[name], signal.SIGSTOP)
            _rotate(processes, slice_s, timeout_s)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    _signal(process, signal.SIGKILL)
                    _signal(process, signal.SIGCONT)
                    process.wait()
        return {name: Finished(processes[name].returncode, _read(out), _read(err))
                for name, (out, err) in outputs.items()}


def _rotate(processes: dict[str, subprocess.Popen], slice_s: float, timeout_s: float) -> None:
    waiting, turns = list(processes.values()), 0
    while waiting:
        for process in list(waiting):
            _signal(process, signal.SIGCONT)
            try:
                process.wait(timeout=slice_s)
                waiting.remove(process)
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGSTOP)
            turns += 1
        if turns * slice_s > timeout_s:
            raise TimeoutError(f"processes still running after {timeout_s:.0f} s of turns: "
                               + ", ".join(" ".join(p.args[:3]) for p in waiting))


def _signal(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # it has ended, and its group with it


def _read(file) -> str:
    file.seek(0)
    text = file.read()
    file.close()
    return text
