"""GUI tests run offscreen; any test that leaves a run thread or one of our timers going fails."""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from PyQt5 import QtCore  # noqa: E402


def _running_threads() -> list:
    return [obj for obj in gc.get_objects() if isinstance(obj, QtCore.QThread) and _alive(obj) and obj.isRunning()]


def _active_timers() -> list:
    return [obj.objectName() for obj in gc.get_objects()
            if isinstance(obj, QtCore.QTimer) and _alive(obj) and obj.objectName().startswith("pipescope")
            and obj.isActive()]


def _alive(obj) -> bool:
    import sip

    try:
        return not sip.isdeleted(obj)
    except TypeError:
        return False


def pytest_collection_modifyitems(items):
    for item in items:  # a modal dialog by mistake must fail a test, not hang the suite
        if item.get_closest_marker("timeout") is None and "tests/gui" in str(item.fspath):
            item.add_marker(pytest.mark.timeout(90))


@pytest.fixture(autouse=True)
def no_leftover_threads_or_timers(qapp):
    yield
    qapp.processEvents()
    threads, timers = _running_threads(), _active_timers()
    for thread in threads:  # leave the next test a clean process, then fail this one
        thread.run_obj.request_stop() if hasattr(thread, "run_obj") else None
        thread.wait(30_000)
    assert not threads, f"a test left {len(threads)} QThread(s) running"
    assert not timers, f"a test left timers active: {timers}"


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from core.spec.presets import load_preset
    from gui.main_window import MainWindow

    main = MainWindow(settings)
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
    """Runs replay recorded steps instead of training: `fake_runs.hold_at = N` holds a run at step N."""
    from types import SimpleNamespace

    from tests.gui import fakes

    options = SimpleNamespace(hold_at=None, rows=None, made=[])

    def make_run(spec):
        run = fakes.FakeRun(spec, options.rows, options.hold_at)
        options.made.append(run)
        return run

    monkeypatch.setattr("gui.worker.Run", make_run)
    return options
