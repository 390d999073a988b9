"""`report DIR`: the run's own figures again from what it streamed, and one-line errors for folders that hold no run."""
import json

import numpy as np
import pytest

import main
from core.outputs.run_folder import load_run
from core.outputs.summary import build_summary, service_summary

FAST = ["--set", "stages.cpu.ms=0", "--set", "model.step_ms=2", "--set", "run.warmup_steps=5", "--quiet"]


def call(capsys, *argv):
    code = main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A real whatif run with a what-if change, streamed to a folder; its own files as it wrote them."""
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main.main(["run", "--preset", "whatif", "--steps", "60", "--change-at", "30", "stages.io.ms=1",
                      "--out", str(out), *FAST]) == 0
    own = {name: (out / name).read_bytes() for name in ("summary.json", "trace.json", "steps.csv", "stages.csv")}
    return out, own


def trace_events(text: bytes) -> list:
    return sorted(json.dumps(event, sort_keys=True) for event in json.loads(text)["traceEvents"])


def test_report_rebuilds_the_runs_own_summary_and_trace(capsys, finished_run):
    out, own = finished_run
    for name in ("summary.json", "trace.json", "timeline.png"):
        (out / name).unlink()
    code, stdout, err = call(capsys, "report", str(out))
    assert code == 0 and not err, err
    assert stdout.startswith("whatif: 60 steps on ") and stdout.count("\n") == 1
    rebuilt = json.loads((out / "summary.json").read_text())
    assert rebuilt == json.loads(own["summary.json"])  # the same figures, to the last digit
    assert rebuilt["config_changes"][0]["step"] == 30 and rebuilt["status"] == "finished"
    assert rebuilt["cpu"]["total_s"] > 0 and rebuilt["cpu"]["input_s"] > 0  # the run's CPU split, kept in run.json
    # Written in another order (the stream interleaves stage samples and changes with the steps), the same events.
    assert trace_events((out / "trace.json").read_bytes()) == trace_events(own["trace.json"])
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "steps.csv").read_bytes() == own["steps.csv"]  # report reads the records, never rewrites them


def test_the_loader_gives_a_run_as_the_app_and_the_summary_read_it(finished_run):
    out, own = finished_run
    run = load_run(out)
    assert run.closed and str(run.outcome.status) == "finished" and run.spec.name == "whatif"
    assert run.spec.stage("io").params["ms"] == 1.0 and run.target() == (60, None)
    assert len(run.records) == 60 and set(run.records.rows()[:, 5]) == {32}  # batch sizes, from run.json
    assert run.device == "/CPU:0" and run.capacity == 4 and run.started_at
    assert run.elapsed_s() == pytest.approx(json.loads(own["summary.json"])["wall_s"], abs=1e-4)
    assert build_summary(run, run.extra)["steps_per_s"] == json.loads(own["summary.json"])["steps_per_s"]
    assert np.all(np.diff(run.records.rows()[:, 0]) > 0)


@pytest.mark.parametrize("make, expected", [
    (lambda folder: None, "{folder}: no such folder"),
    (lambda folder: folder.mkdir(), "{folder}: no run recorded here (no run.json; `run --out DIR` records a run)"),
    (lambda folder: (folder.mkdir(), (folder / "summary.json").write_text("{}")),
     "{folder}: no run recorded here (it has a summary.json but no run.json: an earlier Pipescope wrote it"),
    (lambda folder: (folder.mkdir(), (folder / "run.json").write_text("[")),
     "{folder}/run.json: cannot read it ("),
])
def test_a_folder_without_a_run_is_one_line_naming_it_and_exit_2(capsys, tmp_path, make, expected):
    folder = tmp_path / "nothing here"
    make(folder)
    code, out, err = call(capsys, "report", str(folder))
    assert code == 2 and not out
    assert err.startswith("error: " + expected.format(folder=folder)) and err.count("\n") == 1, err


def test_a_damaged_steps_csv_is_one_line_naming_the_file(capsys, finished_run, tmp_path):
    out, _ = finished_run
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in out.iterdir():
        (damaged / path.name).write_bytes(path.read_bytes())
    lines = (damaged / "steps.csv").read_bytes().split(b"\n")
    lines[10] = b"garbage"
    (damaged / "steps.csv").write_bytes(b"\n".join(lines))
    code, _, err = call(capsys, "report", str(damaged))
    assert code == 2 and err.startswith(f"error: {damaged / 'steps.csv'}: line 11 is not a step") and err.count("\n") == 1


def test_a_service_worker_that_served_nothing_has_a_rate_of_zero_and_no_cost_an_element():
    servers = [{"name": "dispatcher", "pid": 1, "cpu_s": 0.5},
               {"name": "worker 1", "pid": 2, "cpu_s": 2.0, "elements": 100},
               {"name": "worker 2", "pid": 3, "cpu_s": 1.0, "elements": 0}]  # joined after the data was served
    figures = {server["name"]: server for server in service_summary({"servers": servers}, wall_s=4.0)["servers"]}
    assert "elements_per_s" not in figures["dispatcher"]
    assert figures["worker 1"]["elements_per_s"] == 25.0 and figures["worker 1"]["cpu_ms_per_element"] == 20.0
    assert figures["worker 2"]["elements_per_s"] == 0.0 and figures["worker 2"]["cpu_ms_per_element"] is None
