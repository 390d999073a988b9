"""Every run-like object carries every member RunView names, so readers need no getattr fallbacks:
the engine's Run, a run loaded from its folder and the GUI tests' FakeRun. No TensorFlow runs here."""
import pytest

from core.engine.run_protocol import LiveRun, RunView
from core.engine.runner import Run
from core.outputs.record_stream import RecordStream
from core.outputs.run_folder import load_run
from tests.gui.fakes import FakeRun

LIVE = {"Run": True, "FakeRun": True, "LoadedRun": False}  # made in this process, or read back from a folder


def members(protocol) -> set[str]:
    """What `protocol` and the protocols of run_protocol it extends name: attributes and methods."""
    declared = [cls for cls in protocol.__mro__ if cls.__module__ == RunView.__module__]
    return {name for cls in declared for name in (*cls.__annotations__, *vars(cls)) if not name.startswith("_")}


def made(kind: str, spec, folder):
    if kind == "Run":
        return Run(spec)  # made, not run: TensorFlow loads only in run()
    if kind == "FakeRun":
        return FakeRun(spec)
    RecordStream(FakeRun(spec).finish_now(), folder).close()
    return load_run(folder)


def test_the_protocol_names_what_readers_use():
    assert members(RunView) == {"spec", "records", "stage_records", "outcome", "device", "device_details",
                                "capacity", "started_at", "extra", "closed", "cpu_split", "change_pending",
                                "accepts_changes", "target", "elapsed_s"}
    assert members(LiveRun) - members(RunView) == {"run", "request_stop", "request_change"}


@pytest.mark.parametrize("kind", sorted(LIVE))
def test_every_run_carries_every_member(kind, whatif, tmp_path):
    run = made(kind, whatif(), tmp_path)
    assert sorted(name for name in members(RunView) if not hasattr(run, name)) == []
    assert isinstance(run, RunView) and isinstance(run, LiveRun) is LIVE[kind]


@pytest.mark.parametrize("kind", sorted(LIVE))
def test_only_a_run_made_here_takes_changes_and_only_a_loaded_one_keeps_its_start(kind, whatif, tmp_path):
    run = made(kind, whatif(), tmp_path)
    assert run.accepts_changes is LIVE[kind] and (run.started_at is None) is LIVE[kind]
    assert run.closed and not run.change_pending and run.extra == {}
