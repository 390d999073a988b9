import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from core.spec.presets import load_preset  # noqa: E402
from core.spec.pipeline import apply_overrides  # noqa: E402
from tests.leak_guard import LeakGuard, describe_leaks, watch_processes, watch_python_threads  # noqa: E402


@pytest.fixture
def leak_guard(monkeypatch):
    """Fails the test if a Python thread or a process it started is still running at its end, naming where it
    began.

    GUI tests use it always (tests/gui/conftest.py adds Qt's timers and threads); others ask for it.
    Yields the guard, so a fixture that adds more to watch, or must check earlier, can."""
    guard = LeakGuard()
    watch_python_threads(guard, monkeypatch)
    watch_processes(guard, monkeypatch)
    yield guard
    leaks = guard.leaks()
    guard.stop_all(leaks)  # the next test gets a clean process; this one fails
    assert not leaks, describe_leaks(leaks)


@pytest.fixture
def whatif():
    """The whatif preset made quick: no CPU stage, a short run and warm-up."""

    def make(*assignments, steps=60):
        spec = load_preset("whatif")
        return apply_overrides(spec, [("stages.cpu.ms", 0), ("run.steps", steps), ("run.warmup_steps", 10),
                                      *assignments])

    return make


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    from core.engine.sample_data import write_sample_images

    folder = tmp_path_factory.mktemp("images")
    write_sample_images(folder, count=24, size=(40, 30))
    return folder


@pytest.fixture(scope="session")
def corrupt_folder(tmp_path_factory):
    from core.engine.sample_data import write_sample_images

    folder = tmp_path_factory.mktemp("corrupt")
    write_sample_images(folder, count=8, size=(40, 30), corrupt=8)
    return folder
