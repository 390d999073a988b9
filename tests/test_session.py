"""Saved sessions (core.experiments.session): the file written from a history, read back, and bad files
said in one line naming the file and the field. No Qt, no TensorFlow: the runs are fakes recorded to disk."""
from __future__ import annotations

import json

import pytest

from core.experiments.history import RunHistory
from core.experiments.session import (FORMAT, VERSION, Session, SessionRun, open_runs, pipeline_file_of,
                                      read_session, session_of, write_session)
from core.outputs.record_stream import RecordStream
from core.spec.params import SpecError
from core.spec.pipeline import apply_overrides, save_spec
from core.spec.presets import load_preset
from tests.gui.fakes import FakeRun, recorded_rows


def recorded_run(folder, steps: int = 30, io_ms: float = 4.0) -> FakeRun:
    spec = apply_overrides(load_preset("whatif"), [("run.steps", steps), ("stages.io.ms", io_ms)])
    run = FakeRun(spec, recorded_rows(steps)).finish_now()
    RecordStream(run, folder).close()
    return run


@pytest.fixture
def history(tmp_path) -> RunHistory:
    """Three runs: two recorded on disk, the middle one not (its recording failed)."""
    history = RunHistory()
    history.add(recorded_run(tmp_path / "a", 30), folder=str(tmp_path / "a"))
    history.add(recorded_run(tmp_path / "lost", 20))
    history.add(recorded_run(tmp_path / "b", 40, io_ms=12.0), folder=str(tmp_path / "b"))
    history.select(1)
    return history


def test_a_session_names_its_runs_by_folder_and_leaves_out_one_not_on_disk(history, tmp_path):
    session, left_out = session_of(load_preset("whatif"), None, history)
    assert [(run.id, run.label) for run in session.runs] == [(1, "#1 whatif"), (3, "#3 whatif")]
    assert session.current == 1
    assert left_out == ["#2 whatif: left out, it was not recorded on disk"]
    path = tmp_path / f"s{'.pipescope-session.json'}"
    write_session(session, path)
    text = path.read_text()
    assert json.loads(text)["format"] == FORMAT and text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    again = read_session(path)
    assert again == session


def test_the_runs_are_read_back_in_order_and_a_folder_gone_is_one_line(history, tmp_path):
    session, _ = session_of(load_preset("whatif"), None, history)
    (tmp_path / "a" / "run.json").unlink()
    opened, skipped = open_runs(session)
    assert [(saved.label, len(run.records)) for saved, run in opened] == [("#3 whatif", 40)]
    assert len(skipped) == 1 and skipped[0].startswith(f"#1 whatif: skipped, {tmp_path / 'a'}: no run recorded")
    assert "\n" not in skipped[0]


def test_the_pipeline_file_is_kept_only_while_it_holds_the_same_pipeline(tmp_path):
    spec = load_preset("whatif")
    save_spec(spec, tmp_path / "p.json")
    session = Session(spec, str(tmp_path / "p.json"), ())
    assert pipeline_file_of(session) == str(tmp_path / "p.json")
    save_spec(apply_overrides(spec, [("stages.io.ms", 9)]), tmp_path / "p.json")
    assert pipeline_file_of(session) is None
    assert pipeline_file_of(Session(spec, str(tmp_path / "gone.json"), ())) is None


def good_session() -> dict:
    return Session(load_preset("whatif"), None, (SessionRun(1, "#1 whatif", "/runs/a"),), 1).to_dict()


def broken(change) -> dict:
    data = good_session()
    change(data)
    return data


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON (line 1"),
    ("[]", "not a Pipescope session"),
    (broken(lambda d: d.update(format="pipescope-pipeline")), "format: not a Pipescope session"),
    (broken(lambda d: d.pop("version")), "version: missing"),
    (broken(lambda d: d.update(version=VERSION + 1)), "version: written by a newer Pipescope (version 2"),
    (broken(lambda d: d.update(version="1")), "version: must be an integer"),
    (broken(lambda d: d.pop("pipeline")), "pipeline: missing"),
    (broken(lambda d: d["pipeline"].pop("spec")), "pipeline.spec: missing"),
    (broken(lambda d: d["pipeline"]["spec"]["stages"][1].update(ms=-1)), "pipeline.spec.stages[1].ms: must be ≥ 0"),
    (broken(lambda d: d.update(runs={})), "runs: must be a list"),
    (broken(lambda d: d["runs"][0].pop("folder")), "runs[0].folder: missing"),
    (broken(lambda d: d["runs"][0].update(id=True)), "runs[0].id: must be an integer"),
    (broken(lambda d: d["runs"].append(dict(d["runs"][0]))), "runs[1].id: 1 is already the id of an earlier run"),
    (broken(lambda d: d.update(extra=1)), "extra: unknown key"),
    (broken(lambda d: d.update(current=5)), "current: no run with id 5 in runs"),
])
def test_a_bad_session_file_is_one_error_naming_the_file_and_the_field(tmp_path, content, message):
    path = tmp_path / "bad.pipescope-session.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(SpecError) as raised:
        read_session(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_binary_or_missing_file_is_said_plainly(tmp_path):
    (tmp_path / "binary").write_bytes(b"\x89PNG\xff\x00")
    with pytest.raises(SpecError, match="binary, not UTF-8"):
        read_session(tmp_path / "binary")
    with pytest.raises(SpecError, match="cannot read session file"):
        read_session(tmp_path / "none.json")


def test_restored_runs_keep_their_ids_and_labels_and_new_runs_follow_them(tmp_path):
    history = RunHistory()
    history.add(recorded_run(tmp_path / "old", 10))
    history.clear()
    assert len(history) == 0 and history.current is None
    restored = history.restore(recorded_run(tmp_path / "a", 10), str(tmp_path / "a"), 7, "#7 whatif")
    assert (restored.id, restored.label, restored.loaded, len(restored.rows())) == (7, "#7 whatif", True, 10)
    assert history.current is None  # restoring shows nothing by itself
    assert history.add(recorded_run(tmp_path / "b", 10)).label == "#8 whatif"
    assert history.restore(recorded_run(tmp_path / "c", 10), str(tmp_path / "c"), 7, "#7 again").id == 9
