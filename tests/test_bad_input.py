"""Input no other test was written for: each is one `error: …` line naming the field or file.

Exit 2 for bad input, 1 where the pipeline fails while running, and the data
folders a user names are only ever read.
"""
import json

import pytest

from core.spec.presets import load_preset
from core.engine.sample_data import write_sample_images
from core.engine.sources import ensure_image_folder, skipped_files
from core.spec.kinds.sources import SAMPLE_IMAGES_FOLDER
from core.spec.pipeline import apply_overrides
from tests.test_cli import call

# An images pipeline small enough to run in a few seconds.
SMALL_IMAGES = ["--set", "stages.batch.batch_size=4", "--set", "model.filters=2", "--set", "run.warmup_steps=2",
                "--quiet"]


def assert_one_error_line(err: str, starts: str) -> None:
    assert err.startswith(f"error: {starts}") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """20 JPEGs, the last 2 of them unreadable (as `sample-data --corrupt 2` writes them)."""
    folder = tmp_path_factory.mktemp("mixed")
    written = write_sample_images(folder, count=20, size=(40, 30), corrupt=2)
    return folder, sorted(str(path) for path in written[-2:])


def test_a_binary_pipeline_file_is_bad_input(capsys, tmp_path):
    pipeline = tmp_path / "photo.json"
    pipeline.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x80")
    code, _, err = call(capsys, "run", str(pipeline))
    assert code == 2
    assert_one_error_line(err, f"{pipeline}: not a pipeline file (binary")


def test_a_mistyped_data_folder_is_bad_input_and_never_created(capsys, tmp_path):
    mistyped = tmp_path / "some" / "mistyped" / "photos"
    code, _, err = call(capsys, "run", "--preset", "images_tf", "--set", f"source.path={mistyped}", "--steps", "3",
                        "--quiet")
    assert code == 2
    assert_one_error_line(err, f"source.path: no such folder {mistyped}")
    assert not (tmp_path / "some").exists()


def test_a_file_named_as_the_data_folder_is_bad_input(tmp_path):
    from core.spec.params import SpecError

    a_file = tmp_path / "photos.jpg"
    a_file.write_bytes(b"")
    with pytest.raises(SpecError, match="source.path: .* is not a folder"):
        ensure_image_folder(str(a_file), sample_count=8)


def test_sample_images_are_made_only_in_pipescopes_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))  # `~` of the preset's own folder, away from the real cache
    named = tmp_path / "named"
    with pytest.raises(Exception, match="source.path: no such folder"):
        ensure_image_folder(str(named), sample_count=8)
    assert not named.exists()

    ensure_image_folder(str(tmp_path / ".cache" / "pipescope" / "sample_images"), sample_count=8)
    own = tmp_path / ".cache" / "pipescope" / "sample_images"
    assert len(list(own.rglob("*.jpg"))) == 8
    assert [p.name for p in own.parent.iterdir()] == ["sample_images"]  # nothing half-written left beside it
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"making 8 sample images in {own}" in err
    assert SAMPLE_IMAGES_FOLDER == "~/.cache/pipescope/sample_images"


def test_the_image_presets_use_pipescopes_own_folder():
    for name in ("images_tf", "images_cv2"):
        source = load_preset(name).source.params
        assert source["path"] == SAMPLE_IMAGES_FOLDER and source["sample_count"] > 0


@pytest.mark.parametrize("preset", ["images_tf", "images_cv2"])
def test_a_corrupt_jpeg_is_named_in_the_failure(capsys, tmp_path, mixed_folder, preset):
    folder, corrupt = mixed_folder
    code, _, err = call(capsys, "run", "--preset", preset, "--set", f"source.path={folder}", "--steps", "20",
                        "--out", str(tmp_path), *SMALL_IMAGES)
    assert code == 1
    assert err.startswith("error: stage 'decode' failed: ") and err.count("\n") == 1, err
    assert corrupt[0] in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert len((tmp_path / "steps.csv").read_text().splitlines()) == summary["steps"] + 1  # no step lost


@pytest.mark.parametrize("preset", ["images_tf", "images_cv2"])
def test_skip_corrupt_skips_and_counts_unreadable_files(capsys, tmp_path, mixed_folder, preset):
    folder, corrupt = mixed_folder
    code, out, err = call(capsys, "run", "--preset", preset, "--set", f"source.path={folder}",
                          "--set", "stages.decode.skip_corrupt=true", "--steps", "20", "--out", str(tmp_path),
                          *SMALL_IMAGES)
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["skipped_files"] == len(corrupt) > 0
    spec = apply_overrides(load_preset(preset), [("source.path", str(folder)), ("stages.decode.skip_corrupt", True)])
    assert skipped_files(spec) == corrupt
    assert skipped_files(load_preset(preset)) is None  # off: nothing is skipped, so nothing to count


def test_skip_corrupt_is_only_for_reading_functions(capsys):
    code, _, err = call(capsys, "run", "--preset", "images_tf", "--set", "stages.resize.skip_corrupt=true")
    assert code == 2
    assert_one_error_line(err, "stages.resize.skip_corrupt: only for read_file, decode_tf, decode_cv2")


@pytest.mark.parametrize("assignment, expected", [
    ("stages.io.ms=-1", "stages.io.ms: must be ≥ 0 and ≤ 60000, got -1"),
    ("stages.io.num_parallel_calls=0", "stages.io.num_parallel_calls: must be ≥ 1 and ≤ 256 or AUTOTUNE, got 0"),
    ("stages.prefetch.kind=nope", "stages.prefetch.kind: unknown stage kind 'nope'"),
    ("stages.io.id=two words", "stages.io.id: must be a name of letters"),
])
def test_set_errors_name_the_path_as_written(capsys, assignment, expected):
    code, _, err = call(capsys, "run", "--preset", "whatif", "--set", assignment)
    assert code == 2
    assert_one_error_line(err, expected)


def test_pipeline_file_errors_keep_the_index_path(capsys, tmp_path):
    data = json.loads(load_preset("whatif").to_json())
    data["stages"][2]["num_parallel_calls"] = 0
    pipeline = tmp_path / "bad.json"
    pipeline.write_text(json.dumps(data))
    code, _, err = call(capsys, "run", str(pipeline))
    assert code == 2
    assert_one_error_line(err, "stages[2].num_parallel_calls (stage 'cpu'): must be ≥ 1")
