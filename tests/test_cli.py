"""The command line: exit codes, one-line errors, the files a run writes."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import main
from tests.conftest import ROOT
from tests.terminal import as_from_a_terminal

FAST = ["--set", "stages.cpu.ms=0", "--set", "model.step_ms=2", "--set", "run.warmup_steps=5", "--quiet"]


def call(capsys, *argv):
    code = main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv, expected", [
    (["run"], "error: SPEC: give a pipeline file or --preset NAME"),
    (["run", "--preset", "nope"], "error: --preset nope: unknown preset"),
    (["run", "missing.json"], "error: missing.json: cannot read pipeline file"),
    (["run", "--preset", "whatif", "--set", "stages.io.ms=-3"], "error: stages.io.ms: must be ≥ 0"),
    (["run", "--preset", "whatif", "--set", "stages.disk.ms=3"], "error: stages.disk.ms: no stage with id 'disk'"),
    (["run", "--preset", "whatif", "--steps", "many"], "error: pipescope run: argument --steps: invalid int value"),
    (["run", "--preset", "whatif", "--steps", "0"], "error: run.steps: must be ≥ 1"),
    (["run", "--preset", "whatif", "--change-at", "x", "model.step_ms=1"], "error: --change-at x: STEP must be"),
    (["run", "--preset", "whatif", "--change-at", "5", "model.size=1"], "error: model.size: unknown parameter"),
    (["frobnicate"], "error: pipescope: argument command: invalid choice"),
    (["sample-data", "images", "--count", "3", "--size", "big", "--out", "x"], "error: --size big: expected WxH"),
    (["presets", "--dump", "nope"], "error: --preset nope: unknown preset"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, expected):
    code, out, err = call(capsys, *argv)
    assert code == 2
    assert err.startswith(expected) and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_bad_data_path_is_bad_input(capsys, tmp_path):
    code, _, err = call(capsys, "run", "--preset", "images_tf", "--set", f"source.path={tmp_path}",
                        "--steps", "3", "--quiet")
    assert code == 2 and err.strip().endswith(f"source.path: no files matching *.jpg in {tmp_path}")


def test_run_writes_the_contract_files(capsys, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = call(capsys, "run", "--preset", "whatif", "--steps", "40", "--out", str(out), *FAST,
                           "--change-at", "20", "stages.io.ms=1")
    assert code == 0
    assert stdout.count("\n") == 1 and stdout.startswith("whatif: 40 steps on /CPU:0")
    summary = json.loads((out / "summary.json").read_text())
    for key in ("spec", "device", "steps", "warmup_steps", "wall_s", "steps_per_s", "examples_per_s", "step_ms",
                "wait_ms", "input_ms", "transfer_ms", "between_ms", "compute_ms", "idle_fraction", "fill", "verdict"):
        assert key in summary
    assert summary["steps"] == 40 and summary["device"] == "/CPU:0" and summary["spec"]["name"] == "whatif"
    assert set(summary["step_ms"]) == {"mean", "p50", "p90", "p99"}
    assert summary["spec"]["stages"][1]["ms"] == 1.0  # the resolved description as it ended
    with open(out / "steps.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["step", "t_request", "t_ready", "t_done", "wait_ms", "compute_ms", "step_ms", "fill",
                             "config_version", "t_fetched", "input_ms", "transfer_ms", "between_ms"]
    assert len(rows) == 40 and rows[25]["config_version"] == "1"
    for previous, row in zip(rows, rows[1:]):
        ms = {key: float(value) for key, value in row.items() if key.endswith("_ms")}
        assert ms["wait_ms"] == pytest.approx(1000 * (float(row["t_ready"]) - float(row["t_request"])), abs=2e-3)
        assert ms["step_ms"] == pytest.approx(1000 * (float(row["t_done"]) - float(previous["t_done"])), abs=2e-3)
        assert ms["wait_ms"] == pytest.approx(ms["input_ms"] + ms["transfer_ms"], abs=2e-3)
        assert ms["step_ms"] == pytest.approx(ms["between_ms"] + ms["wait_ms"] + ms["compute_ms"], abs=3e-3)
        assert ms["transfer_ms"] >= 0 and ms["between_ms"] > 0  # the runner's own time is shown, not lost
    trace = json.loads((out / "trace.json").read_text())["traceEvents"]
    phases = {event["ph"] for event in trace}
    assert {"X", "C", "i", "M"} <= phases
    assert sum(1 for e in trace if e["ph"] == "X" and e["name"] == "compute") == 40
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["fill"]["capacity"] == 4


def test_a_failing_pipeline_exits_1_naming_the_stage_and_keeps_its_files(capsys, corrupt_folder, tmp_path):
    code, _, err = call(capsys, "run", "--preset", "images_cv2", "--set", f"source.path={corrupt_folder}",
                        "--steps", "5", "--quiet", "--out", str(tmp_path))
    assert code == 1
    assert err.startswith("error: stage 'decode' failed: ") and err.count("\n") == 1, err
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "failed"


def test_presets_lists_and_dumps(capsys):
    code, out, _ = call(capsys, "presets")
    assert code == 0 and "whatif" in out and "seed_feed_dict" in out
    code, out, _ = call(capsys, "presets", "--dump", "whatif")
    assert code == 0 and json.loads(out)["stages"][1]["id"] == "io"


def test_sample_data_writes_jpegs_with_corrupt_ones(capsys, tmp_path):
    code, out, err = call(capsys, "sample-data", "images", "--count", "6", "--size", "32x24", "--corrupt", "2",
                          "--out", str(tmp_path))
    assert code == 0 and "wrote 6 images (2 corrupt)" in out and "images: 6/6" in err
    import cv2

    decoded = [cv2.imread(str(p)) for p in sorted(tmp_path.rglob("*.jpg"))]
    assert len(decoded) == 6 and sum(image is None for image in decoded) == 2
    assert all(image.shape == (24, 32, 3) for image in decoded if image is not None)


def test_ctrl_c_exits_130_and_keeps_what_was_recorded(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run", "--preset", "whatif", "--seconds", "60", "--out", str(tmp_path),
         *FAST[:-1]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 60
    progress = ""
    while "steps/s" not in progress and time.monotonic() < deadline:  # wait until it is really running
        progress += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] > 0
    assert len((tmp_path / "steps.csv").read_text().splitlines()) == summary["steps"] + 1


def test_gui_without_a_display_says_how_to_run_headless(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "no display" in result.stderr and "run --preset" in result.stderr


def test_an_unwritable_out_folder_is_bad_input_before_the_run(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = call(capsys, "run", "--preset", "whatif", "--steps", "5", "--quiet", "--out", str(blocker / "x"))
    assert code == 2 and err.startswith(f"error: --out {blocker / 'x'}: cannot create the folder") and not out


def test_a_stalled_timed_run_ends_on_time_reports_the_stall_and_exits(tmp_path):
    """The batch in flight takes 60 s; the run is for 2 s: it must not wait for it, in the run or at exit.

    Starting Python and TensorFlow takes seconds, more on a slow or busy host: the bound is set by the
    element in flight (waiting for it ends after 60 s), not by this host's start-up."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run", "--preset", "whatif", "--seconds", "2", "--out", str(tmp_path),
         "--set", "stages.io.ms=60000", "--set", "run.stall_seconds=1", "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert time.monotonic() - started < 50, "the process waited for the element in flight"
    assert result.returncode == 1, result.stderr  # it measured nothing: a CI job must not pass on it
    assert "stall: no batch for 1." in result.stderr and "stuck in stage 'io'" in result.stderr
    assert "error: whatif: no step recorded: the first batch was still in stage 'io'" in result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 0
    assert [(stall["stage"], stall["ongoing"]) for stall in summary["stalls"]] == [("io", False)]
    (stall,) = summary["stalls"]  # from the first request, at the start, to the run's end at 2 s (ms in the file)
    assert stall["t"] < 0.5 and 2.0 - 0.002 <= stall["t"] + stall["seconds"] < 3.0, stall


def test_gpu_warnings_are_said_once_on_stderr(capsys, monkeypatch):
    import core.engine.runner as runner  # where the run looks the warnings up

    monkeypatch.setattr(runner, "gpu_warnings", lambda: ["warning: a GPU TensorFlow cannot use"])
    code, _, err = call(capsys, "run", "--preset", "whatif", "--steps", "5", *FAST)
    assert code == 0 and err.count("warning: a GPU TensorFlow cannot use\n") == 1


def test_a_run_shorter_than_one_progress_poll_still_shows_its_last_state():
    import io

    from cli.progress import ProgressBar

    log = io.StringIO()
    ProgressBar("combination 4/4", log).finish(1.0, "finished")
    assert log.getvalue() == "combination 4/4: 100%  finished\n"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    bar = ProgressBar("run", terminal)
    bar.update(0.5, "half")
    bar.finish(1.0, "finished")  # within the redraw throttle of the last update, drawn all the same
    assert "100.0%  finished" in terminal.getvalue() and terminal.getvalue().endswith("\n")
