"""The session's run history: ids, the current run, pulled rows, what is kept — with no Qt and no TensorFlow."""
from __future__ import annotations

import pytest

from core.engine.outcome import RunStatus
from core.experiments.history import RunHistory
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from tests.gui.fakes import FakeRun, recorded_rows


def ended_run(steps: int = 50, name: str = "whatif") -> FakeRun:
    spec = apply_overrides(load_preset(name), [("run.steps", steps)])
    return FakeRun(spec, recorded_rows(steps)).finish_now()


def test_runs_get_lasting_ids_and_the_latest_is_current():
    history = RunHistory()
    first, second = history.add(ended_run()), history.add(ended_run(name="seed_tf_data"))
    assert (first.id, second.id) == (1, 2) and history.current is second
    assert second.label == "#2 seed_tf_data" and history.entries == (first, second)
    assert history.select(1) is first and history.current is first
    assert history.get(2) is second
    with pytest.raises(KeyError, match="#7"):
        history.get(7)


def test_forgetting_the_current_run_keeps_it_for_comparing():
    history = RunHistory()
    entry = history.add(ended_run())
    revision = history.revision
    history.forget_current()
    assert history.current is None and history.entries == (entry,) and history.revision > revision
    history.forget_current()  # nothing to forget: nothing changed for pollers
    assert history.revision == revision + 1


def test_pull_copies_only_new_steps_and_the_live_rate_reads_them():
    spec = apply_overrides(load_preset("whatif"), [("run.steps", 300)])
    run = FakeRun(spec, recorded_rows(300, wait_s=0.004, compute_s=0.006))
    history = RunHistory()
    entry = history.add(run)
    assert entry.pull() == 0 and not entry.ended
    run.finish_now()
    assert entry.pull() == 300 and entry.pull() == 0 and len(entry.rows()) == 300
    assert entry.recent_steps_per_s() == pytest.approx(100.0, rel=0.01)  # 10 ms steps
    assert entry.ended and entry.status is RunStatus.FINISHED and entry.stage_records is run.stage_records


def test_the_entry_keeps_the_description_the_run_started_from():
    run = ended_run()
    entry = RunHistory().add(run)
    run.spec = apply_overrides(run.spec, [("stages.io.ms", 9)])  # what a what-if change does to a Run
    assert entry.spec.stage("io").params["ms"] != 9 and run.spec.stage("io").params["ms"] == 9


def test_only_the_oldest_ended_runs_beyond_the_limit_are_dropped():
    history = RunHistory(keep=2)
    going = FakeRun(apply_overrides(load_preset("whatif"), [("run.steps", 10)]))
    kept_going = history.add(going)
    for _ in range(3):
        history.add(ended_run())
    ids = [entry.id for entry in history.entries]
    assert kept_going in history.entries and ids == [1, 4]  # a run still going is never dropped


def test_a_run_still_going_cannot_be_removed():
    history = RunHistory()
    going = history.add(FakeRun(apply_overrides(load_preset("whatif"), [("run.steps", 10)])))
    with pytest.raises(RuntimeError, match="still going"):
        history.remove(going.id)
    going.run.finish_now()
    history.remove(going.id)
    assert history.current is None and len(history) == 0


def test_a_run_read_from_disk_has_ended_even_when_cut_off():
    spec = apply_overrides(load_preset("whatif"), [("run.steps", 100)])
    crashed = FakeRun(spec)
    crashed.records.extend(recorded_rows(100))
    crashed.outcome.status = RunStatus.RUNNING  # the last status its files said before the kill
    history = RunHistory()
    entry = history.add(crashed, folder="/runs/whatif", loaded=True)
    assert entry.ended and entry.cut_off and entry.label == "#1 whatif (recorded)"
    assert entry.steps is crashed.records and entry.pull() == 0 and len(entry.rows()) == 100  # read, not copied
    assert not history.add(ended_run(), folder="/runs/live").cut_off


def test_run_folders_are_new_named_by_time_and_only_ours_are_dropped(tmp_path):
    from core.experiments.run_folders import RunFolders

    (tmp_path / "notes").mkdir()  # the user's own: never touched
    folders = RunFolders(tmp_path, keep=3)
    made = [folders.new_folder("what if/io", now=1_790_000_000 + i) for i in range(5)]
    twin = folders.new_folder("what if/io", now=1_790_000_004)  # the same second as the last
    assert made[0].name.endswith("-what_if_io") and twin.name.endswith("-2-what_if_io")
    assert [path.name for path in folders.folders()] == sorted([made[3].name, made[4].name, twin.name])
    assert (tmp_path / "notes").is_dir() and not made[0].exists()
