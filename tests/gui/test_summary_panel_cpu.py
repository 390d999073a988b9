"""The summary panel's CPU line: shares of the host's cores, read from the run's `cpu_split` only."""
from types import SimpleNamespace

import numpy as np

from core.engine.outcome import RunOutcome, RunStatus
from core.spec.records import COLUMNS

SPLIT = {"cores": 2, "wall_s": 10.0, "process_s": 12.0, "samples": 40, "sample_ms": 0.2, "threads": {},
         "seconds": {"input": 6.0, "model": 5.0, "profiler": 0.6, "other": 0.4},
         "recent": {"wall_s": 2.0, "process_s": 3.0,
                    "seconds": {"input": 1.52, "model": 1.2, "profiler": 0.12, "other": 0.16}}}


def shown(qtbot, status: RunStatus, split) -> tuple[str, str]:
    from gui.summary_panel import SummaryPanel

    panel = SummaryPanel()
    qtbot.addWidget(panel)
    run = SimpleNamespace(outcome=RunOutcome(status=status), cpu_split=split, device="/CPU:0", device_details={})
    panel.show_run(run, np.empty((0, len(COLUMNS))), 0)
    return panel.values["CPU"].text(), panel.values["CPU"].toolTip()


def test_a_running_run_shows_the_last_seconds_and_an_ended_one_its_whole_length(qtbot):
    text, details = shown(qtbot, RunStatus.RUNNING, SPLIT)
    assert text == "input 38% · model 30% · profiler 3% of 2 cores"
    assert details == ("CPU since the start: input 6.0 s · model 5.0 s · profiler 0.6 s · other 0.4 s "
                       "of 12.0 s used (10.0 s × 2 cores)")
    assert shown(qtbot, RunStatus.FINISHED, SPLIT)[0] == "input 30% · model 25% · profiler 3% of 2 cores"


def test_without_figures_the_line_says_so(qtbot):
    assert shown(qtbot, RunStatus.BUILDING, None)[0] == "–"
    text, details = shown(qtbot, RunStatus.FINISHED, {"unavailable": "this system is darwin"})
    assert (text, details) == ("unavailable", "this system is darwin")


def test_a_service_runs_workers_are_counted_beside_the_process_and_each_worker_has_its_line(qtbot):
    from gui.summary_panel import SummaryPanel

    split = SPLIT | {"seconds": SPLIT["seconds"] | {"service": 4.0}, "processes": {"worker 1 (pid 9)": 4.0},
                     "recent": SPLIT["recent"] | {"seconds": SPLIT["recent"]["seconds"] | {"service": 0.8}}}
    service = {"dispatcher": "grpc://localhost:5050", "elements_elsewhere": 0,
               "servers": [{"name": "dispatcher", "cpu_s": 0.1},
                           {"name": "worker 1", "cpu_s": 4.0, "elements": 1234}]}
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    run = SimpleNamespace(outcome=RunOutcome(status=RunStatus.RUNNING, service=service), cpu_split=split,
                          device="/CPU:0", device_details={})
    panel.show_run(run, np.empty((0, len(COLUMNS))), 0)
    assert panel.values["CPU"].text() == "input 38% · model 30% · profiler 3% · service 20% of 2 cores"
    assert panel.values["service"].text() == "worker 1: 1,234 elements, CPU 4.0 s"
    assert "no authentication" in panel.values["service"].toolTip()
