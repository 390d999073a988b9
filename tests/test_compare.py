"""`compare`: description differences, figures side by side, compare.json and compare.png from real runs."""
import json
import shutil

import numpy as np
import pytest
from matplotlib.image import imread

import main
from core.analysis.comparison import side_by_side
from core.outputs.compare_image import idle_per_window, idle_window_s
from core.spec.diff import ADDED, MOVED, REMOVED, SET, describe_differences
from core.spec.diff import describe_change
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from tests.test_timeline_image import synthetic_rows

FAST = ["--set", "stages.cpu.ms=0", "--set", "model.step_ms=2", "--set", "run.warmup_steps=5", "--quiet"]


def call(capsys, *argv):
    code = main.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- description differences ------------------------------------------------------------------

@pytest.fixture
def whatif_dict():
    return load_preset("whatif").to_dict()


def texts(a, b) -> list[str]:
    return [difference.text for difference in describe_differences(a, b)]


def test_a_changed_parameter_is_its_set_path_with_both_values(whatif_dict):
    changed = apply_overrides(load_preset("whatif"), [("stages.io.num_parallel_calls", 3)])
    (difference,) = describe_differences(load_preset("whatif"), changed)
    assert (difference.path, difference.a, difference.b, difference.change) == (
        "stages.io.num_parallel_calls", 1, 3, SET)
    assert difference.text == "stages.io.num_parallel_calls: 1 → 3"
    assert difference.to_dict() == {"path": "stages.io.num_parallel_calls", "a": 1, "b": 3, "change": SET,
                                    "text": difference.text}


def test_added_removed_and_moved_stages_are_named_by_id(whatif_dict):
    changed = json.loads(json.dumps(whatif_dict))
    batch, io, cpu, prefetch = changed["stages"]
    changed["stages"] = [cpu, batch, io, {"id": "warm", "kind": "cache"}]  # cpu first, prefetch gone, a cache
    differences = describe_differences(whatif_dict, changed)
    assert [(d.change, d.path) for d in differences] == [
        (REMOVED, "stages.prefetch"), (ADDED, "stages.warm"), (MOVED, "stages.cpu")]
    assert [d.text for d in differences] == [
        "stages: − prefetch", "stages: + warm (cache, after io)", "stages: cpu moved (after io → first)"]
    assert differences[0].a == {"kind": "prefetch", "buffer_size": 4} and differences[1].b == {"kind": "cache"}


def test_a_new_feeder_kind_comes_first_then_the_parameters_it_brings_or_drops(whatif_dict):
    changed = apply_overrides(load_preset("whatif"), [("feeder.kind", "queue_runner")])
    found = texts(whatif_dict, changed)
    assert found[0] == "feeder.kind: tf_data → queue_runner"
    assert "feeder.capacity: — → 5" in found and "feeder.autotune: true → —" in found


def test_a_side_branch_is_compared_inside_its_stage():
    def zipped(count, extra_stages=()):
        branch = {"source": {"kind": "range", "count": count}, "stages": list(extra_stages)}
        return {"source": {"kind": "range", "count": 10},
                "stages": [{"id": "z", "kind": "zip", "branch": branch}],
                "feeder": {"kind": "tf_data"}, "model": {"kind": "simulated"}, "run": {}}

    assert texts(zipped(10), zipped(20, [{"id": "b", "kind": "batch", "batch_size": 2}])) == [
        "stages.z.branch.source.count: 10 → 20", "stages.z.branch.stages: + b (batch, first)"]


def test_the_same_description_has_no_differences_and_the_name_is_only_a_label(whatif_dict):
    renamed = dict(whatif_dict, name="other", description="another line")
    assert describe_differences(whatif_dict, renamed) == []
    assert describe_change(load_preset("whatif"), load_preset("whatif")) is None


def test_a_live_change_is_still_labelled_as_the_overrides_that_make_it():
    before = load_preset("whatif")
    after = apply_overrides(before, [("stages.io.ms", 12.0), ("model.step_ms", 3)])
    assert describe_change(before, after) == "stages.io.ms=12.0, model.step_ms=3.0"


# --- figures side by side ---------------------------------------------------------------------

def summary(steps_per_s, idle, verdict, step_p50=10.0, **more):
    return {"steps_per_s": steps_per_s, "examples_per_s": steps_per_s * 32, "idle_fraction": idle,
            "step_ms": {"p50": step_p50, "p90": step_p50 * 1.2}, "wait_ms": {"p50": 2.0},
            "compute_ms": {"p50": 6.0}, "verdict": verdict, **more}


def test_each_run_after_the_first_is_set_against_the_first():
    figures = side_by_side([summary(155.6, 0.25, "input-bound"), summary(203.8, 0.02, "compute-bound", 6.0),
                            summary(155.6, 0.25, "input-bound")])
    assert figures["runs"][1]["step_ms.p50"] == 6.0 and figures["runs"][0]["verdict"] == "input-bound"
    second, third = figures["differences"]
    assert (second["against"], second["run"], third["run"]) == (0, 1, 2)
    steps = second["figures"]["steps_per_s"]
    assert steps["absolute"] == pytest.approx(48.2) and steps["relative"] == pytest.approx(0.3098, abs=1e-4)
    assert steps["text"] == "+48.2 (+31%)"
    assert second["figures"]["idle_fraction"]["text"] == "-23.0 pts (-92%)"  # a share's difference in points
    assert second["figures"]["step_ms.p50"]["text"] == "-4.00 ms (-40%)"
    assert second["figures"]["verdict"]["text"] == "input-bound → compute-bound"
    assert third["figures"]["verdict"] is None and third["figures"]["steps_per_s"]["text"] == "+0.0 (+0%)"


def test_missing_figures_and_zero_baselines_do_not_fail():
    figures = side_by_side([summary(0.0, 0.0, None), {"steps_per_s": 10.0}])
    (difference,) = figures["differences"]
    assert difference["figures"]["steps_per_s"] == {"absolute": 10.0, "relative": None, "text": "+10.0"}
    assert difference["figures"]["step_ms.p50"] is None and figures["runs"][1]["wait_ms.p50"] is None


def test_cpu_shares_are_compared_when_a_summary_has_them():
    cpu = {"input_pipeline": {"seconds": 3.0, "share": 0.4}, "model": {"seconds": 1.0, "share": 0.1}}
    figures = side_by_side([summary(100.0, 0.2, "balanced"), summary(100.0, 0.2, "balanced", cpu=cpu)])
    assert "cpu.input_pipeline.share" in figures["figures"] and "cpu.model.seconds" not in figures["figures"]
    assert figures["runs"][0]["cpu.input_pipeline.share"] is None and figures["runs"][1]["cpu.model.share"] == 0.1


# --- the idle curve ---------------------------------------------------------------------------

def test_idle_per_window_is_the_share_of_each_window_spent_waiting():
    rows = synthetic_rows(3000)  # 0.3 between, 0.8 input, 0.1 copy, 6 compute (ms): waiting 0.9 of 7.2
    edges, idle = idle_per_window(rows, 0.5)
    assert len(edges) == len(idle) + 1 and edges[0] == 0.0 and edges[-1] <= rows[-1, 2]
    assert np.allclose(idle[1:], 0.9 / 7.2, atol=0.01)
    assert idle_window_s(rows[-1, 2], 1300) == 0.5 and idle_window_s(2.56, 1300) == 0.1


# --- the command, on real runs ----------------------------------------------------------------

@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two real whatif runs that differ in io.ms only, in folders of one parent.

    io is a wait, not work: the slow run's steps take at least its 8 ms, the fast run's about the
    model's 2 ms, so B is the faster on any host, by far."""
    parent = tmp_path_factory.mktemp("runs")
    for name, io_ms in (("slow_io", 8), ("fast_io", 1)):
        assert main.main(["run", "--preset", "whatif", "--steps", "60", "--set", f"stages.io.ms={io_ms}",
                          "--out", str(parent / name), *FAST]) == 0
    return parent / "slow_io", parent / "fast_io"


def test_compare_writes_both_summaries_the_difference_and_a_readable_png(capsys, tmp_path, two_runs):
    slow, fast = two_runs
    code, out, err = call(capsys, "compare", slow, fast, "--out", tmp_path / "ab")
    assert code == 0 and not err, err
    document = json.loads((tmp_path / "ab" / "compare.json").read_text())
    assert [(run["label"], run["folder"], run["name"]) for run in document["runs"]] == [
        ("A", str(slow), "whatif"), ("B", str(fast), "whatif")]
    assert all(run["summary"]["steps"] == 60 and run["closed"] for run in document["runs"])
    own = json.loads((slow / "summary.json").read_text())
    assert document["runs"][0]["summary"]["steps_per_s"] == own["steps_per_s"]  # the run's own figures
    (differences,) = document["differences"]
    assert (differences["against"], differences["run"]) == (0, 1)
    assert [(d["path"], d["a"], d["b"]) for d in differences["description"]] == [("stages.io.ms", 8.0, 1.0)]
    assert document["figures"]["differences"][0]["figures"]["steps_per_s"]["text"].startswith("+")
    image = imread(tmp_path / "ab" / "compare.png")
    assert image.shape[:2] == (800, 1400) and len(np.unique(image[..., 0])) > 20  # drawn, not blank
    assert "stages.io.ms: 8.0 → 1.0" in out and "steps_per_s" in out and "B vs A" in out
    assert f"compare.json and compare.png written to {tmp_path / 'ab'}" in out


def test_without_out_the_files_go_to_a_folder_of_their_own_here(capsys, two_runs, tmp_path, monkeypatch):
    slow, fast = two_runs
    monkeypatch.chdir(tmp_path)
    code, _, _ = call(capsys, "compare", fast, slow, fast)
    assert code == 0
    document = json.loads((tmp_path / "compare-whatif" / "compare.json").read_text())
    assert [run["label"] for run in document["runs"]] == ["A", "B", "C"]
    assert [d["description"] for d in document["differences"]][1] == []  # C is A again
    assert (tmp_path / "compare-whatif" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert not (slow.parent / "compare.json").exists()  # the run folders' parent is only read


def test_a_run_that_was_cut_off_is_compared_as_far_as_it_got(capsys, tmp_path, two_runs):
    slow, fast = two_runs
    killed = tmp_path / "killed"
    shutil.copytree(slow, killed)
    facts = json.loads((killed / "run.json").read_text())
    (killed / "run.json").write_text(json.dumps(facts | {"closed": False, "status": "running"}))
    code, _, err = call(capsys, "compare", fast, killed, "--out", tmp_path)
    assert code == 0 and f"the run in {killed} was cut off" in err
    assert json.loads((tmp_path / "compare.json").read_text())["runs"][1]["closed"] is False


@pytest.mark.parametrize("arguments, expected", [
    (lambda slow, tmp: [slow], "error: compare: give two run folders or more (the first is the baseline), got only"),
    (lambda slow, tmp: [slow, tmp / "nothing"], "error: {tmp}/nothing: no such folder"),
    (lambda slow, tmp: [slow, tmp], "error: {tmp}: no run recorded here"),
    (lambda slow, tmp: [slow, slow, "--out", slow / "steps.csv" / "x"], "error: --out {slow}/steps.csv/x: cannot create"),
])
def test_bad_input_is_one_line_naming_the_folder_and_exit_2(capsys, tmp_path, two_runs, arguments, expected):
    slow, _ = two_runs
    code, out, err = call(capsys, "compare", *arguments(slow, tmp_path))
    assert code == 2 and not out
    assert err.startswith(expected.format(slow=slow, tmp=tmp_path)) and err.count("\n") == 1, err
