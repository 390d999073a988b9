"""A watched script as the app's worker drives it (core.experiments.watched_run), without Qt: a real script
(tests/watch_scripts) runs in its own process while the run reads its growing folder."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.engine.run_protocol import LiveRun
from core.experiments.watched_run import WatchedRun, check_watch, placeholder_spec, split_arguments
from core.outputs.run_folder import load_run
from core.spec.params import SpecError
from tests.test_run_protocol import members
from tests.test_watch import SCRIPTS, summary_of

CUSTOM_LOOP = str(SCRIPTS / "custom_loop.py")


def start(run: WatchedRun) -> threading.Thread:
    thread = threading.Thread(target=run.run, name="watched-run-test")
    thread.start()
    return thread


def watched(tmp_path, *args: str) -> WatchedRun:
    return WatchedRun(placeholder_spec(CUSTOM_LOOP), CUSTOM_LOOP, list(args), tmp_path / "run", cwd=str(tmp_path))


def test_it_is_a_live_run_that_takes_no_change_yet(tmp_path):
    run = watched(tmp_path)
    assert sorted(name for name in members(LiveRun) if not hasattr(run, name)) == [] and isinstance(run, LiveRun)
    assert not run.accepts_changes and run.target() == (None, None) and run.outcome.status == "building"
    with pytest.raises(SpecError, match="no what-if change"):
        run.request_change(run.spec)


def test_its_records_grow_while_the_script_runs_and_end_as_the_folder_has_them(tmp_path, leak_guard):
    run = watched(tmp_path, "--epochs", "3", "--examples", "160")
    assert run.spec.name == "custom_loop"
    thread, counts = start(run), []
    while thread.is_alive():
        counts.append(len(run.records))
        time.sleep(0.05)
    thread.join()
    assert run.outcome.status == "finished", run.outcome.error
    assert any(0 < count < len(run.records) for count in counts)  # seen while it ran, not only at the end
    recorded = load_run(tmp_path / "run")
    assert len(run.records) == 30 and np.array_equal(run.records.rows(), recorded.records.rows())
    assert np.array_equal(run.stage_records.rows(), recorded.stage_records.rows())
    assert run.spec == recorded.spec and run.spec.stage("slow_read").origin["line"] == 27  # the script's pipeline
    assert run.device == recorded.device and run.extra["source"] == "watch" and run.closed
    assert summary_of(tmp_path / "run")["steps"] == 30  # the folder finished as `watch` finishes it


def test_stop_is_ctrl_c_for_the_script_and_keeps_what_it_recorded(tmp_path, leak_guard):
    run = watched(tmp_path, "--epochs", "100", "--examples", "160")
    thread = start(run)
    deadline = time.monotonic() + 120
    while len(run.records) < 5 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    run.request_stop()
    thread.join()
    assert run.outcome.status == "stopped" and run.outcome.error is None
    assert 5 <= len(run.records) < 1000
    assert np.array_equal(run.records.rows(), load_run(tmp_path / "run").records.rows())
    assert summary_of(tmp_path / "run")["status"] == "stopped"


def test_a_bad_script_or_working_directory_is_said_before_anything_starts(tmp_path):
    (tmp_path / "notes.py").write_text("this is not python(\n")
    with pytest.raises(SpecError, match="no such script"):
        check_watch(str(tmp_path / "missing.py"), None)
    with pytest.raises(SpecError, match="not a Python script"):
        check_watch(str(tmp_path / "notes.py"), None)
    with pytest.raises(SpecError, match="working directory"):
        check_watch(CUSTOM_LOOP, str(tmp_path / "nowhere"))
    check_watch(CUSTOM_LOOP, str(tmp_path))


def test_the_scripts_arguments_are_one_line_split_as_a_shell_splits_it():
    assert split_arguments("--epochs 3 --name 'my run'") == ["--epochs", "3", "--name", "my run"]
    with pytest.raises(SpecError, match="arguments: No closing quotation"):
        split_arguments("--name 'my run")
