"""The app's worker runs what a run factory makes (as a watched job will be made); without one, the engine's Run."""
import pytest

from gui.run_controller import RunController
from gui.worker import RunWorker
from tests.gui.fakes import FakeRun


def test_the_controller_runs_what_its_factory_makes_and_sends_it_changes(qtbot, whatif):
    controller, made = RunController(), []

    def make_run(spec):
        made.append(FakeRun(spec, hold_at=10))
        return made[-1]

    controller.start(whatif(), run_factory=make_run)
    qtbot.waitUntil(lambda: len(made[0].records) == 10)
    controller.send_change(whatif(("model.step_ms", 3)))
    with qtbot.waitSignal(controller.run_finished):
        controller.stop()
    assert controller.last_run is made[0] and made[0].outcome.status == "stopped"
    assert len(made[0].changes_requested) == 1


def test_a_factory_makes_its_own_run_so_no_profile_dir_goes_with_it(whatif, tmp_path):
    with pytest.raises(ValueError, match="run factory"):
        RunWorker(whatif(), profile_dir=str(tmp_path), run_factory=FakeRun)
