"""`watch`: a user's own training script, run unchanged under the profiler (issue 16).

Each test runs a small script written for it (tests/watch_scripts) through `main.py watch` in a
process of its own, as a user would, and reads the run folder it leaves."""
from __future__ import annotations

import csv
import json
import re
import os
import statistics
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.outputs.run_folder import load_run

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "watch_scripts"


def watch(tmp_path, script: str, *args: str, out: str = "run", options=()) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "main.py"), "watch", "--out", str(tmp_path / out), *options,
               str(SCRIPTS / script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def steps_of(folder: Path) -> list[dict]:
    with (folder / "steps.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_a_custom_loop_is_timed_as_its_own_clock_times_it(tmp_path):
    own_report = tmp_path / "own.json"
    result = watch(tmp_path, "custom_loop.py", "--epochs", "2", "--examples", "160", "--report", str(own_report))
    assert result.returncode == 0, result.stderr
    assert "epoch 2 done" in result.stdout  # the script's own output, passed through
    own, summary = json.loads(own_report.read_text()), summary_of(tmp_path / "run")
    assert summary["source"] == "watch" and summary["script"] == str(SCRIPTS / "custom_loop.py")
    assert summary["argv"][1:] == ["--epochs", "2", "--examples", "160", "--report", str(own_report)]
    measured = summary["steps"] - summary["spec"]["run"]["warmup_steps"]
    assert measured == own["steps"]
    assert abs(summary["idle_fraction"] - own["idle_fraction"]) <= 0.02
    assert summary["steps_per_s"] == pytest.approx(own["steps_per_s"], rel=0.02)
    assert "custom_loop: " in result.stderr and "files in" in result.stderr


def test_the_scripts_pipeline_is_imported_with_the_line_of_each_stage(tmp_path):
    result = watch(tmp_path, "custom_loop.py", "--epochs", "1", "--examples", "64")
    assert result.returncode == 0, result.stderr
    summary = summary_of(tmp_path / "run")
    pipeline = summary["pipeline"]
    assert pipeline["source"] == {"kind": "range", "count": 64}
    stages = {stage["id"]: stage for stage in pipeline["stages"]}
    assert list(stages) == ["slow_read", "batch", "prefetch"]
    assert stages["slow_read"]["kind"] == "map" and stages["slow_read"]["num_parallel_calls"] == 1
    assert stages["batch"]["batch_size"] == 16 and stages["prefetch"]["buffer_size"] == 2
    source_lines = (SCRIPTS / "custom_loop.py").read_text().splitlines()
    origin = stages["slow_read"]["origin"]
    assert origin["function"] == "slow_read" and origin["file"] == str(SCRIPTS / "custom_loop.py")
    assert source_lines[origin["line"] - 1].strip() == origin["call"] == \
        "dataset = dataset.map(slow_read, num_parallel_calls=1)"
    # The validation data is another dataset, kept apart from the training steps.
    training, validation = summary["datasets"]
    assert training["training"] and not validation["training"]
    assert training["made_at"] == f"custom_loop.py:{stages['prefetch']['origin']['line']}"
    assert validation["requests"] == 3  # two batches and the end of the data
    assert load_run(tmp_path / "run").spec.stage("slow_read").origin["function"] == "slow_read"


def test_a_script_that_raises_keeps_its_traceback_exit_code_and_records(tmp_path):
    result = watch(tmp_path, "raises.py", "--flag", "value")
    assert result.returncode == 1
    assert "argv: ['--flag', 'value']" in result.stdout
    traceback_text = result.stderr[result.stderr.index("Traceback (most recent call last):"):]
    assert "ValueError: bad batch at step 5" in traceback_text
    assert "runpy" not in traceback_text and "watch_child" not in traceback_text
    assert traceback_text.splitlines()[1].strip().startswith(f'File "{SCRIPTS / "raises.py"}"')
    summary = summary_of(tmp_path / "run")
    assert summary["status"] == "failed" and "ValueError: bad batch at step 5" in summary["error"]
    assert summary["steps"] == 5  # steps 0–4 ended at the next request; the sixth never did


def test_a_script_without_a_dataset_says_there_is_nothing_to_profile(tmp_path):
    result = watch(tmp_path, "no_dataset.py", "--fail")
    assert result.returncode == 3
    assert "total 499500" in result.stdout
    assert "watch: no tf.data iterator was used, nothing to profile" in result.stderr


def test_a_loop_inside_a_tf_function_is_said_to_be_out_of_sight(tmp_path):
    result = watch(tmp_path, "loop_in_function.py")
    assert result.returncode == 0, result.stderr
    assert "2016.0" in result.stdout
    assert "took no element from them on the host" in result.stderr
    assert summary_of(tmp_path / "run")["steps"] == 0


@pytest.mark.parametrize("content, message", [
    (None, "no such script"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a Python script (binary, not UTF-8 text)"),
    (b"for x in:\n    pass\n", "not a Python script (line 1: invalid syntax)"),
])
def test_a_script_that_is_missing_or_not_python_is_one_error_line(tmp_path, content, message):
    script = tmp_path / "train.py"
    if content is not None:
        script.write_bytes(content)
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "watch", str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {script}: {message}"]


def _start_long_loop(tmp_path, job=("custom_loop.py", "--epochs", "1000", "--examples", "64")) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "main.py"), "watch", "--out", str(tmp_path / "run"),
               str(SCRIPTS / job[0]), *job[1:]]
    # A session of its own: a signal to its group is what a terminal's Ctrl-C sends.
    return subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_steps(folder: Path, process: subprocess.Popen, steps: int = 20) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        steps_csv = folder / "steps.csv"
        if steps_csv.exists() and len(steps_csv.read_text().splitlines()) > steps:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {steps} steps streamed: {process.poll()} {process.stderr.read() if process.poll() else ''}")


def test_ctrl_c_reaches_the_script_and_the_records_are_closed(tmp_path):
    process = _start_long_loop(tmp_path)
    _wait_for_steps(tmp_path / "run", process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "KeyboardInterrupt" in stderr
    run = load_run(tmp_path / "run")
    assert run.closed and run.outcome.status == "stopped" and len(run.records) >= 20
    assert summary_of(tmp_path / "run")["status"] == "stopped"


def test_ctrl_c_ends_a_py_function_loop_even_where_python_swallows_it(tmp_path):
    # Ctrl-C can land in TensorFlow's __del__ of a py_function's executor, where Python only prints it.
    # Sent to the script's process alone, as the app's Stop sends it.
    for attempt in range(2):
        (tmp_path / str(attempt)).mkdir()
        process = _start_long_loop(tmp_path / str(attempt), ("sequence_loop.py", "--py-function", "--epochs", "5000",
                                                            "--report", str(tmp_path / "seen.json")))
        _wait_for_steps(tmp_path / str(attempt) / "run", process)
        os.kill(_child_of(process), signal.SIGINT)
        process.communicate(timeout=30)
        assert process.returncode == 130
        assert load_run(tmp_path / str(attempt) / "run").outcome.status == "stopped"


def _child_of(process: subprocess.Popen) -> int:
    return int(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()[0])


def test_a_killed_script_keeps_what_was_streamed(tmp_path):
    process = _start_long_loop(tmp_path)
    _wait_for_steps(tmp_path / "run", process)
    os.kill(_child_of(process), signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGKILL
    summary = summary_of(tmp_path / "run")
    assert summary["steps"] >= 20 and summary["source"] == "watch"
    assert "cut off" in summary["record_stream"]


def test_a_fit_job_is_timed_by_its_callback_and_its_wait_metered_in_its_train_function(tmp_path):
    result = watch(tmp_path, "fit_job.py", "--epochs", "3", "--batches", "30", "--read-ms", "20")
    assert result.returncode == 0, result.stderr
    assert "steps_per_s:" in result.stdout
    summary = summary_of(tmp_path / "run")
    assert summary["wait_measured"].startswith("Keras fit: a step runs from one on_train_batch_begin")
    assert "tf.timestamp" in summary["wait_measured"] and summary["wait_captures"] == []  # no profiler ran
    assert summary["steps"] == 90  # three epochs of 30 batches
    assert summary["examples_per_s"] == pytest.approx(16 * summary["steps_per_s"], rel=0.01)
    # 20 ms of storage wait a batch (tf.data's sleep, one batch made ahead) against a small model's step of a
    # few ms: each step's own wait is most of the 20 ms, and never more than the step.
    waits = [float(row["wait_ms"]) / 1000 for row in steps_of(tmp_path / "run")][5:]
    assert 0.010 < statistics.median(waits) < 0.022
    stages = {stage["id"]: stage for stage in summary["pipeline"]["stages"]}
    assert stages["sleep"]["kind"] == "from_script" and stages["augment"]["origin"]["function"] == "augment"


EXPECTED_FIRSTS = [index * 2 for index in range(0, 64, 4)]


def test_a_change_while_it_trains_goes_on_with_the_next_element_and_outlives_the_epoch(tmp_path):
    report = tmp_path / "seen.json"
    result = watch(tmp_path, "sequence_loop.py", "--report", str(report),
                   options=("--change-at", "5", "stages.double.num_parallel_calls=3"))
    assert result.returncode == 0, result.stderr
    assert "pipescope: step 5: stages.double.num_parallel_calls=3" in result.stderr
    assert json.loads(report.read_text()) == [EXPECTED_FIRSTS, EXPECTED_FIRSTS]  # nothing skipped or repeated
    summary = summary_of(tmp_path / "run")
    assert summary["config_changes"][0]["step"] == 5 and summary["config_changes"][0]["version"] == 1
    assert summary["pipeline"]["stages"][0]["num_parallel_calls"] == 3
    assert [segment["version"] for segment in summary["segments"]] == [0, 1]


def test_a_pipeline_that_cannot_carry_its_position_is_refused_unless_a_data_restart_is_allowed(tmp_path):
    report = tmp_path / "seen.json"
    change = ("--change-at", "5", "stages.double_in_python.num_parallel_calls=2")
    refused = watch(tmp_path, "sequence_loop.py", "--py-function", "--report", str(report), out="refused",
                    options=change)
    assert refused.returncode == 0, refused.stderr
    assert "refused" in refused.stderr and "--allow-data-restart" in refused.stderr
    assert json.loads(report.read_text()) == [EXPECTED_FIRSTS, EXPECTED_FIRSTS]
    assert summary_of(tmp_path / "refused")["config_changes"] == []
    allowed = watch(tmp_path, "sequence_loop.py", "--py-function", "--report", str(report), out="allowed",
                    options=(*change, "--allow-data-restart"))
    assert allowed.returncode == 0, allowed.stderr
    first_epoch = json.loads(report.read_text())[0]
    assert first_epoch == EXPECTED_FIRSTS[:5] + EXPECTED_FIRSTS  # started again after its fifth batch


def test_a_watched_pipeline_moves_onto_local_service_workers_while_it_trains(tmp_path):
    report = tmp_path / "seen.json"
    change = ("--change-at", "5", "service.workers=2", "--allow-data-restart")
    result = watch(tmp_path, "sequence_loop.py", "--report", str(report), options=change)
    assert result.returncode == 0, result.stderr
    assert "pipescope: step 5: stages: + service (tf_data_service" in result.stderr
    assert "Failed to release" not in result.stderr  # the servers outlive the script's iterators
    first_epoch = json.loads(report.read_text())[0]
    # Each worker makes the whole dataset (processing_mode off), from its start: every batch twice, in an
    # order the two workers' pace decides.
    assert first_epoch[:5] == EXPECTED_FIRSTS[:5] and sorted(first_epoch[5:]) == sorted(EXPECTED_FIRSTS * 2)
    summary = summary_of(tmp_path / "run")
    workers = [server for server in summary["service"]["servers"] if server["name"].startswith("worker")]
    assert len(workers) == 2 and sum(worker["elements"] for worker in workers) >= 32, workers
    assert summary["pipeline"]["stages"][-1]["kind"] == "tf_data_service"
    assert all(ends_soon(server["pid"]) for server in summary["service"]["servers"])


def ends_soon(pid: int, seconds: float = 10.0) -> bool:
    """Gone, or a zombie (a server outlived by its parent is reaped by whoever adopts it), within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_a_pipeline_with_the_scripts_own_python_is_not_moved_onto_service_workers(tmp_path):
    report = tmp_path / "seen.json"
    change = ("--change-at", "5", "service.workers=2", "--allow-data-restart")
    result = watch(tmp_path, "sequence_loop.py", "--py-function", "--report", str(report), options=change)
    assert result.returncode == 0, result.stderr
    assert re.search(r"pipescope: change service.workers=2 at step 5 refused: the pipeline calls the script's "
                     r"own Python .* the job trains on", result.stderr), result.stderr
    assert json.loads(report.read_text()) == [EXPECTED_FIRSTS, EXPECTED_FIRSTS]
    assert summary_of(tmp_path / "run")["config_changes"] == []


def test_a_change_to_a_stage_the_script_does_not_have_is_refused_and_the_job_trains_on(tmp_path):
    report = tmp_path / "seen.json"
    result = watch(tmp_path, "sequence_loop.py", "--report", str(report),
                   options=("--change-at", "3", "stages.nope.num_parallel_calls=2"))
    assert result.returncode == 0
    assert "no stage with id 'nope'" in result.stderr and "the job trains on" in result.stderr
    assert json.loads(report.read_text()) == [EXPECTED_FIRSTS, EXPECTED_FIRSTS]


def test_a_change_to_a_fit_job_is_made_between_its_steps(tmp_path):
    result = watch(tmp_path, "fit_job.py", "--epochs", "2", "--batches", "30",
                   options=("--change-at", "25", "stages.augment.num_parallel_calls=2"))
    assert result.returncode == 0, result.stderr
    assert "pipescope: step 25: stages.augment.num_parallel_calls=2" in result.stderr
    assert "profiler_session" not in result.stderr and "save_profile" not in result.stderr  # not the script's
    summary = summary_of(tmp_path / "run")
    assert summary["steps"] == 60 and summary["config_changes"][0]["step"] == 25
    assert summary["position_carried_over"] is True
    assert [segment["steps"] for segment in summary["segments"]] == [25, 35]


def test_analyze_names_the_line_that_holds_a_watched_job_and_the_change_to_make(tmp_path):
    # 80 matrix products an example against a small model: the one-call map holds the job.
    result = watch(tmp_path, "custom_loop.py", "--epochs", "3", "--examples", "320", "--work", "80")
    assert result.returncode == 0, result.stderr
    analysis_run = subprocess.run([sys.executable, str(ROOT / "main.py"), "analyze", str(tmp_path / "run")],
                                  capture_output=True, text=True, timeout=120)
    assert analysis_run.returncode == 0, analysis_run.stderr
    analysis = json.loads((tmp_path / "run" / "analysis.json").read_text())
    assert analysis["source"] == "watch" and analysis["bottleneck"] == "slow_read"
    line = next(number for number, text in enumerate((SCRIPTS / "custom_loop.py").read_text().splitlines(), 1)
                if ".map(slow_read" in text)
    advice = analysis["recommendations"][0]
    assert advice["text"].startswith(f"custom_loop.py:{line} `.map(slow_read, num_parallel_calls=1)` holds the job")
    assert advice["change"].startswith("stages.slow_read.num_parallel_calls=")
    assert advice["at"] == {"file": str(SCRIPTS / "custom_loop.py"), "line": line}
    assert advice["expected_steps_per_s"] > analysis["stages"][0]["steps_per_s"]
    assert "holds the job" in analysis_run.stdout


def test_analyze_refuses_a_folder_that_is_not_a_watched_job(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "analyze", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_watched_jobs_cpu_split_counts_the_scripts_main_thread_as_the_model(tmp_path):
    result = watch(tmp_path, "custom_loop.py", "--epochs", "2", "--examples", "160")
    assert result.returncode == 0, result.stderr
    cpu = summary_of(tmp_path / "run")["cpu"]
    assert "the script's main thread, which is its own training loop" in cpu["method"]
    assert cpu["model_s"] > 0 and cpu["input_s"] > 0


def test_a_tf_distribute_loop_is_timed_on_the_host_and_what_is_not_seen_is_said(tmp_path):
    result = watch(tmp_path, "distributed_loop.py")
    assert result.returncode == 0, result.stderr
    assert "total 32640.0" in result.stdout
    summary = summary_of(tmp_path / "run")
    assert "MirroredStrategy" in summary["distributed"] and "is not seen" in summary["distributed"]
    assert summary["pipeline"]["source"] == {"kind": "range", "count": 256}  # the script's, not tf.distribute's copy
    assert summary["steps"] >= 16
    assert summary["examples_per_s"] == pytest.approx(16 * summary["steps_per_s"], rel=0.01)


def test_a_swallowed_ctrl_c_is_raised_again_at_the_next_request():
    import tensorflow as tf

    from core.engine.iterator_hooks import IteratorHooks
    hooks = IteratorHooks(time.perf_counter_ns(), lambda steps: None)
    hooks.install()
    try:
        iterator = iter(tf.data.Dataset.range(10))
        assert int(next(iterator)) == 0
        hooks.interrupted = True  # as the SIGINT handler leaves it when the KeyboardInterrupt was lost
        with pytest.raises(KeyboardInterrupt):
            next(iterator)
        assert int(next(iterator)) == 1  # raised once; the element was not taken
    finally:
        hooks.uninstall()


def test_an_iterator_inside_the_scripts_tf_function_is_timed_per_call_with_its_wait_metered_there(tmp_path):
    result = watch(tmp_path, "step_function_loop.py", "--steps", "60")
    assert result.returncode == 0, result.stderr
    summary = summary_of(tmp_path / "run")
    assert summary["wait_measured"].startswith("the script's iterator is used inside its own tf.function")
    assert "tf.timestamp" in summary["wait_measured"] and summary["wait_captures"] == []
    assert summary["steps"] == 59  # the last call never ended
    assert summary["examples_per_s"] == pytest.approx(8 * summary["steps_per_s"], rel=0.01)
    # 10 ms of storage wait a batch against a step that adds a vector: the job waits most of its time.
    assert summary["idle_fraction"] / (1 - summary["between_fraction"]) > 0.5


def test_a_change_the_script_ends_before_is_said_never_made(tmp_path):
    report = tmp_path / "seen.json"
    result = watch(tmp_path, "sequence_loop.py", "--report", str(report),
                   options=("--change-at", "1000", "stages.double.num_parallel_calls=2"))
    assert result.returncode == 0, result.stderr
    line = "change stages.double.num_parallel_calls=2 was never made: the script ended before step 1000"
    assert f"pipescope: {line}" in result.stderr
    summary = summary_of(tmp_path / "run")
    assert line in summary["warnings"] and summary["config_changes"] == []


def test_a_tutorials_loop_without_a_prefetch_is_told_to_add_one_at_its_last_line(tmp_path):
    result = watch(tmp_path, "from_a_tutorial.py")
    assert result.returncode == 0, result.stderr
    summary = summary_of(tmp_path / "run")
    assert summary["pipeline"]["source"] == {"kind": "tensors", "count": 60000, "shape": [784]}
    assert [stage["kind"] for stage in summary["pipeline"]["stages"]] == ["shuffle", "batch"]
    analysis_run = subprocess.run([sys.executable, str(ROOT / "main.py"), "analyze", str(tmp_path / "run")],
                                  capture_output=True, text=True, timeout=120)
    assert analysis_run.returncode == 0, analysis_run.stderr
    analysis = json.loads((tmp_path / "run" / "analysis.json").read_text())
    if analysis["idle_fraction"] >= 0.05:  # a machine fast enough to make batches in no time waits for none
        advice = analysis["recommendations"][-1]
        assert advice["text"].startswith("nothing buffers batches ahead of the loop: add `.prefetch(tf.data.AUTOTUNE)`")
        assert advice["change"] is None


def test_steps_without_a_meter_wait_for_a_capture_and_are_then_written_in_order_with_its_share():
    from core.engine.fit_hooks import CapturedSteps
    from core.spec.records import timing

    steps = CapturedSteps(dataset=None, number=1, start_ns=0)
    for begin_ms in (0, 10, 20):
        steps.batch_begins(begin_ms * 1_000_000, 4)
    steps.step_ends(40_000_000)
    assert steps.steps_taken == 3 and len(steps.records) == 0  # no share yet: held
    steps.share_measured(0.25, steps=20)
    rows = steps.records.rows()
    assert steps.steps_taken == 3 and list(rows[:, 0]) == pytest.approx([0.0, 0.01, 0.02])
    assert list(timing(rows, "wait_ms")) == pytest.approx([2.5, 2.5, 5.0])  # a quarter of 10, 10 and 20 ms
