"""The Bottleneck panel on a watched script's job (issue 16 §5): nothing is run, the stage that holds the job is
named with its line, and a recommendation goes to the job while it trains, or says how to make it once it has
ended. A real job (tests/watch_scripts/custom_loop.py, its map on one call) is recorded once by `watch`."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PyQt5 import QtWidgets

from core.outputs.run_folder import load_run
from core.spec.presets import load_preset
from gui.analysis_panel import AnalysisPanel
from tests.gui.test_analysis_panel import ANALYSIS
from tests.gui.test_run import wait_finished
from tests.gui.test_watch_app import watched_job
from tests.test_watched_run import CUSTOM_LOOP, MAP_LINE

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--epochs", "3", "--examples", "320", "--work", "80"]
MAP_CALL = "`.map(slow_read, num_parallel_calls=1)`"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The folder of a job whose one-call map of 80 matrix products an example holds it (60 steps)."""
    folder = tmp_path_factory.mktemp("watched") / "job"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "watch", "--out", str(folder), CUSTOM_LOOP, *ARGS],
                   check=True, cwd=ROOT, capture_output=True, timeout=240)
    return folder


def panel_on(qtbot, run, ended: bool = True, running: bool = False) -> AnalysisPanel:
    entry = SimpleNamespace(id=7, run=run, ended=ended, loaded=ended)
    widget = AnalysisPanel(lambda: load_preset("whatif"), lambda _spec: None, lambda: running,
                           current_run=lambda: entry)
    qtbot.addWidget(widget)
    return widget


def apply_buttons(widget) -> list[QtWidgets.QPushButton]:
    return [button for button in widget.findChildren(QtWidgets.QPushButton) if button.text() == "Apply"]


def test_a_recorded_job_is_read_not_run_and_its_bottleneck_named_with_its_line(qtbot, recorded):
    widget = panel_on(qtbot, load_run(recorded))
    widget.update_enabled()
    assert widget.analyze_button.isEnabled() and "nothing is run" in widget.analyze_button.toolTip()
    widget.start()
    assert widget.worker is None  # no measuring thread: the records are read
    assert widget.analysis["source"] == "watch" and widget.analysis["bottleneck"] == "slow_read"
    assert widget.status.text().startswith("Nothing was run: read from what tf.data measured while custom_loop.py")
    table = widget.table
    assert [table.horizontalHeaderItem(column).text() for column in range(table.columnCount())] == \
        ["stage", "elements/s", "steps/s"]
    assert table.item(0, 0).text() == f"slow_read\ncustom_loop.py:{MAP_LINE}"
    assert f"custom_loop.py:{MAP_LINE} · dataset = dataset.map(slow_read, num_parallel_calls=1)" in \
        table.item(0, 0).toolTip() and "1 call at a time" in table.item(0, 0).toolTip()
    marked = [table.item(row, 0).background().color().name() for row in range(table.rowCount())]
    assert marked[0] != marked[-1] and table.item(table.rowCount() - 1, 0).text() == "model"
    assert f"Bottleneck: slow_read (custom_loop.py:{MAP_LINE})" in widget.verdict.text()
    (recommendation,) = widget.analysis["recommendations"]
    said = [label.text() for label in widget.findChildren(QtWidgets.QLabel)]
    assert any(text.startswith(f"custom_loop.py:{MAP_LINE} {MAP_CALL} holds the job: give it 2 calls (or AUTOTUNE)")
               and "steps/s expected" in text for text in said)
    assert recommendation["change"] == "stages.slow_read.num_parallel_calls=2" and len(apply_buttons(widget)) == 1
    # A built-in pipeline's analysis afterwards has its live column back.
    widget.show_analysis(ANALYSIS)
    assert widget.table.columnCount() == 4 and widget.table.horizontalHeaderItem(3).text() == "live el/s"


def test_applying_on_a_job_that_has_ended_says_how_to_make_the_change(qtbot, recorded):
    widget = panel_on(qtbot, load_run(recorded))
    widget.start()
    with qtbot.assertNotEmitted(widget.apply_requested):
        apply_buttons(widget)[0].click()
    text = widget.how_to_apply.text()
    assert text.startswith("The job has ended, so stages.slow_read.num_parallel_calls=2 cannot reach it")
    assert f"edit custom_loop.py:{MAP_LINE}" in text
    assert f"python main.py watch --change-at 30 stages.slow_read.num_parallel_calls=2 {CUSTOM_LOOP} " \
           f"{' '.join(ARGS)}" in text


def test_a_job_still_training_is_read_while_it_runs_and_a_change_goes_to_it(qtbot, recorded):
    live = copy.copy(load_run(recorded))  # the job's records as far as it has gone, and it takes changes
    live.accepts_changes = True
    widget = panel_on(qtbot, live, ended=False, running=True)
    widget.update_enabled()
    assert widget.analyze_button.isEnabled()  # reading beside the job slows nothing
    widget.start()
    assert "so far (60 steps): press Analyze again" in widget.status.text()
    expected = widget.analysis["recommendations"][0]["expected_steps_per_s"]
    with qtbot.waitSignal(widget.apply_requested) as applied:
        apply_buttons(widget)[0].click()
    assert applied.args == ["stages.slow_read.num_parallel_calls=2", expected] and not widget.how_to_apply.text()


def test_a_job_with_too_few_steps_is_not_analyzed_yet(qtbot, recorded):
    run = load_run(recorded)
    run.records = type(run.records)()
    widget = panel_on(qtbot, run, ended=False, running=True)
    widget.start()
    assert widget.analysis is None and widget.status.text().startswith("Cannot analyze yet: 0 step(s) recorded")


@pytest.mark.timeout(180)
def test_in_the_app_analyze_reads_the_watched_job_and_apply_changes_it_while_it_trains(window, qtbot):
    run = watched_job(window, qtbot, CUSTOM_LOOP, "--epochs 30 --examples 320 --work 80")
    panel = window.tuning.panel
    qtbot.waitUntil(lambda: len(run.records) >= 8 and len(run.stage_records) >= 4, timeout=60_000)
    assert panel.analyze_button.isEnabled()  # while the job trains
    window.tuning.analyze()
    assert panel.worker is None and panel.analysis["bottleneck"] == "slow_read"
    assert f"Bottleneck: slow_read (custom_loop.py:{MAP_LINE})" in panel.verdict.text()
    apply_buttons(panel)[0].click()  # into the document, sent to the script as a what-if edit
    qtbot.waitUntil(lambda: bool(run.outcome.changes) and not run.change_pending, timeout=60_000)
    assert run.outcome.changes[0].description == "stages.slow_read.num_parallel_calls=2"
    assert [prediction.run_id for prediction in panel.predictions] == [window.controller.history.current.id]
    window.controller.stop()
    wait_finished(window, qtbot, timeout=30_000)
    apply_buttons(panel)[0].click()  # the job has ended: how to make it
    assert panel.how_to_apply.text().startswith("The job has ended")
