"""GUI tests run offscreen; a test that leaves any thread or timer running fails, naming where it was started."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from PyQt5 import QtCore  # noqa: E402

from tests.leak_guard import watch_qt  # noqa: E402


def pytest_collection_modifyitems(items):
    for item in items:  # a modal dialog by mistake must fail a test, not hang the suite
        if item.get_closest_marker("timeout") is None and "tests/gui" in str(item.fspath):
            item.add_marker(pytest.mark.timeout(90))


@pytest.fixture(autouse=True)
def no_leftover_threads_or_timers(qapp, leak_guard, monkeypatch):
    """Every GUI test is guarded: Qt's timers and threads too, with pending events run before the check."""
    leak_guard.settle = qapp.processEvents
    watch_qt(leak_guard, monkeypatch)
    yield


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings, tmp_path):
    """The main window on whatif, its settings and the folders its runs are recorded in the test's own."""
    from core.spec.presets import load_preset
    from gui.main_window import MainWindow

    main = MainWindow(settings, runs_folder=tmp_path / "runs")
    main.load_spec(load_preset("whatif"))
    main.show()
    yield main
    main.document.undo_stack.setClean()  # closing must not stop at the unsaved-changes question
    main.close()
    main.deleteLater()


def type_into(field, text: str) -> None:
    """Type into a line edit and leave it, as a user does (the edit commits on leaving)."""
    field.setText(text)
    field.editingFinished.emit()


@pytest.fixture
def fake_runs(monkeypatch):
    """Runs replay recorded steps instead of training. Options for the runs started next: `rows`,
    `hold_at = N` (hold at step N until stopped), `realtime`, `fail_with`; `made` lists the runs."""
    from types import SimpleNamespace

    from tests.gui import fakes

    options = SimpleNamespace(hold_at=None, rows=None, realtime=False, fail_with=None, made=[])

    def make_run(spec):
        run = fakes.FakeRun(spec, options.rows, options.hold_at, options.realtime, options.fail_with)
        options.made.append(run)
        return run

    monkeypatch.setattr("gui.worker.Run", make_run)
    return options
