"""`analyze` end to end: analysis.json for a real pipeline, and its errors as one line."""
import json

import main
from core.engine.sample_data import write_sample_images


def test_analyze_names_the_slow_stage_and_writes_analysis_json(tmp_path, capsys):
    # io's 30 ms a batch (a wait, no CPU) is slower than the synthetic source and the 1 ms model by a wide margin
    code = main.main(["analyze", "--preset", "whatif", "--set", "stages.io.ms=30", "--set", "stages.cpu.ms=0",
                      "--set", "model.step_ms=1", "--seconds", "0.3", "--run-seconds", "1.5", "--out", str(tmp_path),
                      "--quiet"])
    assert code == 0
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    assert analysis["bottleneck"] == "io" and [s["id"] for s in analysis["stages"]][0] == "source"
    assert analysis["recommendations"][0]["change"].startswith("stages.io.num_parallel_calls=")
    assert analysis["measured"]["steps_per_s"] > 0
    assert analysis["model_launching_ahead_steps_per_s"] > 0  # the simulated model syncs every step as given
    out = capsys.readouterr().out
    assert "bottleneck: io" in out and "sync: window" in out


def test_the_model_alone_launching_ahead_runs_at_its_known_step_time():
    from core.engine.throughput import measure_model
    from core.spec.pipeline import apply_overrides
    from core.spec.presets import load_preset

    spec = apply_overrides(load_preset("whatif"), [("model.step_ms", 4.0), ("model.sync", "window")])
    # Nothing to wait for but the device's 4 ms a step: the hand-over of each batch overlaps it. No host can
    # beat the device's 250 steps/s; a busy one falls a little short when it takes a batch late (230 seen).
    assert 0.8 * 250.0 <= measure_model(spec, 0.4) <= 1.01 * 250.0


def test_only_a_model_whose_launch_returns_early_is_measured_launching_ahead():
    from core.engine.models import launches_ahead
    from core.spec.presets import load_preset

    simulated, mlp = load_preset("whatif").model, load_preset("seed_tf_data").model
    assert launches_ahead(simulated, "/CPU:0") and launches_ahead(mlp, "/GPU:0")
    assert not launches_ahead(mlp, "/CPU:0")  # on the CPU the launch runs the step: nothing to overlap


def test_bad_values_and_failing_stages_are_one_line(tmp_path, capsys):
    assert main.main(["analyze", "--preset", "whatif", "--seconds", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --seconds: must be > 0, got 0"
    folder = tmp_path / "broken"
    write_sample_images(folder, count=4, corrupt=4)
    code = main.main(["analyze", "--preset", "images_tf", "--set", f"source.path={folder}", "--set",
                      "source.sample_count=0", "--run-seconds", "0", "--seconds", "0.2", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error: analysis failed: ") and "\n" not in err
