"""The session's runs in the app: the Runs dock, the A/B view, and sessions saved and reopened.

Runs are fakes replaying recorded steps (tests/gui/fakes.py), recorded into the test's own runs folder
by the same stream the engine's runs use, so sessions and exports read real run folders.
"""
from __future__ import annotations

import json
import shutil

import pytest
from PyQt5 import QtCore, QtWidgets

from core.spec.params import SpecError
from core.spec.pipeline import apply_overrides
from gui.document import stage_key
from gui.history_panel import CURRENT_BACKGROUND, LABEL, PICK, RATE, STATUS, STEPS
from tests.gui.fakes import recorded_rows

WARMUP = 5


def wait_finished(window, qtbot):
    qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                    timeout=30_000)


def run_once(window, qtbot, fake_runs, steps: int, wait_s: float = 0.004):
    fake_runs.rows = recorded_rows(steps, wait_s=wait_s)
    assert window.start_run()
    wait_finished(window, qtbot)


@pytest.fixture
def two_runs(window, qtbot, fake_runs):
    """#1 with stages.io.ms 4 (50 steps), #2 with 12 (80 steps, each waiting longer)."""
    spec = window.document.spec()
    window.load_spec(apply_overrides(spec, [("run.warmup_steps", WARMUP), ("stages.io.ms", 4.0)]))
    run_once(window, qtbot, fake_runs, 50)
    window.document.set_value(stage_key("io"), "ms", 12.0)
    run_once(window, qtbot, fake_runs, 80, wait_s=0.012)
    return window.controller.history.entries


def shown(item) -> bool:
    """Highlighted as the run the plots show."""
    return item.background(LABEL).color() == CURRENT_BACKGROUND


def rows_of(panel) -> list[list[str]]:
    """Per run listed: its label, its status and its steps."""
    return [[item.text(column) for column in (LABEL, STATUS, STEPS)] for item in panel._items()]


def test_the_runs_dock_lists_the_runs_newest_first(window, two_runs):
    panel = window.history_panel
    assert rows_of(panel) == [["#2 whatif", "finished", "80"], ["#1 whatif", "finished", "50"]]
    newest = panel._items()[0]
    assert float(newest.text(RATE)) == pytest.approx(1 / 0.018, rel=0.01)  # 12 ms waiting + 6 ms computing
    assert shown(newest) and not shown(panel._items()[1])


def test_the_comparison_window_is_made_on_the_first_compare_only(window, two_runs):
    panel = window.history_panel
    assert panel._compare_view is None  # not at start-up, nor after runs
    panel.pick([entry.id for entry in two_runs])
    panel.compare_button.click()
    assert panel._compare_view is not None and panel.compare_view.isVisible()
    panel.compare_view.close()


def test_a_run_going_is_listed_and_its_steps_follow(window, qtbot, fake_runs):
    panel = window.history_panel
    fake_runs.hold_at = 25
    window.start_run()
    qtbot.waitUntil(lambda: panel._items() and panel._items()[0].text(STEPS) == "25", timeout=10_000)
    assert rows_of(panel)[0] == ["#1 whatif", "running", "25"] and panel._items()[0].text(RATE) == "–"
    window.controller.stop()
    wait_finished(window, qtbot)
    qtbot.waitUntil(lambda: rows_of(panel)[0][1] == "stopped", timeout=5_000)


def test_clicking_a_run_shows_it_in_the_plots(window, qtbot, two_runs):
    first = two_runs[0]
    window.history_dock.raise_()  # a tab beside the run summary
    tree = window.history_panel.tree
    item = window.history_panel._items()[1]
    qtbot.mouseClick(tree.viewport(), QtCore.Qt.LeftButton, pos=tree.visualItemRect(item).center())
    assert window.controller.history.current is first and window.live_view.entry is first
    assert len(window.live_view.buffer) == 50 and window.live_view.summary.latest["steps"] == 50
    assert shown(window.history_panel._items()[1])


def test_ticking_two_runs_and_compare_overlays_them_from_their_start(window, two_runs):
    panel = window.history_panel
    assert not panel.compare_button.isEnabled()
    panel.pick([entry.id for entry in two_runs])
    assert panel.compare_button.isEnabled() and panel.compare_button.text() == "Compare 2 runs"
    assert window.controller.history.current is two_runs[1]  # ticking does not change the run shown
    panel.compare_button.click()
    view = panel.compare_view
    assert view.isVisible()
    plots = view.plots
    for index, steps in enumerate((50, 80)):
        measured_x, _ = plots.step_curves[index].getData()
        warmup_x, _ = plots.warmup_curves[index].getData()
        idle_x, idle = plots.idle_curves[index].getData()
        assert warmup_x[0] == 0.0 and idle_x[0] == 0.0  # each run on its own clock, from its first step
        assert len(measured_x) == steps - WARMUP and len(warmup_x) == WARMUP + 1
        assert len(idle) >= 1
    assert plots.idle_curves[1].getData()[1].mean() > plots.idle_curves[0].getData()[1].mean()  # it waited longer
    assert "#1 whatif" in view.legend.text() and "(baseline)" in view.legend.text()

    headers = [view.figures.horizontalHeaderItem(column).text() for column in range(view.figures.columnCount())]
    assert headers == ["figure", "#1 whatif", "#2 whatif", "#2 whatif vs #1 whatif"]
    steps_per_s = [view.figures.item(0, column).text() for column in range(4)]
    assert steps_per_s[0] == "steps_per_s" and steps_per_s[3].startswith("-")  # slower than the baseline
    assert view.descriptions.toPlainText().splitlines() == ["#2 whatif against #1 whatif:",
                                                            "  stages.io.ms: 4.0 → 12.0"]
    view.close()


def test_the_comparison_exports_the_runs_recorded_on_disk(window, two_runs, tmp_path):
    view = window.history_panel.compare_view
    view.show_entries(two_runs)
    said = view.export_to(tmp_path / "out")
    written = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert [run["folder"] for run in written["runs"]] == [entry.folder for entry in two_runs]
    assert (tmp_path / "out" / "compare.png").stat().st_size > 1000
    assert "A = #1 whatif, B = #2 whatif" in said and said in view.note.text()
    view.close()


def test_a_run_not_on_disk_is_left_out_of_the_export(window, qtbot, fake_runs, two_runs, tmp_path):
    window.controller.run_folders = None  # the next run is not recorded
    run_once(window, qtbot, fake_runs, 30)
    view = window.history_panel.compare_view
    entries = window.controller.history.entries
    view.show_entries([entries[0], entries[2]])
    with pytest.raises(SpecError, match=r"need two runs recorded on disk.*#3 whatif: not recorded"):
        view.export_to(tmp_path / "out")
    view.show_entries(entries)
    assert "Left out, not recorded on disk: #3 whatif." in view.export_to(tmp_path / "out")
    view.close()


@pytest.fixture
def second_window(qtbot, tmp_path):
    """Another app window, as at the next start: its own settings and runs folder."""
    from gui.main_window import MainWindow

    settings = QtCore.QSettings(str(tmp_path / "other.ini"), QtCore.QSettings.IniFormat)
    other = MainWindow(settings, runs_folder=tmp_path / "other-runs")
    other.show()
    yield other
    other.document.undo_stack.setClean()
    other.close()
    other.deleteLater()


def test_a_saved_session_reopens_with_its_pipeline_and_runs(window, two_runs, tmp_path, second_window):
    path = tmp_path / "s.pipescope-session.json"
    assert window.session_actions.save_session(path) == []
    assert "the pipeline and 2 runs" in window.statusBar().currentMessage()

    assert second_window.session_actions.open_session(path) == []
    assert second_window.document.spec().to_dict() == window.document.spec().to_dict()
    assert second_window.document.spec().stage("io").params["ms"] == 12.0
    entries = second_window.controller.history.entries
    assert [(entry.label, len(entry.rows()), entry.folder) for entry in entries] == [
        (entry.label, len(entry.rows()), entry.folder) for entry in two_runs]
    assert second_window.controller.history.current is entries[1] and len(second_window.live_view.buffer) == 80
    assert rows_of(second_window.history_panel)[0] == ["#2 whatif", "finished", "80"]


def test_a_run_folder_gone_is_said_in_one_line_and_skipped(window, two_runs, tmp_path, second_window):
    path = tmp_path / "s.pipescope-session.json"
    window.session_actions.save_session(path)
    shutil.rmtree(two_runs[0].folder)
    skipped = second_window.session_actions.open_session(path)
    assert len(skipped) == 1 and skipped[0].startswith(f"#1 whatif: skipped, {two_runs[0].folder}: no such folder")
    assert [entry.label for entry in second_window.controller.history.entries] == ["#2 whatif"]
    assert "Opened the session" in second_window.statusBar().currentMessage()
    assert "#1 whatif: skipped" in second_window.statusBar().currentMessage()


def test_a_session_that_is_not_one_is_an_error_naming_the_file(window, tmp_path):
    path = tmp_path / "s.pipescope-session.json"
    path.write_text(json.dumps({"format": "pipescope-session", "version": 1}))
    with pytest.raises(SpecError, match=r"s\.pipescope-session\.json: pipeline: missing"):
        window.session_actions.open_session(path)


def test_ticks_survive_a_new_run_and_only_tick_boxes_pick(window, qtbot, fake_runs, two_runs):
    panel = window.history_panel
    panel.pick([two_runs[0].id])
    run_once(window, qtbot, fake_runs, 20)
    checked = [item.checkState(PICK) == QtCore.Qt.Checked for item in panel._items()]
    assert checked == [False, False, True] and [entry.id for entry in panel.picked()] == [two_runs[0].id]


def test_clicking_a_tick_box_picks_the_run_and_leaves_the_plots_on_theirs(window, qtbot, two_runs):
    window.history_dock.raise_()
    tree = window.history_panel.tree
    older = window.history_panel._items()[1]
    box = tree.style().subElementRect(QtWidgets.QStyle.SE_ItemViewItemCheckIndicator, _item_option(tree, older), tree)
    qtbot.mouseClick(tree.viewport(), QtCore.Qt.LeftButton, pos=box.center())
    assert [entry.id for entry in window.history_panel.picked()] == [two_runs[0].id]
    assert window.controller.history.current is two_runs[1]


def _item_option(tree, item) -> QtWidgets.QStyleOptionViewItem:
    option = QtWidgets.QStyleOptionViewItem()
    option.initFrom(tree)
    option.rect = tree.visualItemRect(item)
    option.features |= QtWidgets.QStyleOptionViewItem.HasCheckIndicator | QtWidgets.QStyleOptionViewItem.HasDisplay
    option.text = item.text(LABEL)  # the box's place depends on nothing else here
    return option


def test_a_run_ending_beside_earlier_ones_brings_the_runs_to_the_front(window, qtbot, fake_runs):
    run_once(window, qtbot, fake_runs, 20)
    assert window.history_dock.visibleRegion().isEmpty()  # one run: its summary stays in front
    run_once(window, qtbot, fake_runs, 20)
    assert not window.history_dock.visibleRegion().isEmpty()
