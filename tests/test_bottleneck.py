"""Bottleneck analysis: from isolated rates to the limiting stage and a change with its expected effect."""
import pytest

from core.analysis.bottleneck import (PrefixThroughput, analyze, elements_per_step, find_bottleneck,
                                      predicted_steps_per_s)
from core.spec.pipeline import apply_overrides, spec_from_dict
from core.spec.presets import load_preset


def whatif(**changes):
    return apply_overrides(load_preset("whatif"), list(changes.items()))


def prefixes_of(spec, steps_per_s: dict):
    """PrefixThroughput per prefix, from steps/s given per stage id ("source" for the source alone)."""
    ids = ["source"] + [stage.id for stage in spec.stages]
    kinds = [spec.source.kind] + [stage.kind for stage in spec.stages]
    return [PrefixThroughput(i, k, steps_per_s[i] * elements_per_step(spec, n), elements_per_step(spec, n))
            for n, (i, k) in enumerate(zip(ids, kinds))]


def test_elements_per_step_counts_the_batch_sizes_after_a_prefix():
    spec = whatif(**{"stages.batch.batch_size": 16})
    assert [elements_per_step(spec, n) for n in range(5)] == [16, 1, 1, 1, 1]
    data = spec.to_dict()
    data["stages"] = [{"id": "b16", "kind": "batch", "batch_size": 16},
                      {"id": "split", "kind": "flat_map", "fn": "unbatch"},
                      {"id": "b8", "kind": "batch", "batch_size": 8}]
    rebatched = spec_from_dict(data)
    assert [elements_per_step(rebatched, n) for n in range(4)] == [8, 0.5, 8, 1]


def test_the_slow_io_stage_is_the_bottleneck_and_more_calls_reach_the_model():
    spec = whatif(**{"stages.io.ms": 8.0, "model.step_ms": 3.0})
    prefixes = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 125, "cpu": 124, "prefetch": 124})
    result = analyze(spec, prefixes, model_steps_per_s=333.0, cores=2)
    assert result["bottleneck"] == "io"
    assert result["predicted_steps_per_s"] == pytest.approx(124)
    best = result["recommendations"][0]
    # 125 steps/s from one call: carrying 333 (+10%) takes 3 calls in flight, which reaches the model's 333.
    assert best["change"] == "stages.io.num_parallel_calls=3"
    assert best["expected_steps_per_s"] == pytest.approx(333.0)
    assert "io" in best["text"] and "3" in best["text"]


def test_a_cpu_stage_is_not_given_more_calls_than_cores():
    spec = whatif(**{"stages.cpu.ms": 10.0, "model.step_ms": 1.0})
    prefixes = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 250, "cpu": 100, "prefetch": 100})
    result = analyze(spec, prefixes, model_steps_per_s=1000.0, cores=2)
    assert result["bottleneck"] == "cpu"
    (recommendation,) = result["recommendations"]
    # io (4 ms) and cpu (6 ms) one at a time add up to 10 ms; two cpu calls side by side take 3 ms a step
    # each, so io's 4 ms sets the pace: 250 steps/s.
    assert recommendation["change"] == "stages.cpu.num_parallel_calls=2"
    assert recommendation["expected_steps_per_s"] == pytest.approx(250.0, rel=1e-3)
    already_at_cores = apply_overrides(spec, [("stages.cpu.num_parallel_calls", 2)])
    assert analyze(already_at_cores, prefixes, 1000.0, cores=2)["recommendations"] == []


def test_a_slow_model_is_the_bottleneck_and_the_input_is_left_alone():
    spec = whatif()
    prefixes = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 250, "cpu": 240, "prefetch": 240})
    assert find_bottleneck(prefixes, model_steps_per_s=160.0) == "model"
    assert analyze(spec, prefixes, 160.0, cores=2)["recommendations"] == []
    waited = analyze(spec, prefixes, 160.0, cores=2, measured={"idle_fraction": 0.12})
    (deeper,) = waited["recommendations"]
    assert deeper["change"] == "stages.prefetch.buffer_size=8" and deeper["expected_steps_per_s"] == 160.0


def test_a_model_that_waits_for_every_step_is_told_to_launch_ahead_when_that_pays():
    spec = whatif(**{"model.step_ms": 3.0})
    fast_input = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 500, "cpu": 450, "prefetch": 450})
    # Alone it takes 270 steps/s synced every step, 333 launching ahead: 0.7 ms of hand-over per step.
    result = analyze(spec, fast_input, 270.0, cores=2, launching_ahead_steps_per_s=333.0)
    assert result["model_launching_ahead_steps_per_s"] == 333.0
    best = result["recommendations"][0]
    assert best["change"] == "model.sync=window" and best["expected_steps_per_s"] == pytest.approx(333.0)
    assert "0.70 ms" in best["text"]
    # Not where the input holds the steps back anyway, nor for a gain within noise, nor when it already does.
    slow_input = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 125, "cpu": 124, "prefetch": 124})
    assert "model.sync=window" not in [r["change"] for r in
                                       analyze(spec, slow_input, 270.0, 2, launching_ahead_steps_per_s=333.0)[
                                           "recommendations"]]
    assert analyze(spec, fast_input, 270.0, 2, launching_ahead_steps_per_s=280.0)["recommendations"] == []
    assert "model_launching_ahead_steps_per_s" not in analyze(spec, fast_input, 333.0, 2)


def test_launching_ahead_is_an_edit_only_where_the_model_waits_for_every_step():
    from core.spec.edits import launching_ahead

    spec = whatif()
    ahead = launching_ahead(spec)
    assert ahead.model.params["sync"] == "window" and spec.model.params["sync"] == "every_step"
    assert launching_ahead(ahead) is None


def test_feed_dict_adds_input_to_compute_and_tf_data_overlaps_them():
    serial = apply_overrides(load_preset("seed_feed_dict"), [])
    assert predicted_steps_per_s(serial, 100.0, 100.0) == pytest.approx(50.0)
    assert predicted_steps_per_s(load_preset("seed_tf_data"), 100.0, 100.0) == pytest.approx(100.0)


def test_live_figures_of_a_normal_run_stand_beside_the_isolated_ones():
    spec = whatif()
    prefixes = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 250, "cpu": 240, "prefetch": 240})
    measured = {"idle_fraction": 0.0, "stages": {"io": {"elements_per_s": 231.5}}}
    stages = analyze(spec, prefixes, 1000.0, cores=2, measured=measured)["stages"]
    assert [s["id"] for s in stages] == ["source", "batch", "io", "cpu", "prefetch"]
    assert stages[2]["live_elements_per_s"] == 231.5 and "live_elements_per_s" not in stages[3]


def test_a_pipeline_that_gives_nothing_is_named_without_a_division_by_zero():
    spec = whatif()
    prefixes = prefixes_of(spec, {"source": 5000, "batch": 4000, "io": 0.0, "cpu": 0.0, "prefetch": 0.0})
    result = analyze(spec, prefixes, 300.0, cores=2)
    assert result["bottleneck"] == "io" and result["recommendations"] == [] and result["predicted_steps_per_s"] == 0
