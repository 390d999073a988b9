"""`codegen` (issue 17 §1): every kind has an emitter; every preset's script runs, standalone, with the
engine's element_spec; a watched job's tuned values go back into its script as a diff that applies."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine.feeders import build_feeder
from core.outputs.codegen.feeders import FEEDER_EMITTERS
from core.outputs.codegen.models import MODEL_EMITTERS
from core.outputs.codegen.patch import make_patch
from core.outputs.codegen.script import generate_script
from core.outputs.codegen.sources import SOURCE_EMITTERS
from core.outputs.codegen.stages import STAGE_EMITTERS
from core.spec import kinds
from core.spec.params import SpecError
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset, preset_names
from tests.every_stage import every_stage_kind

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent / "watch_scripts"
EMITTERS = [SOURCE_EMITTERS, STAGE_EMITTERS, FEEDER_EMITTERS, MODEL_EMITTERS]


def pipescope(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=180, cwd=cwd)


@pytest.mark.parametrize("emitters", EMITTERS, ids=lambda emitters: emitters.catalog.category)
def test_every_kind_a_user_can_choose_has_one_emitter(emitters):
    assert sorted(emitters.names()) == sorted(kind.name for kind in emitters.catalog.offered())


def test_the_emitters_are_for_the_catalogs_kinds():
    assert [emitters.catalog for emitters in EMITTERS] == [kinds.SOURCES, kinds.STAGES, kinds.FEEDERS, kinds.MODELS]


def test_a_kind_from_a_watched_script_has_no_code_and_the_patch_is_offered():
    with pytest.raises(SpecError, match=r"stages\[0\]\.kind: .*watched script's own code.*codegen --patch"):
        STAGE_EMITTERS.emitter_for("from_script", "stages[0].kind")


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # AutoGraph looks a function's module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", preset_names())
def test_every_presets_script_runs_standalone_with_the_engines_element_spec(name, tmp_path):
    spec = load_preset(name)
    feeder = build_feeder(spec, "/CPU:0")  # also makes an image preset's sample folder, as a run does
    try:
        engines = feeder.dataset.element_spec
    finally:
        feeder.close()
    script = tmp_path / f"{name}.py"
    script.write_text(generate_script(spec))
    assert load_script(script).make_dataset().element_spec == engines

    # Standalone: run from elsewhere, with nothing of Pipescope's on its path.
    result = subprocess.run([sys.executable, "-I", str(script), "--steps", "8", "--warmup", "3"],
                            capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.fullmatch(r"steps_per_s: \d+\.\d+", result.stdout.strip().splitlines()[-1])
    assert not re.search(r"^\s*(from|import) (core|cli|gui|bench)\b", script.read_text(), re.MULTILINE)


def test_a_pipeline_with_every_stage_kind_generates_a_script_whose_dataset_matches_the_engines(tmp_path):
    spec = every_stage_kind({"source": {"kind": "tensors", "shape": [3], "count": 64},
                             "stages": [{"id": "again", "kind": "repeat", "count": -1}]},
                            last=[{"id": "prefetch", "kind": "prefetch_to_device", "buffer_size": 2}])
    feeder = build_feeder(spec, "/CPU:0")
    try:
        engines = feeder.dataset.element_spec
    finally:
        feeder.close()
    script = tmp_path / "every_stage.py"
    script.write_text(generate_script(spec))
    module = load_script(script)
    assert module.make_dataset().element_spec == engines
    first = next(iter(module.make_dataset()))
    assert first[0].shape == (8, 4)  # the range's one feature beside the branch's three


@pytest.mark.parametrize("feeder, sync", [("feed_dict", ("every_step", 0)), ("queue_runner", ("window", 0)),
                                          ("tf_data", ("window", 4))])
def test_each_feeder_and_sync_trains_the_steps_asked_for(feeder, sync, tmp_path):
    spec = apply_overrides(load_preset("whatif"), [("feeder.kind", feeder), ("model.sync", sync[0]),
                                                   ("model.sync_window", sync[1]), ("model.step_ms", 1.0),
                                                   ("stages.io.ms", 0.5), ("stages.cpu.ms", 0.0)])
    script = tmp_path / "job.py"
    script.write_text(generate_script(spec))
    result = subprocess.run([sys.executable, str(script), "--steps", "30", "--warmup", "5"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    rate = float(result.stdout.strip().splitlines()[-1].split(": ")[1])
    assert 0 < rate <= 1000 * 1.05  # a 1 ms step bounds it, whatever the machine


def test_codegen_writes_the_script_where_asked_and_says_how_to_run_it(tmp_path):
    result = pipescope("codegen", "--preset", "seed_tf_data", "--set", "stages.batch.batch_size=64",
                       "-o", str(tmp_path / "seed.py"))
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'seed.py'}: python {tmp_path / 'seed.py'} --steps 5000" in result.stderr
    text = (tmp_path / "seed.py").read_text()
    assert "ds = ds.batch(64, drop_remainder=True)" in text and "python seed.py" in text
    compile(text, "seed.py", "exec")


@pytest.mark.parametrize("args, message", [
    (("--preset", "nope"), "unknown preset"),
    (("--preset", "whatif", "--set", "stages.io.nope=1"), "stages.io.nope"),
    (("--patch", "."), "is not a folder `watch` wrote"),
    (("--preset", "whatif", "--patch", "."), "--patch: give the watched run's folder alone"),
    (("--preset", "whatif", "-o", "/no/such/folder/x.py"), "--output: cannot write /no/such/folder/x.py"),
])
def test_bad_input_is_one_error_line(args, message, tmp_path):
    (tmp_path / "run.json").write_text('{"format": 1, "status": "finished", "spec": {}, "extra": {}}')
    result = pipescope("codegen", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1


# ---------------------------------------------------------------- --patch

SMALL_SCRIPT = '''\
import tensorflow as tf

files = tf.data.Dataset.range(100)
ds = files.map(lambda x: x * 2)  # a plain map
ds = ds.batch(4, True, 1)
ds = ds.interleave(lambda x: tf.data.Dataset.from_tensors(x),
                   cycle_length=2)
ds = (ds.shuffle(8)
        .prefetch(
            2))
'''


def small_pipeline(path: Path) -> dict:
    def stage(stage_id, kind, line, **params):
        return {"id": stage_id, "kind": kind, **params,
                "origin": {"file": str(path), "line": line, "call": SMALL_SCRIPT.splitlines()[line - 1].strip()}}

    return {"stages": [stage("map", "map", 4, num_parallel_calls=8), stage("batch", "batch", 5, num_parallel_calls=2),
                       stage("interleave", "interleave", 6, cycle_length=4, num_parallel_calls="AUTOTUNE"),
                       stage("shuffle", "shuffle", 8, buffer_size=64),
                       stage("prefetch", "prefetch", 9, buffer_size="AUTOTUNE")]}


def test_a_patch_replaces_given_arguments_adds_missing_ones_and_applies(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SMALL_SCRIPT)
    changes = ["stages.map.num_parallel_calls=8", "stages.batch.num_parallel_calls=2",
               'stages.interleave.cycle_length=4, stages.interleave.num_parallel_calls="AUTOTUNE"',
               "stages.shuffle.buffer_size=64", 'stages.prefetch.buffer_size="AUTOTUNE"']
    patch = make_patch(small_pipeline(script), changes, relative_to=tmp_path)
    assert patch.unplaced == []
    (tmp_path / "tuned.diff").write_text(patch.diff)
    subprocess.run(["patch", "-p1", "-i", "tuned.diff"], cwd=tmp_path, check=True, capture_output=True)
    assert script.read_text() == SMALL_SCRIPT.replace(
        "x * 2)", "x * 2, num_parallel_calls=8)").replace(
        "batch(4, True, 1)", "batch(4, True, 2)").replace(
        "cycle_length=2)", "cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE)").replace(
        "shuffle(8)", "shuffle(64)").replace("            2))", "            tf.data.AUTOTUNE))")


def test_what_a_patch_cannot_place_is_said_and_the_rest_is_placed(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SMALL_SCRIPT)
    pipeline = small_pipeline(script)
    pipeline["stages"][0]["origin"]["call"] = "ds = files.map(lambda x: x + 1)"  # the script changed since
    del pipeline["stages"][1]["origin"]
    patch = make_patch(pipeline, ["stages.map.num_parallel_calls=8", "stages.batch.num_parallel_calls=2",
                                  "stages.shuffle.buffer_size=64"], relative_to=tmp_path)
    assert patch.placed == ["train.py:8 buffer_size=64"]
    assert patch.unplaced == [
        "stages.batch.num_parallel_calls=2: no line of the script was recorded for this stage",
        "stages.map.num_parallel_calls: train.py:4 is not the line it was when the job ran (the script has "
        "changed since)"]


def test_a_watched_jobs_change_goes_back_into_its_script_as_a_diff_that_applies(tmp_path):
    script = tmp_path / "tunable_loop.py"
    shutil.copy(SCRIPTS / "tunable_loop.py", script)
    watched = pipescope("watch", "--out", "run", "--change-at", "5", "stages.double.num_parallel_calls=4",
                        "--change-at", "10", "stages.prefetch.buffer_size=AUTOTUNE", str(script), cwd=tmp_path)
    assert watched.returncode == 0, watched.stderr
    result = pipescope("codegen", "--patch", "run", "-o", "tuned.diff", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 value(s) placed: tunable_loop.py:11 num_parallel_calls=4; tunable_loop.py:14 buffer_size=AUTOTUNE" \
        in result.stderr
    subprocess.run(["patch", "-p1", "-i", "tuned.diff"], cwd=tmp_path, check=True, capture_output=True)
    tuned = script.read_text()
    assert "dataset = dataset.map(double, num_parallel_calls=4)" in tuned
    assert ".prefetch(tf.data.AUTOTUNE))" in tuned
    again = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert again.stdout.strip().splitlines()[-1] == watched.stdout.strip().splitlines()[-1] == "total: 3998000"


def test_a_watched_job_is_not_regenerated_but_pointed_to_its_patch(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text('{"format": 1, "status": "finished", "spec": {}, '
                                               '"extra": {"source": "watch", "pipeline": {"stages": []}}}')
    result = pipescope("codegen", "run", cwd=tmp_path)
    assert result.returncode == 2 and "codegen --patch run" in result.stderr
    nothing = pipescope("codegen", "--patch", "run", cwd=tmp_path)
    assert nothing.returncode == 0 and "nothing to hand back" in nothing.stderr and nothing.stdout == ""
