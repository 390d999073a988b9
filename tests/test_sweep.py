"""The sweep: grids read and checked before any run, combinations in order, the best, sweep.csv and
sweep.png, and the `sweep` command end to end (four real short runs)."""
import csv
import math

import numpy as np
import pytest

import main
from cli.trials import Interrupted, Trial
from core.experiments.sweep import (FIGURE_COLUMNS, build_sweep, build_sweep_from_options, split_values,
                                    suggested_values, sweep_base, sweepable_knobs)
from core.outputs.sweep_files import render_sweep_png, write_sweep_files
from core.spec.params import SpecError
from core.spec.pipeline import spec_from_dict
from core.spec.presets import load_preset

CONTRACT_COLUMNS = ["steps_per_s", "idle_fraction", "step_ms_p50"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def base():
    return sweep_base(load_preset("whatif"), steps=40)


def figures(steps_per_s):
    return {"steps_per_s": steps_per_s, "idle_fraction": 0.25, "step_ms": {"p50": 1000 / steps_per_s},
            "examples_per_s": 32 * steps_per_s}


def run_all(sweep, rates: dict):
    """Tell each combination the steps/s `rates` gives for its description (a string: it failed)."""
    while (combination := sweep.ask()) is not None:
        rate = rates.get(combination.describe(), 100.0)
        if isinstance(rate, str):
            sweep.tell(combination, None, rate)
        else:
            sweep.tell(combination, figures(rate))
    return sweep


# ------------------------------------------------------------ reading and checking grids


@pytest.mark.parametrize("options, expected", [
    (["stages.io.num_parallel_calls=0,1"],
     "--grid stages.io.num_parallel_calls=0,1: value 0: stages.io.num_parallel_calls: must be ≥ 1"),
    (["stages.disk.ms=1,2"], "--grid stages.disk.ms=1,2: value 1: stages.disk.ms: no stage with id 'disk'"),
    (["model.size=1"], "--grid model.size=1: value 1: model.size: unknown parameter"),
    (["model.step_ms"], "--grid model.step_ms: expected PATH=V1,V2,…"),
    (["model.step_ms=1,,2"], "--grid model.step_ms=1,,2: an empty value"),
    (["model.step_ms=2,2.0"], "--grid model.step_ms=2,2.0: the value 2.0 is given twice"),
    (["stages.io.num_parallel_calls=-1,AUTOTUNE"], "--grid stages.io.num_parallel_calls=-1,AUTOTUNE: the value "
                                                   "AUTOTUNE is given twice"),
    (["model.step_ms=1", "model.step_ms=2"], "--grid model.step_ms=2: model.step_ms is already swept by "
                                             "--grid model.step_ms=1"),
    (["model.step_ms=1", "stages.io.ms=1", "stages.cpu.ms=1", "feeder.autotune=true"],
     "--grid: give one to three parameters to sweep, got 4"),
    ([], "--grid: give at least one"),
])
def test_a_bad_grid_names_the_option_and_the_value(base, options, expected):
    with pytest.raises(SpecError) as raised:
        build_sweep_from_options(base, options)
    assert str(raised.value).startswith(expected), str(raised.value)


def test_a_combination_its_values_allow_only_apart_is_refused_naming_both(base):
    data = base.to_dict()
    data["stages"].insert(1, {"id": "shard", "kind": "shard", "num_shards": 2, "index": 0})
    spec = spec_from_dict(data)
    with pytest.raises(SpecError) as raised:
        build_sweep_from_options(spec, ["stages.shard.index=0,1", "stages.shard.num_shards=1,2"])
    message = str(raised.value)
    assert message.startswith("--grid stages.shard.index=0,1 value 1; --grid stages.shard.num_shards=1,2 value 1: "
                              "together: stages.shard.index: must be < num_shards"), message


def test_values_are_json_or_text_and_commas_inside_brackets_do_not_split(base):
    assert split_values('1, 2,[3,4],"a,b"') == ["1", "2", "[3,4]", '"a,b"']
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,AUTOTUNE"])
    assert [combination.assignments for combination in sweep.combinations] == [
        [("stages.io.num_parallel_calls", 1)], [("stages.io.num_parallel_calls", "AUTOTUNE")]]
    assert sweep.combinations[1].spec.stage("io").params["num_parallel_calls"] == "AUTOTUNE"


def test_each_combination_runs_the_base_for_its_length_without_a_profiler_capture():
    spec = sweep_base(load_preset("seed_tf_data"), steps=40)
    assert spec.target() == (40, None) and spec.run["capture_steps"] == 0
    assert sweep_base(load_preset("whatif"), seconds=1.5).target() == (None, 1.5)


# ------------------------------------------------------------ combinations, the best, rows, heatmaps


def test_combinations_run_in_product_order_the_last_parameter_fastest(base):
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,2", "model.step_ms=1,2,4"])
    asked = []
    while (combination := sweep.ask()) is not None:
        asked.append((combination.number, combination.describe()))
        sweep.tell(combination, figures(10.0))
    assert asked == [(1, "stages.io.num_parallel_calls=1 model.step_ms=1"),
                     (2, "stages.io.num_parallel_calls=1 model.step_ms=2"),
                     (3, "stages.io.num_parallel_calls=1 model.step_ms=4"),
                     (4, "stages.io.num_parallel_calls=2 model.step_ms=1"),
                     (5, "stages.io.num_parallel_calls=2 model.step_ms=2"),
                     (6, "stages.io.num_parallel_calls=2 model.step_ms=4")]
    assert sweep.combinations[4].spec.model.params["step_ms"] == 2.0
    assert sweep.combinations[4].spec.stage("io").params["num_parallel_calls"] == 2


def test_ask_and_tell_take_turns(base):
    sweep = build_sweep_from_options(base, ["model.step_ms=1,2"])
    first = sweep.ask()
    with pytest.raises(RuntimeError):
        sweep.ask()
    sweep.tell(first, figures(1.0))
    with pytest.raises(RuntimeError):
        sweep.tell(first, figures(1.0))


def test_the_best_is_the_fastest_that_did_not_fail(base):
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,2,4"])
    assert sweep.best is None
    run_all(sweep, {"stages.io.num_parallel_calls=1": 120.0, "stages.io.num_parallel_calls=2": "stage 'io' failed",
                    "stages.io.num_parallel_calls=4": 150.0})
    best = sweep.best
    assert best.describe() == "stages.io.num_parallel_calls=4"
    assert best.assignments == [("stages.io.num_parallel_calls", 4)]
    assert best.set_arguments() == "--set stages.io.num_parallel_calls=4"
    assert math.isnan(sweep.combinations[1].steps_per_s)


def test_no_best_when_every_combination_failed(base):
    sweep = run_all(build_sweep_from_options(base, ["model.step_ms=1,2"]), {"model.step_ms=1": "boom",
                                                                             "model.step_ms=2": "boom"})
    assert sweep.best is None


def test_rows_have_the_paths_then_the_contract_columns_then_the_extras(base):
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,AUTOTUNE", "model.step_ms=1"])
    assert sweep.columns() == ["stages.io.num_parallel_calls", "model.step_ms", *CONTRACT_COLUMNS,
                               "examples_per_s", "error"]
    assert list(FIGURE_COLUMNS) == CONTRACT_COLUMNS
    run_all(sweep, {"stages.io.num_parallel_calls=AUTOTUNE model.step_ms=1": "stage 'io' failed: no"})
    assert sweep.rows() == [["1", "1", 100.0, 0.25, 10.0, 3200.0, ""],
                            ["AUTOTUNE", "1", None, None, None, None, "stage 'io' failed: no"]]


def test_two_parameters_make_one_matrix_rows_the_first_columns_the_second(base):
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,2", "model.step_ms=1,2,4"])
    rates = {"stages.io.num_parallel_calls=2 model.step_ms=1": 300.0,
             "stages.io.num_parallel_calls=1 model.step_ms=4": "failed"}
    [heatmap] = run_all(sweep, rates).heatmaps()
    assert (heatmap.row_path, heatmap.row_labels) == ("stages.io.num_parallel_calls", ("1", "2"))
    assert (heatmap.column_path, heatmap.column_labels) == ("model.step_ms", ("1", "2", "4"))
    assert heatmap.values.shape == (2, 3) and heatmap.values[1, 0] == 300.0 and heatmap.values[0, 1] == 100.0
    assert math.isnan(heatmap.values[0, 2]) and heatmap.failed == {(0, 2)}
    assert heatmap.best == (1, 0)


def test_one_parameter_is_a_single_row_and_three_make_a_matrix_per_value_of_the_third(base):
    [row] = run_all(build_sweep_from_options(base, ["model.step_ms=1,2,4"]), {"model.step_ms=2": 500.0}).heatmaps()
    assert row.row_path is None and row.values.shape == (1, 3) and row.best == (0, 1)
    sweep = build_sweep_from_options(base, ["stages.io.num_parallel_calls=1,2", "model.step_ms=1,2",
                                            "stages.prefetch.buffer_size=1,4,16"])
    pages = run_all(sweep, {"stages.io.num_parallel_calls=2 model.step_ms=1 stages.prefetch.buffer_size=4": 900.0}
                    ).heatmaps()
    assert [page.title for page in pages] == ["stages.prefetch.buffer_size=1", "stages.prefetch.buffer_size=4",
                                              "stages.prefetch.buffer_size=16"]
    assert all(page.values.shape == (2, 2) for page in pages)
    assert [page.best for page in pages] == [None, (1, 0), None] and pages[1].values[1, 0] == 900.0


def test_combinations_not_run_yet_are_empty_cells_not_failures(base):
    sweep = build_sweep_from_options(base, ["model.step_ms=1,2"])
    sweep.tell(sweep.ask(), figures(50.0))
    [heatmap] = sweep.heatmaps()
    assert heatmap.values[0, 0] == 50.0 and math.isnan(heatmap.values[0, 1]) and not heatmap.failed
    assert len(sweep.rows()) == 1


def test_the_app_offers_numeric_and_switch_parameters_with_values_in_range(base):
    knobs = {knob.path: knob for knob in sweepable_knobs(base)}
    assert {"stages.io.num_parallel_calls", "stages.prefetch.buffer_size", "model.step_ms", "feeder.autotune",
            "stages.batch.batch_size"} <= set(knobs)
    assert "source.kind" not in knobs
    assert suggested_values(knobs["stages.io.num_parallel_calls"]) == "1,2,4,8"
    assert suggested_values(knobs["model.step_ms"]) == "3,6,12"
    assert suggested_values(knobs["feeder.autotune"]) == "true,false"
    for knob in knobs.values():  # every suggestion is a grid the description takes
        build_sweep(base, [(knob.path, suggested_values(knob), knob.label)])


# ------------------------------------------------------------ the files


def test_csv_and_png_for_one_two_and_three_parameters(base, tmp_path):
    for grids in (["model.step_ms=1,2,4"], ["stages.io.num_parallel_calls=1,2", "model.step_ms=1,2"],
                  ["stages.io.num_parallel_calls=1,2", "model.step_ms=1,2", "stages.prefetch.buffer_size=1,4"]):
        sweep = run_all(build_sweep_from_options(base, grids), {"model.step_ms=2": "failed"})
        out = tmp_path / str(len(grids))
        out.mkdir()
        written = write_sweep_files(out, sweep.columns(), sweep.rows(), sweep.heatmaps(), "whatif", "best: …")
        assert [path.name for path in written] == ["sweep.csv", "sweep.png"]
        with open(out / "sweep.csv", newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0] == sweep.columns() and len(rows) == 1 + len(sweep.combinations)
        assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC


def test_a_png_with_nothing_run_yet_is_still_drawn(base, tmp_path):
    sweep = build_sweep_from_options(base, ["model.step_ms=1,2"])
    render_sweep_png(tmp_path / "sweep.png", sweep.heatmaps(), "nothing yet")
    sweep = build_sweep_from_options(base, ["model.step_ms=1,2", "stages.io.ms=1"])
    render_sweep_png(tmp_path / "sweep2.png", sweep.heatmaps(), "nothing yet")
    assert (tmp_path / "sweep2.png").read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------ the command


def call(capsys, *argv):
    code = main.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_the_command_runs_every_combination_and_writes_sweep_csv(capsys, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, stderr = call(capsys, "sweep", "--preset", "whatif", "--grid", "stages.io.num_parallel_calls=1,2",
                                "--grid", "model.step_ms=1,2", "--steps", "40", "--set", "stages.cpu.ms=0",
                                "--set", "run.warmup_steps=5", "--out", out)
    assert code == 0, stderr
    rows = read_csv(out / "sweep.csv")
    assert list(rows[0]) == ["stages.io.num_parallel_calls", "model.step_ms", *CONTRACT_COLUMNS, "examples_per_s",
                             "error"]
    assert [(row["stages.io.num_parallel_calls"], row["model.step_ms"]) for row in rows] == [
        ("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")]
    assert all(float(row["steps_per_s"]) > 0 and 0 <= float(row["idle_fraction"]) <= 1 and not row["error"]
               for row in rows)
    assert (out / "sweep.png").read_bytes()[:8] == PNG_MAGIC
    fastest = max(rows, key=lambda row: float(row["steps_per_s"]))
    lines = stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "stages.io.num_parallel_calls", "model.step_ms"]
    assert len([line for line in lines if line.startswith("*")]) == 1
    assert f"--set stages.io.num_parallel_calls={fastest['stages.io.num_parallel_calls']} " \
           f"--set model.step_ms={fastest['model.step_ms']}" in stdout
    assert "combination 4/4: stages.io.num_parallel_calls=2 model.step_ms=2" in stderr


@pytest.mark.parametrize("argv, expected", [
    (["--grid", "stages.io.num_parallel_calls=0,1"], "error: --grid stages.io.num_parallel_calls=0,1: value 0: "),
    (["--grid", "stages.nope.ms=1"], "error: --grid stages.nope.ms=1: value 1: stages.nope.ms: no stage"),
    (["--grid", "model.step_ms=1", "--grid", "model.step_ms=2"], "error: --grid model.step_ms=2: model.step_ms is "
                                                                 "already swept"),
    ([], "error: pipescope sweep: the following arguments are required: --grid"),
    (["--grid", "model.step_ms=1", "--steps", "0"], "error: --steps: run.steps: must be ≥ 1 and ≤ 10000000, got 0"),
    (["--grid", "model.step_ms=1", "--seconds", "0"], "error: --seconds: run.seconds: must be ≥ 0.1, got 0.0"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, tmp_path, argv, expected):
    out = tmp_path / "never"
    code, stdout, stderr = call(capsys, "sweep", "--preset", "whatif", *argv, "--out", out)
    assert code == 2 and stderr.startswith(expected) and stderr.count("\n") == 1, stderr
    assert not out.exists() and stdout == ""


def fake_trials(monkeypatch, outcomes):
    """Each trial in turn: a steps/s, an error string, or Interrupted."""
    calls = iter(outcomes)

    def run_trial(spec, label, show_progress=True):
        outcome = next(calls)
        if outcome is Interrupted:
            raise Interrupted(label)
        if isinstance(outcome, str):
            return Trial(spec, {"steps": 0}, outcome)
        return Trial(spec, figures(outcome), None)

    monkeypatch.setattr("cli.sweep_command.run_trial", run_trial)


def test_a_failed_combination_is_a_row_with_its_error_and_the_sweep_goes_on(capsys, monkeypatch, tmp_path):
    fake_trials(monkeypatch, [50.0, "stage 'io' failed: broken", 80.0])
    code, stdout, stderr = call(capsys, "sweep", "--preset", "whatif", "--grid", "model.step_ms=1,2,4", "--quiet",
                                "--out", tmp_path)
    assert code == 0
    rows = read_csv(tmp_path / "sweep.csv")
    assert [row["error"] for row in rows] == ["", "stage 'io' failed: broken", ""]
    assert rows[1]["steps_per_s"] == ""
    assert "combination 2/3 failed: stage 'io' failed: broken; the sweep goes on" in stderr
    assert "best: 80.0 steps/s with model.step_ms=4" in stdout and "--set model.step_ms=4" in stdout


def test_every_combination_failing_is_exit_1(capsys, monkeypatch, tmp_path):
    fake_trials(monkeypatch, ["broken", "broken"])
    code, _, stderr = call(capsys, "sweep", "--preset", "whatif", "--grid", "model.step_ms=1,2", "--quiet",
                           "--out", tmp_path)
    assert code == 1 and stderr.strip().endswith("error: every combination failed; see the error column of "
                                                 f"{tmp_path / 'sweep.csv'}")
    assert len(read_csv(tmp_path / "sweep.csv")) == 2


def test_ctrl_c_keeps_the_combinations_run_so_far_and_exits_130(capsys, monkeypatch, tmp_path):
    fake_trials(monkeypatch, [50.0, 60.0, Interrupted])
    code, stdout, stderr = call(capsys, "sweep", "--preset", "whatif", "--grid", "model.step_ms=1,2,4,8",
                                "--quiet", "--out", tmp_path)
    assert code == 130 and "interrupted: the combinations run so far are written" in stderr
    assert [row["model.step_ms"] for row in read_csv(tmp_path / "sweep.csv")] == ["1", "2"]
    assert (tmp_path / "sweep.png").exists() and "--set model.step_ms=2" in stdout


def test_out_defaults_to_sweep_and_the_pipeline_name(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    fake_trials(monkeypatch, [50.0])
    code, _, _ = call(capsys, "sweep", "--preset", "whatif", "--grid", "model.step_ms=1", "--quiet")
    assert code == 0 and (tmp_path / "sweep-whatif" / "sweep.csv").exists()
    assert np.isfinite(float(read_csv(tmp_path / "sweep-whatif" / "sweep.csv")[0]["steps_per_s"]))
