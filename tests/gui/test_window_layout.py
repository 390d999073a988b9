"""The window on a laptop screen after runs: the run summary's lines whole, the Runs list a few rows high,
the tabs of the docks with their titles whole (issue 15 §6). Runs are fakes carrying the longest figures a
real run shows: the CPU split, the device's busy time, a reason for missing stage figures."""
from __future__ import annotations

import pytest
from PyQt5 import QtCore, QtWidgets

from tests.gui import fakes

LAPTOP, SMALLEST = (1400, 900), (1000, 650)
CPU_SPLIT = {"cores": 2, "wall_s": 10.0, "process_s": 12.0, "samples": 40, "sample_ms": 0.2, "threads": {},
             "seconds": {"input": 6.0, "model": 5.0, "profiler": 0.6, "other": 0.4}}
NO_STAGE_FIGURES = "tf.data's live model could not be read (InvalidArgumentError: no such iterator)"


def run_with_long_figures(spec):
    run = fakes.FakeRun(spec)
    run.cpu_split = CPU_SPLIT
    run.device_details = {"name": "Intel(R) Xeon(R) Processor", "compute_capability": None}
    run.outcome.device_busy = {"device_busy_ms": 9.01, "captured_steps": [20, 30], "device_busy": "the model's ops"}
    run.stage_records.unavailable = NO_STAGE_FIGURES
    return run


@pytest.fixture
def after_runs(window, qtbot, qapp, monkeypatch):
    """The window after three runs, the last one shown."""
    monkeypatch.setattr("gui.worker.Run", run_with_long_figures)
    for _ in range(3):
        assert window.start_run()
        qtbot.waitUntil(lambda: window.controller.last_run is not None and not window.controller.running,
                        timeout=30_000)
    window.live_view.show_entry(window.controller.history.current)  # with its stage figures' line
    return window


def settle(qapp, window, size) -> None:
    window.resize(*size)
    for _ in range(3):
        qapp.processEvents()


def text_cut_short(label: QtWidgets.QLabel, viewport: QtWidgets.QWidget) -> bool:
    """The label's text does not fit its place, or the place runs past the visible width."""
    if label.wordWrap():
        too_small = label.heightForWidth(label.width()) > label.height()
    else:
        too_small = label.sizeHint().width() > label.width()
    right_edge = label.mapTo(viewport, QtCore.QPoint(label.width(), 0)).x()
    return too_small or right_edge > viewport.width()


def whole_title_widths(bar: QtWidgets.QTabBar) -> list[int]:
    """The widths of the bar's tabs with nothing cut, as a tab bar of the same font lays them out."""
    reference = QtWidgets.QTabBar()
    reference.setFont(bar.font())
    reference.setExpanding(False)  # each tab its size hint: its title, whole
    for index in range(bar.count()):
        reference.addTab(bar.tabText(index))
    reference.resize(reference.sizeHint())
    return [reference.tabRect(index).width() for index in range(reference.count())]


@pytest.mark.parametrize("size", [LAPTOP, SMALLEST])
def test_every_line_of_the_run_summary_is_shown_whole(after_runs, qapp, size):
    window = after_runs
    settle(qapp, window, size)
    window.summary_dock.raise_()
    qapp.processEvents()
    values = window.live_view.summary.values
    assert "device busy 9.01 ms" in values["compute p50"].text()
    assert values["CPU"].text().endswith("of 2 cores") and NO_STAGE_FIGURES in values["stage figures"].text()
    area = window.summary_dock.widget()
    assert not area.horizontalScrollBar().isVisible()
    cut = [name for name, label in values.items() if text_cut_short(label, area.viewport())]
    assert cut == []


def test_the_runs_list_shows_five_rows_at_least(after_runs, qapp):
    window = after_runs
    window.history_dock.raise_()
    tree = window.history_panel.tree
    assert tree.topLevelItemCount() == 3
    row_height = tree.visualItemRect(tree.topLevelItem(0)).height()
    for size in (SMALLEST, LAPTOP):  # and grown from there, as a window first opened on a smaller screen
        settle(qapp, window, size)
        assert tree.viewport().height() >= 5 * row_height, size


@pytest.mark.parametrize("size", [LAPTOP, SMALLEST])
def test_the_docks_tab_titles_are_whole(after_runs, qapp, size):
    window = after_runs
    settle(qapp, window, size)
    bars = [bar for bar in window.findChildren(QtWidgets.QTabBar) if bar.isVisible()]
    titles = sorted(bar.tabText(index) for bar in bars for index in range(bar.count()))
    assert titles == sorted(["Inspector", "What-if", "Bottleneck", "Summary", "Before/after", "Runs"])
    for bar in bars:
        shown = [bar.tabRect(index).width() for index in range(bar.count())]
        assert all(width >= whole for width, whole in zip(shown, whole_title_widths(bar))), titles
