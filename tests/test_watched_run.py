"""A watched script as the app's worker drives it (core.experiments.watched_run), without Qt: a real script
(tests/watch_scripts) runs in its own process while the run reads its growing folder."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.engine.run_protocol import LiveRun
from core.experiments.change_channel import CHANGES_JSONL
from core.experiments.watched_run import (RestartQuestion, WatchedRun, changeable_assignments, check_watch,
                                          placeholder_spec, split_arguments)
from core.outputs.run_folder import load_run
from core.outputs.run_json import RUN_JSON
from core.spec.params import AUTOTUNE, SpecError
from core.spec.pipeline import apply_overrides, spec_from_dict
from core.spec.records import CONFIG_VERSION
from tests.test_run_protocol import members
from tests.test_watch import SCRIPTS, summary_of

CUSTOM_LOOP = str(SCRIPTS / "custom_loop.py")
SEQUENCE_LOOP = str(SCRIPTS / "sequence_loop.py")
MAP_LINE = next(number for number, line in enumerate(Path(CUSTOM_LOOP).read_text().splitlines(), 1)
                if "dataset.map(slow_read" in line)  # the line its training pipeline's map is made on


def start(run: WatchedRun) -> threading.Thread:
    thread = threading.Thread(target=run.run, name="watched-run-test")
    thread.start()
    return thread


def watched(tmp_path, *args: str, script: str = CUSTOM_LOOP) -> WatchedRun:
    return WatchedRun(placeholder_spec(script), script, list(args), tmp_path / "run", cwd=str(tmp_path))


def wait_for(condition, thread: threading.Thread, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert thread.is_alive(), f"the script ended before {what}"
        assert time.monotonic() < deadline, f"no {what} in {timeout_s} s"
        time.sleep(0.05)


def test_it_is_a_live_run_that_takes_no_change_before_its_pipeline_is_imported(tmp_path):
    run = watched(tmp_path)
    assert sorted(name for name in members(LiveRun) if not hasattr(run, name)) == [] and isinstance(run, LiveRun)
    assert not run.accepts_changes and run.target() == (None, None) and run.outcome.status == "building"
    assert not run.change_pending
    with pytest.raises(SpecError, match="not imported yet"):
        run.request_change(run.spec)


def test_its_records_grow_while_the_script_runs_and_end_as_the_folder_has_them(tmp_path, leak_guard):
    run = watched(tmp_path, "--epochs", "10", "--examples", "160")  # over a second: its folder is written every 0.5 s
    assert run.spec.name == "custom_loop"
    thread, counts = start(run), []
    while thread.is_alive():
        counts.append(len(run.records))
        time.sleep(0.05)
    thread.join()
    assert run.outcome.status == "finished", run.outcome.error
    assert any(0 < count < len(run.records) for count in counts)  # seen while it ran, not only at the end
    recorded = load_run(tmp_path / "run")
    assert len(run.records) == 100 and np.array_equal(run.records.rows(), recorded.records.rows())
    assert np.array_equal(run.stage_records.rows(), recorded.stage_records.rows())
    assert run.spec == recorded.spec and run.spec.stage("slow_read").origin["line"] == MAP_LINE  # the script's
    assert run.device == recorded.device and run.extra["source"] == "watch" and run.closed
    assert summary_of(tmp_path / "run")["steps"] == 100  # the folder finished as `watch` finishes it


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


# ------------------------------------------------------------ what-if on the script while it trains

def test_a_change_sent_while_the_script_trains_is_made_at_its_next_step(tmp_path, leak_guard):
    run = watched(tmp_path, "--epochs", "30", "--examples", "320")
    thread = start(run)
    try:
        wait_for(lambda: run.accepts_changes, thread, "imported pipeline")
        before = run.spec
        assert before.stage("slow_read").params["num_parallel_calls"] == 1
        run.request_change(before)  # nothing differs: nothing is sent
        assert not run.change_pending and not (tmp_path / "run" / CHANGES_JSONL).exists()
        run.request_change(apply_overrides(before, [("stages.slow_read.num_parallel_calls", 2)]))
        assert run.change_pending  # until run.json has it made
        wait_for(lambda: not run.change_pending, thread, "change made")
    finally:
        run.request_stop()
        thread.join()
    assert run.outcome.status == "stopped" and not run.change_pending
    change, = run.outcome.changes
    assert change.description == "stages.slow_read.num_parallel_calls=2" and change.version == 1
    assert run.spec.stage("slow_read").params["num_parallel_calls"] == 2
    versions = run.records.rows()[:, CONFIG_VERSION]
    assert versions[change.step - 1] == 0 and set(versions[change.step:]) == {1}  # the steps after it, its own
    recorded = load_run(tmp_path / "run")
    assert [c.description for c in recorded.outcome.changes] == [change.description]
    assert json.loads((tmp_path / "run" / CHANGES_JSONL).read_text()) == {
        "allow_data_restart": False, "assignments": ["stages.slow_read.num_parallel_calls=2"], "id": 1}


def imported_spec():
    """A pipeline as a watched script's first request imports it."""
    return spec_from_dict({
        "name": "custom_loop", "source": {"kind": "range", "count": 320}, "feeder": {"kind": "from_script"},
        "model": {"kind": "from_script"}, "run": {"warmup_steps": 1},
        "stages": [{"id": "slow_read", "kind": "map", "fn": "slow_read", "num_parallel_calls": 1,
                    "origin": {"file": CUSTOM_LOOP, "line": MAP_LINE, "function": "slow_read"}},
                   {"id": "batch", "kind": "batch", "batch_size": 16},
                   {"id": "prefetch", "kind": "prefetch", "buffer_size": 2}]})


def test_only_a_stages_parallelism_and_buffers_are_sent():
    spec = imported_spec()
    assert changeable_assignments(spec, spec) == []
    changed = apply_overrides(spec, [("stages.slow_read.num_parallel_calls", AUTOTUNE),
                                     ("stages.prefetch.buffer_size", 8), ("stages.batch.num_parallel_calls", 2)])
    assert changeable_assignments(spec, changed) == ['stages.slow_read.num_parallel_calls="AUTOTUNE"',
                                                     "stages.batch.num_parallel_calls=2",
                                                     "stages.prefetch.buffer_size=8"]
    with pytest.raises(SpecError) as refused:
        changeable_assignments(spec, apply_overrides(changed, [("stages.batch.batch_size", 32)]))
    assert str(refused.value) == ("stages.batch.batch_size: 16 → 32: a watched script's pipeline changes only in a "
                                  "stage's num_parallel_calls, buffer_size, cycle_length or block_length while it "
                                  "trains (nothing was sent)")
    with pytest.raises(SpecError, match=r"stages: \+ cache \(after batch\)"):
        changeable_assignments(spec, spec_from_dict(spec.to_dict() | {"stages": [
            *spec.to_dict()["stages"][:2], {"id": "cache", "kind": "cache"}, spec.to_dict()["stages"][2]]}))
    with pytest.raises(SpecError, match="num_parallel_calls: 2 → null"):  # a parallel op is not made serial
        changeable_assignments(changed, apply_overrides(changed, [("stages.batch.num_parallel_calls", None)]))


def test_a_service_stage_added_last_moves_the_watched_pipeline_onto_its_workers():
    spec = imported_spec()
    data = spec.to_dict()
    served = {"id": "service", "kind": "tf_data_service", "workers": 3}
    assert changeable_assignments(spec, spec_from_dict(data | {"stages": [*data["stages"], served]})) == [
        "service.workers=3"]
    with pytest.raises(SpecError, match=r"stages: \+ service"):  # not last: the stages after it would stay
        changeable_assignments(spec, spec_from_dict(data | {"stages": [served, *data["stages"]]}))
    with pytest.raises(SpecError, match=r"stages: \+ service"):  # a running service: not Pipescope's workers
        elsewhere = served | {"dispatcher": "grpc://host:5050"}
        changeable_assignments(spec, spec_from_dict(data | {"stages": [*data["stages"], elsewhere]}))


def test_a_change_that_would_restart_the_data_is_asked_about_and_one_the_script_refuses_is_answered(
        tmp_path, leak_guard, monkeypatch):
    run = watched(tmp_path, "--py-function", "--epochs", "100000", "--report", str(tmp_path / "seen.json"),
                  script=SEQUENCE_LOOP)
    thread = start(run)
    try:
        wait_for(lambda: run.accepts_changes, thread, "imported pipeline")
        assert run.extra["position_carried_over"] is False
        assert run.spec.stage("double_in_python").params["num_parallel_calls"] == 1
        with pytest.raises(SpecError, match="nothing was sent"):
            run.request_change(apply_overrides(run.spec, [("stages.batch.batch_size", 8)]))
        faster = apply_overrides(run.spec, [("stages.double_in_python.num_parallel_calls", 2)])
        with pytest.raises(RestartQuestion) as question:
            run.request_change(faster)
        assert str(question.value) == (
            "sequence_loop's pipeline holds a py_function or numpy_function (or reads a Python generator), so its "
            "position cannot be carried over: the rebuilt pipeline would start its data again. Apply "
            "stages.double_in_python.num_parallel_calls=2 anyway?")
        assert not run.change_pending and not (tmp_path / "run" / CHANGES_JSONL).exists()
        # Sent without asking (as if the app did not know): the script refuses it, and the answer is awaited.
        monkeypatch.setattr("core.experiments.watched_run.POSITION_CARRIED_OVER", "not known")
        run.request_change(faster)
        assert run.change_pending
        wait_for(lambda: not run.change_pending, thread, "refusal")
        assert run.changes_refused() == 1 and not run.outcome.changes
        refusal, = [warning for warning in run.outcome.warnings if "refused" in warning]
        assert "stages.double_in_python.num_parallel_calls=2" in refusal and "start its data again" in refusal
        monkeypatch.undo()
        run.request_change(faster, allow_data_restart=True)  # the user said yes
        assert run.change_pending
        wait_for(lambda: not run.change_pending, thread, "change made")
    finally:
        run.request_stop()
        thread.join()
    assert [change.description for change in run.outcome.changes] == [
        "stages.double_in_python.num_parallel_calls=2"]
    assert run.spec.stage("double_in_python").params["num_parallel_calls"] == 2
    sent = [json.loads(line) for line in (tmp_path / "run" / CHANGES_JSONL).read_text().splitlines()]
    assert [(line["id"], line["allow_data_restart"]) for line in sent] == [(1, False), (2, True)]
