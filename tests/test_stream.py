"""The record stream: rows on disk while the run goes, a folder a kill leaves that `report` rebuilds,
the same text as Python's formatting, and trace.json valid JSON between appends."""
import json
import math
import signal
import subprocess
import sys
import time
from datetime import datetime

import numpy as np
import pytest

from core.engine.outcome import RunOutcome, RunStatus
from core.outputs.record_stream import WRITE_EVERY_S, RecordStream
from core.outputs.row_text import RowTemplate
from core.outputs.run_folder import load_run
from core.spec.records import COLUMNS, StageRecords, StepRecords
from tests.conftest import ROOT

FAST = ["--set", "stages.cpu.ms=0", "--set", "model.step_ms=2", "--set", "run.warmup_steps=5"]


class GrowingRun:
    """A run whose records the test appends itself, on its own schedule: no TensorFlow."""

    def __init__(self, spec):
        self.spec = spec
        self.records, self.stage_records = StepRecords(), StageRecords()
        self.outcome = RunOutcome(status=RunStatus.RUNNING)
        self.device, self.device_details, self.capacity = "/CPU:0", {}, 4
        self.started_at, self.extra, self.closed, self.cpu_split = None, {}, True, None  # as a live Run's (RunView)
        self._started = time.perf_counter()

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started

    def add_steps(self, count: int, batch_size: int = 32) -> None:
        for _ in range(count):  # times as the runner makes them: perf_counter_ns differences / 1e9
            ns = len(self.records) * 10_123_457
            self.records.append(ns / 1e9, (ns + 4_000_001) / 1e9, (ns + 9_000_003) / 1e9, 2, 0, batch_size,
                                (ns + 3_000_007) / 1e9)

    def add_sample(self, t: float, produced: int) -> None:
        self.stage_records.append(t, "io", 1, produced, 0, 0.25 * produced)


def data_lines(path) -> int:
    return len(path.read_bytes().split(b"\n")) - 2  # the header, and the empty piece after the last newline


def test_rows_are_on_disk_within_a_second_while_the_run_goes(tmp_path, whatif):
    run = GrowingRun(whatif())
    stream = RecordStream(run, tmp_path).start()
    try:
        for samples, expected in enumerate((100, 250), start=1):
            run.add_steps(expected - len(run.records))
            run.add_sample(len(run.records) * 0.01, len(run.records))
            on_disk = lambda: (data_lines(tmp_path / "steps.csv"), data_lines(tmp_path / "stages.csv"))  # noqa: E731
            added = time.monotonic()
            while on_disk() != (expected, samples) and time.monotonic() - added < 1.0:
                time.sleep(0.02)
            assert on_disk() == (expected, samples), "not flushed within a second"
            assert json.loads((tmp_path / "run.json").read_text())["status"] == "running"
            json.loads((tmp_path / "trace.json").read_text())  # valid JSON while the run goes
    finally:
        run.outcome.status = RunStatus.FINISHED
        stream.close()
    assert json.loads((tmp_path / "run.json").read_text())["closed"] is True


def test_a_folder_reads_back_as_recorded_and_a_cut_off_last_line_is_left_out(tmp_path, whatif):
    run = GrowingRun(whatif())
    run.add_steps(30)
    run.add_steps(20, batch_size=7)  # a smaller last batch: steps.csv has no column for it, run.json has
    for index in range(3):
        run.add_sample(0.1 * index, 10 * index)
    run.outcome.status = RunStatus.FINISHED
    RecordStream(run, tmp_path).close(extra={"ui_lag_ms": {"p50": 1.0}})
    with open(tmp_path / "steps.csv", "ab") as steps:
        steps.write(b"50,0.5,0.50")  # the row being written when a kill came
    loaded = load_run(tmp_path)
    assert np.array_equal(loaded.records.rows(), run.records.rows())  # exactly: times are written in ns
    assert np.array_equal(loaded.stage_records.rows(), run.stage_records.rows(), equal_nan=True)
    assert loaded.stage_records.stage_ids == ["io"] and loaded.extra == {"ui_lag_ms": {"p50": 1.0}}
    assert loaded.closed and loaded.outcome.status is RunStatus.FINISHED and loaded.spec == run.spec


def test_a_run_killed_mid_run_leaves_a_folder_report_rebuilds(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "run", "--preset", "whatif", "--seconds", "120",
                                "--out", str(out), *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while (not (out / "steps.csv").exists() or data_lines(out / "steps.csv") < 300) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # between two flushes, most likely: the stream must not lose more than its last second
    finally:
        process.send_signal(signal.SIGKILL)
        killed_at = time.time()
        process.communicate(timeout=30)
    facts = json.loads((out / "run.json").read_text())
    assert facts["status"] == "running" and not facts["closed"]

    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "report", str(out)], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "cut off (killed or crashed) while running" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    kept = summary["steps"]
    assert kept >= 300 and summary["status"] == "running" and "cut off" in summary["record_stream"]
    json.loads((out / "trace.json").read_text())
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    run_time_at_kill = killed_at - datetime.fromisoformat(facts["started_at"]).timestamp()
    lost_s = run_time_at_kill - summary["wall_s"]
    steps_run = kept + lost_s * summary["steps_per_s"]
    print(f"\nkilled after {run_time_at_kill:.2f} s of run: {kept} rows kept of about {steps_run:.0f} steps run, "
          f"the last {lost_s:.2f} s lost")
    assert lost_s < 2 * WRITE_EVERY_S + 0.1  # the ms of started_at, and the kill itself


@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize("decimals", [0, 1, 4, 9])
def test_row_text_writes_what_python_formatting_writes(decimals, pad):
    rng = np.random.default_rng(decimals)
    values = np.concatenate((rng.normal(0, 100, 500), rng.random(500) * 1e-3, [0.0, 1.0, -2.5, 123456.0]))
    text = RowTemplate(f"{{x:.{decimals}}};{{{{{{i}}}}}}\n", pad=pad).render(x=values, i=np.arange(len(values)))
    expected = [f"{value:.{decimals}f};{{{i}}}" for i, value in enumerate(values)]
    lines = text.decode().replace(" ", "").splitlines()  # padded: spaces before each number
    # Half-way cases may round either way: numpy rounds the scaled value, Python the exact one.
    mismatched = [(got, want) for got, want in zip(lines, expected)
                  if got != want.replace("-0.", "0.") and not _one_unit_apart(got, want, decimals)]
    assert len(lines) == len(values) and not mismatched, mismatched[:5]


def _one_unit_apart(got: str, want: str, decimals: int) -> bool:
    return math.isclose(float(got.split(";")[0]), float(want.split(";")[0]), abs_tol=1.01 * 10.0 ** -decimals)


def test_a_run_that_did_not_stream_writes_the_same_files_at_the_end(tmp_path, whatif):
    """The app's exports: the same files from a run that has ended, by the same code."""
    run = GrowingRun(whatif())
    run.add_steps(40)
    run.add_sample(0.2, 20)
    run.outcome.status = RunStatus.STOPPED
    from core.outputs.run_files import write_run_files

    summary = write_run_files(run, tmp_path / "export", extra={"ui_lag_ms": {"p50": 2.0}})
    assert summary["steps"] == 40 and summary["ui_lag_ms"] == {"p50": 2.0}
    names = sorted(path.name for path in (tmp_path / "export").iterdir())
    assert names == ["run.json", "stages.csv", "steps.csv", "summary.json", "timeline.png", "trace.json"]
    assert np.array_equal(load_run(tmp_path / "export").records.rows(), run.records.rows())
    assert len(COLUMNS) == 7  # steps.csv and run.json between them hold every column of the records
