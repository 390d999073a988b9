"""run --profile-dir: a tf.profiler capture with a step marker per step, in the layout XProf reads offline."""
import contextlib
import io
import json
from pathlib import Path

import pytest

import main

FAST = ["--set", "stages.cpu.ms=0", "--set", "model.step_ms=2", "--set", "run.warmup_steps=5", "--quiet"]


def call(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def marked_steps(xplane: Path) -> list[int]:
    """The step numbers of the `train` step markers (root events, `_r=1`) in a capture's host plane."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # ships with TensorFlow

    space = xplane_pb2.XSpace()
    space.ParseFromString(xplane.read_bytes())
    host = next(plane for plane in space.planes if plane.name == "/host:CPU")
    steps = []
    for line in host.lines:
        for event in line.events:
            if host.event_metadata[event.metadata_id].name != "train":
                continue
            stats = {host.stat_metadata[stat.metadata_id].name: stat.int64_value for stat in event.stats}
            assert stats["_r"] == 1, stats  # a root: XProf groups the step's events under it
            steps.append(stats["step_num"])
    return sorted(steps)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    """A short whatif run that keeps 12 steps after its 5 of warm-up: (exit code, stderr, summary, folders)."""
    root = tmp_path_factory.mktemp("profiled")
    code, _, err = call("run", "--preset", "whatif", "--steps", "30", "--set", "run.profile_steps=12",
                        "--profile-dir", str(root / "prof"), "--out", str(root / "out"), *FAST)
    summary = json.loads((root / "out" / "summary.json").read_text())
    return code, err, summary, root


def test_the_capture_is_where_tensorboard_looks_and_holds_a_marker_per_captured_step(profiled):
    code, err, summary, root = profiled
    assert code == 0, err
    profile = summary["profile"]
    assert profile["steps"] == [5, 17]  # after the warm-up, run.profile_steps of them
    xplane = Path(profile["file"])
    assert xplane.is_file() and xplane.name.endswith(".xplane.pb")
    assert xplane.parent.parent == (root / "prof" / "plugins" / "profile").resolve()
    assert marked_steps(xplane) == list(range(5, 17))
    assert f"`xprof --logdir {(root / 'prof').resolve()}`" in err and str(xplane) in err
    # The simulated model does no device work: the kept capture does not pretend to measure it.
    assert summary["sync"]["device_busy_ms"] is None and "simulated" in summary["sync"]["device_busy"]


def test_report_keeps_where_the_capture_is(profiled):
    _, _, summary, root = profiled
    code, _, err = call("report", str(root / "out"))
    assert code == 0, err
    assert json.loads((root / "out" / "summary.json").read_text())["profile"] == summary["profile"]


def test_xprof_converts_the_capture_offline_and_sees_the_runners_steps(profiled):
    raw_to_tool_data = pytest.importorskip("xprof.convert.raw_to_tool_data")
    _, _, summary, _ = profiled
    data, _ = raw_to_tool_data.xspace_to_tool_data([summary["profile"]["file"]], "input_pipeline_analyzer", {})
    tables = json.loads(data)
    steps_table = next(table for table in tables if any(col["id"] == "infeedTimeMs" for col in table["cols"]))
    names = [row["c"][0]["v"] for row in steps_table["rows"]]
    # XProf leaves out the first and the last step of a capture (they may be incomplete).
    assert names == [f"train {step}" for step in range(6, 16)]
    assert "waiting for input" in steps_table["p"]["input_conclusion"]


def test_the_device_busy_time_comes_from_the_same_capture(tmp_path):
    code, _, err = call("run", "--preset", "whatif", "--set", "model.kind=mlp", "--set", "model.hidden=[16]",
                        "--steps", "20", "--set", "run.profile_steps=6", "--profile-dir", str(tmp_path / "prof"),
                        "--out", str(tmp_path / "out"), "--set", "run.warmup_steps=5", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["profile"]["steps"] == summary["sync"]["captured_steps"] == [5, 11]
    assert summary["sync"]["device_busy_ms"] > 0


def test_a_run_too_short_for_its_capture_says_so(tmp_path):
    code, _, err = call("run", "--preset", "whatif", "--steps", "4", "--profile-dir", str(tmp_path / "prof"), *FAST)
    assert code == 0, err
    assert "tf.profiler capture: none in" in err and "the run ended before the capture" in err


@pytest.mark.parametrize("make", [lambda tmp: tmp / "a_file", lambda tmp: tmp / "a_file" / "under"])
def test_a_folder_that_cannot_be_made_is_bad_input(tmp_path, make):
    (tmp_path / "a_file").write_text("not a folder")
    folder = make(tmp_path)
    code, out, err = call("run", "--preset", "whatif", "--steps", "5", "--profile-dir", str(folder), *FAST)
    assert code == 2 and out == ""
    assert err.startswith(f"error: --profile-dir {folder}: cannot create the folder (") and err.count("\n") == 1, err
