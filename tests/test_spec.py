"""The pipeline description: round trips, every validation error path, overrides."""
import json

import pytest

from core.spec.params import AUTOTUNE, SpecError
from core.spec.presets import load_preset, preset_names
from core.spec.pipeline import apply_overrides, load_spec, parse_assignment, save_spec, spec_from_dict
from core.spec.kinds import STAGES

REQUIRED_PRESETS = {"seed_feed_dict", "seed_queue_runner", "seed_tf_data", "whatif", "images_cv2", "images_tf"}


def minimal(**overrides):
    data = {
        "version": 1, "name": "t",
        "source": {"kind": "range", "count": 10},
        "stages": [{"id": "b", "kind": "batch", "batch_size": 2}],
        "feeder": {"kind": "tf_data"},
        "model": {"kind": "simulated", "step_ms": 0},
    }
    data.update(overrides)
    return data


def error_of(data) -> str:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(data)
    return str(caught.value)


def test_contract_presets_exist_and_round_trip(tmp_path):
    assert REQUIRED_PRESETS <= set(preset_names())
    for name in preset_names():
        spec = load_preset(name)
        path = tmp_path / f"{name}.json"
        save_spec(spec, path)
        assert load_spec(path) == spec
        assert json.loads(path.read_text()) == spec.to_dict()


def test_whatif_has_the_contract_stage_ids_and_kinds():
    spec = load_preset("whatif")
    assert [(s.id, s.kind) for s in spec.stages] == [
        ("batch", "batch"), ("io", "latency"), ("cpu", "cpu_work"), ("prefetch", "prefetch")]
    assert spec.model.kind == "simulated" and "step_ms" in spec.model.params


def test_seed_presets_match_the_notebook():
    for name, feeder in [("seed_feed_dict", "feed_dict"), ("seed_queue_runner", "queue_runner"),
                         ("seed_tf_data", "tf_data")]:
        spec = load_preset(name)
        assert spec.feeder.kind == feeder
        assert spec.source.params["shape"] == [1024]
        assert spec.stage("batch").params["batch_size"] == 128
        assert spec.model.params == {"hidden": [1024], "learning_rate": 0.01, "sync": "every_step",
                                     "sync_window": 0}  # the seed read its loss every step
        assert spec.run["steps"] == 5000
    queue = load_preset("seed_queue_runner").feeder.params
    assert queue == {"capacity": 5, "threads": 1}
    assert load_preset("seed_tf_data").stages[-1].kind == "prefetch"


def test_defaults_are_filled_in():
    spec = spec_from_dict(minimal())
    assert spec.stages[0].params == {"batch_size": 2, "drop_remainder": True, "num_parallel_calls": None}
    assert spec.run["warmup_steps"] == 10


@pytest.mark.parametrize("data, expected", [
    (minimal(colour="red"), "colour: unknown key"),
    (minimal(version=2), "version: this Pipescope reads version 1"),
    (minimal(name=3), "name: must be a string"),
    ({k: v for k, v in minimal().items() if k != "model"}, "model: missing"),
    (minimal(source=[]), "source: must be an object"),
    (minimal(source={"count": 3}), "source.kind: missing"),
    (minimal(source={"kind": "nope"}), "source.kind: unknown source kind 'nope'"),
    (minimal(source={"kind": "range", "size": 1}), "source.size: unknown parameter for kind 'range'"),
    (minimal(stages={}), "stages: must be a list"),
    (minimal(stages=[{"kind": "batch"}]), "stages[0].id: must be a name"),
    (minimal(stages=[{"id": "a", "kind": "batch"}, {"id": "a", "kind": "cache"}]), "stages[1].id (stage 'a'): duplicate"),
    (minimal(stages=[{"id": "a"}]), "stages[0].kind (stage 'a'): missing"),
    (minimal(stages=[{"id": "a", "kind": "fold"}]), "stages[0].kind (stage 'a'): unknown stage kind 'fold'"),
    (minimal(stages=[{"id": "a", "kind": "batch", "batch_size": 0}]), "stages[0].batch_size (stage 'a'): must be ≥ 1"),
    (minimal(stages=[{"id": "a", "kind": "batch", "batch_size": "8"}]), "stages[0].batch_size (stage 'a'): must be an integer"),
    (minimal(stages=[{"id": "a", "kind": "batch", "batch_size": True}]), "stages[0].batch_size (stage 'a'): must be an integer"),
    (minimal(stages=[{"id": "a", "kind": "batch", "drop_remainder": 1}]), "stages[0].drop_remainder (stage 'a'): must be true or false"),
    (minimal(stages=[{"id": "a", "kind": "map", "num_parallel_calls": 0}]),
     "stages[0].num_parallel_calls (stage 'a'): must be ≥ 1 and ≤ 256 or AUTOTUNE, got 0"),
    (minimal(stages=[{"id": "a", "kind": "batch", "batch_size": "AUTOTUNE"}]), "stages[0].batch_size (stage 'a'): must be an integer"),
    (minimal(stages=[{"id": "a", "kind": "map", "fn": "blur"}]), "stages[0].fn (stage 'a'): must be one of"),
    (minimal(stages=[{"id": "a", "kind": "latency", "ms": "slow"}]), "stages[0].ms (stage 'a'): must be a number"),
    (minimal(stages=[{"id": "a", "kind": "cache", "filename": 3}]), "stages[0].filename (stage 'a'): must be a string"),
    (minimal(stages=[{"id": "a", "kind": "shard", "num_shards": 2, "index": 2}]), "stages[0].index (stage 'a'): must be < num_shards"),
    (minimal(stages=[{"id": "d", "kind": "prefetch_to_device"}, {"id": "b", "kind": "batch"}]),
     "stages[0] (stage 'd'): prefetch_to_device must be the last stage"),
    (minimal(stages=[{"id": "z", "kind": "zip", "branch": {"source": {"kind": "range", "count": "x"}}}]),
     "stages[0].branch.source.count (stage 'z'): must be an integer"),
    (minimal(stages=[{"id": "z", "kind": "zip", "branch": {"stages": []}}]), "stages[0].branch.source (stage 'z'): missing"),
    (minimal(stages=[{"id": "z", "kind": "zip", "branch": {"source": {"kind": "range"}, "extra": 1}}]),
     "stages[0].branch.extra (stage 'z'): unknown key"),
    (minimal(source={"kind": "synthetic", "shape": [0]}), "source.shape[0]: must be an integer ≥ 1"),
    (minimal(source={"kind": "synthetic", "shape": 5}), "source.shape: must be a non-empty list"),
    (minimal(feeder={"kind": "queue_runner", "capacity": 0}), "feeder.capacity: must be ≥ 1"),
    (minimal(model={"kind": "simulated", "step_ms": -1}), "model.step_ms: must be ≥ 0"),
    (minimal(run={"steps": 0}), "run.steps: must be ≥ 1"),
    (minimal(run={"laps": 3}), "run.laps: unknown parameter"),
])
def test_validation_names_the_failing_path(data, expected):
    assert error_of(data).startswith(expected)


def test_autotune_is_accepted_where_tf_data_accepts_it():
    spec = spec_from_dict(minimal(stages=[
        {"id": "m", "kind": "map", "num_parallel_calls": "AUTOTUNE"},
        {"id": "i", "kind": "interleave", "cycle_length": -1},
        {"id": "p", "kind": "prefetch", "buffer_size": "AUTOTUNE"},
    ]))
    assert [s.params.get("num_parallel_calls", s.params.get("buffer_size")) for s in spec.stages] == [AUTOTUNE] * 3
    assert spec.stages[1].params["cycle_length"] == AUTOTUNE


def test_every_stage_kind_declares_helpful_parameters():
    for kind in STAGES.kinds():
        assert kind.help and kind.label_for(kind.defaults())
        for param in kind.params:
            assert param.help, f"{kind.name}.{param.name} has no help text"
            if param.type != "branch":
                param.check(param.default, f"{kind.name}.{param.name}")  # defaults are valid


def test_load_reports_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(SpecError, match="missing.json: cannot read pipeline file"):
        load_spec(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,')
    with pytest.raises(SpecError, match=r"broken.json: not valid JSON \(line 1"):
        load_spec(broken)


def test_overrides_set_values_by_path_and_revalidate():
    spec = load_preset("whatif")
    changed = apply_overrides(spec, [parse_assignment("stages.io.ms=8"), parse_assignment("feeder.kind=queue_runner"),
                                     parse_assignment("run.steps=42"), parse_assignment("model.step_ms=2.5")])
    assert changed.stage("io").params["ms"] == 8
    assert changed.feeder.params == {"capacity": 5, "threads": 1}
    assert changed.run["steps"] == 42 and changed.model.params["step_ms"] == 2.5
    assert spec.stage("io").params["ms"] == 4.0  # the original is untouched


@pytest.mark.parametrize("assignment, expected", [
    ("stages.nope.ms=1", "stages.nope.ms: no stage with id 'nope'"),
    ("feeder=3", "feeder: not a settable path"),
    ("stages.io.ms=-1", "stages.io.ms: must be ≥ 0"),  # as the user wrote it, not stages[1].ms
    ("stages.io.colour=1", "stages.io.colour: unknown parameter"),
    ("noequals", "--set noequals: expected PATH=VALUE"),
])
def test_bad_overrides_name_the_path(assignment, expected):
    with pytest.raises(SpecError) as caught:
        apply_overrides(load_preset("whatif"), [parse_assignment(assignment)])
    assert str(caught.value).startswith(expected)


def test_assignment_values_are_json_else_strings():
    assert parse_assignment("a.b=[1,2]") == ("a.b", [1, 2])
    assert parse_assignment("a.b=AUTOTUNE") == ("a.b", "AUTOTUNE")
    assert parse_assignment("a.b=true") == ("a.b", True)
    assert parse_assignment("a.b=x=y") == ("a.b", "x=y")


def test_changing_a_kind_starts_from_the_new_kinds_defaults():
    changed = apply_overrides(load_preset("whatif"), [("stages.cpu.kind", "cache"), ("model.kind", "mlp")])
    assert changed.stage("cpu").kind == "cache" and changed.stage("cpu").params == {"filename": ""}
    assert changed.model.params == {"hidden": [1024], "learning_rate": 0.01, "sync": "every_step",
                                    "sync_window": 0}


def _error_from(data) -> SpecError:
    with pytest.raises(SpecError) as caught:
        spec_from_dict(data)
    return caught.value


def test_spec_errors_carry_path_stage_id_and_reason():
    data = load_preset("whatif").to_dict()
    data["stages"][2]["num_parallel_calls"] = 0
    error = _error_from(data)
    assert str(error) == f"{error.path} (stage 'cpu'): {error.reason}"  # the index as written, and the id
    assert (error.path, error.stage_id) == ("stages[2].num_parallel_calls", "cpu")
    assert error.reason.startswith("must be ≥ 1")

    with pytest.raises(SpecError) as caught:
        apply_overrides(load_preset("whatif"), [("stages.io.ms", -1)])
    assert (caught.value.path, caught.value.stage_id) == ("stages.io.ms", "io")

    data = load_preset("whatif").to_dict()
    data["model"]["step_ms"] = -1
    error = _error_from(data)
    assert (error.path, error.stage_id) == ("model.step_ms", None)


def test_an_error_inside_a_branch_names_the_stage_that_holds_it():
    data = load_preset("whatif").to_dict()
    data["stages"].insert(1, {"id": "side", "kind": "zip", "branch": {
        "source": {"kind": "synthetic"}, "stages": [{"id": "inner", "kind": "batch", "batch_size": 0}]}})
    error = _error_from(data)
    assert error.path == "stages[1].branch.stages[0].batch_size" and error.stage_id == "side"


def test_description_is_optional_checked_and_saved_only_when_set(tmp_path):
    spec = load_preset("whatif")
    assert spec.description and "\n" not in spec.description
    plain = spec_from_dict({k: v for k, v in spec.to_dict().items() if k != "description"})
    assert plain.description == "" and "description" not in plain.to_dict()
    save_spec(spec, tmp_path / "p.json")
    assert load_spec(tmp_path / "p.json").description == spec.description
    with pytest.raises(SpecError, match=r"^description: must be a string, got 3$"):
        spec_from_dict({**spec.to_dict(), "description": 3})


def test_every_preset_has_a_one_line_description_and_sorted_keys():
    from core.spec.presets import preset_path

    for name in preset_names():
        spec = load_preset(name)
        assert spec.description and "\n" not in spec.description, name
        text = preset_path(name).read_text()
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", name


def test_a_binary_file_is_not_a_pipeline_file(tmp_path):
    path = tmp_path / "image.json"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(SpecError, match=r"image.json: not a pipeline file \(binary"):
        load_spec(path)


# ---------------------------------------------------------------- prefetch_to_device needs the tf_data feeder

TO_DEVICE = [{"id": "b", "kind": "batch", "batch_size": 2}, {"id": "to_gpu", "kind": "prefetch_to_device"}]


@pytest.mark.parametrize("feeder", [{"kind": "feed_dict"}, {"kind": "queue_runner", "capacity": 3}])
def test_prefetch_to_device_needs_the_tf_data_feeder(feeder):
    error = _error_from(minimal(stages=TO_DEVICE, feeder=feeder))
    assert (error.path, error.stage_id) == ("stages[1]", "to_gpu")
    assert error.reason.startswith(f"prefetch_to_device needs the tf_data feeder, not {feeder['kind']} (")
    assert "host" in error.reason
    assert spec_from_dict(minimal(stages=TO_DEVICE)).stages[-1].kind == "prefetch_to_device"  # tf_data: fine


def test_a_feeder_override_names_the_prefetch_to_device_stage_by_id():
    spec = spec_from_dict(minimal(stages=TO_DEVICE))
    with pytest.raises(SpecError) as caught:
        apply_overrides(spec, [parse_assignment("feeder.kind=queue_runner")])
    assert (caught.value.path, caught.value.stage_id) == ("stages.to_gpu", "to_gpu")
    assert str(caught.value).startswith("stages.to_gpu: prefetch_to_device needs the tf_data feeder, not queue_runner")
    with pytest.raises(SpecError, match=r"^stages\.b: prefetch_to_device needs the tf_data feeder, not feed_dict"):
        apply_overrides(spec_from_dict(minimal(stages=TO_DEVICE[:1], feeder={"kind": "feed_dict"})),
                        [("stages.b.kind", "prefetch_to_device")])


def test_the_cli_rejects_prefetch_to_device_with_another_feeder(capsys, tmp_path):
    from tests.test_cli import call

    pipeline = tmp_path / "to_device.json"
    pipeline.write_text(json.dumps(minimal(stages=TO_DEVICE, feeder={"kind": "queue_runner"})))
    code, out, err = call(capsys, "run", str(pipeline))
    assert code == 2 and out == ""
    assert err.startswith("error: stages[1] (stage 'to_gpu'): prefetch_to_device needs the tf_data feeder, not queue_runner")
    assert err.count("\n") == 1 and "Traceback" not in err

    pipeline.write_text(json.dumps(minimal(stages=TO_DEVICE)))
    code, _, err = call(capsys, "run", str(pipeline), "--set", "feeder.kind=feed_dict")
    assert code == 2
    assert err.startswith("error: stages.to_gpu: prefetch_to_device needs the tf_data feeder, not feed_dict")
    assert err.count("\n") == 1


def test_spec_errors_carry_their_path_as_parts_and_as_the_user_writes_it():
    data = load_preset("whatif").to_dict()
    data["stages"][2]["num_parallel_calls"] = 0
    error = _error_from(data)
    assert error.parts == ("stages", 2, "num_parallel_calls")
    assert (error.block, error.param, error.user_path) == ("stages", "num_parallel_calls",
                                                           "stages.cpu.num_parallel_calls")
    data = load_preset("whatif").to_dict()
    data["stages"].insert(0, {"id": "z", "kind": "zip", "branch": {"source": {"kind": "range"},
                                                                   "stages": [{"id": "b", "kind": "latency", "ms": -1}]}})
    error = _error_from(data)
    assert error.parts == ("stages", 0, "branch", "stages", 0, "ms") and error.stage_id == "z"
    assert (error.param, error.user_path) == ("branch", "stages.z.branch.stages[0].ms")
    for not_a_pipeline_path in ("/tmp/x.json: not valid JSON", "--out x: not writable", "no path here"):
        error = SpecError(not_a_pipeline_path)
        assert error.parts == () and error.block is None and error.user_path == error.path


@pytest.mark.parametrize("reserved", ["source", "feeder"])
def test_ids_the_run_uses_for_its_own_figures_are_reserved(reserved):
    data = load_preset("whatif").to_dict()
    data["stages"][0]["id"] = reserved
    error = _error_from(data)
    assert error.path == "stages[0].id" and "reserved" in error.reason
