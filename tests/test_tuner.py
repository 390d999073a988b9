"""The tuner's search, on a modelled pipeline whose throughput is known in closed form, and for real."""
import csv
import json

import pytest

from core.analysis.bottleneck import PrefixThroughput, analyze, elements_per_step
from core.experiments.tuner import Tuner, exploring_moves
from core.spec.edits import autotune_baseline, autotuned, cache_positions, launching_ahead, with_cache_after
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset


HANDOVER_MS = 0.6  # taking a batch from a full buffer: added to each step the model waits out


def model_rate(spec):
    waits = spec.model.params["sync"] == "every_step"
    return 1000.0 / (spec.model.params["step_ms"] + (HANDOVER_MS if waits else 0.0))


def modelled_rates(spec):
    """whatif's truth: io waits io.ms per batch (calls overlap freely), cpu burns cpu.ms per batch on at most
    2 cores, the model takes step_ms, plus the hand-over of each batch where it waits for every step:
    steps/s of each prefix, and of the model."""
    io, cpu = spec.stage("io").params, spec.stage("cpu").params
    io_rate = 1000.0 / io["ms"] * io["num_parallel_calls"]
    cpu_rate = 1000.0 / cpu["ms"] * min(2, cpu["num_parallel_calls"])
    rates = {"source": 20000.0, "batch": 10000.0, "io": min(10000.0, io_rate)}
    rates["cpu"] = min(rates["io"], cpu_rate)
    rates["prefetch"] = rates["cpu"]
    return rates, model_rate(spec)


def modelled_summary(spec):
    rates, model = modelled_rates(spec)
    steps = min(rates["prefetch"], model)
    batch = spec.stage("batch").params["batch_size"]
    return {"steps_per_s": steps, "examples_per_s": steps * batch, "idle_fraction": 1 - steps / model}


def modelled_analysis(spec, summary):
    rates, model = modelled_rates(spec)
    ids = ["source"] + [stage.id for stage in spec.stages]
    kinds = [spec.source.kind] + [stage.kind for stage in spec.stages]
    prefixes = [PrefixThroughput(i, k, rates[i] * elements_per_step(spec, n), elements_per_step(spec, n))
                for n, (i, k) in enumerate(zip(ids, kinds))]
    ahead = launching_ahead(spec)
    return analyze(spec, prefixes, model, cores=2, measured=summary,
                   launching_ahead_steps_per_s=model_rate(ahead) if ahead else None)


def test_guided_by_the_analysis_it_reaches_the_models_limit_within_twelve_trials():
    spec = apply_overrides(load_preset("whatif"), [("stages.io.ms", 8.0), ("model.step_ms", 3.0)])
    tuner = Tuner(spec, budget=12, analyze=modelled_analysis)
    while (trial := tuner.ask()) is not None:
        tuner.tell(trial, modelled_summary(trial.spec))
    assert tuner.best.summary["steps_per_s"] >= 0.9 * 1000 / 3
    # The analysis named the fixes: the io stage's calls straight after the description as given, then,
    # with the model the limit, launching ahead so the hand-over overlaps the device's work.
    assert tuner.trials[1].moves == ("stages.io.num_parallel_calls=3",) and tuner.trials[1].improved
    assert tuner.trials[2].moves[-1] == "model.sync=window" and tuner.trials[2].improved
    assert len(tuner.trials) <= 12 and len({t.spec.to_json() for t in tuner.trials}) == len(tuner.trials)


def test_a_trials_moves_keep_each_values_latest_only():
    from core.experiments.tuner import Move

    moves = Move("stages.batch.batch_size=512", "x").after(("cache after batch", "stages.batch.batch_size=256"))
    assert moves == ("cache after batch", "stages.batch.batch_size=512")
    assert Move("cache after read", "x", cache_after="read").after(moves)[-1] == "cache after read"


def test_the_budget_and_the_ask_tell_order_hold():
    spec = load_preset("whatif")
    tuner = Tuner(spec, budget=2, analyze=modelled_analysis)
    first = tuner.ask()
    with pytest.raises(RuntimeError):
        tuner.ask()
    tuner.tell(first, None, error="stage 'io' failed")
    assert tuner.best is None and not first.improved
    assert tuner.ask() is None  # nothing to start from: the description as given failed
    working = Tuner(spec, budget=2, analyze=modelled_analysis)
    for _ in range(2):
        trial = working.ask()
        working.tell(trial, modelled_summary(trial.spec))
    assert working.ask() is None and len(working.trials) == 2


def test_cache_goes_after_the_deterministic_front_with_repeat_moved_after_it():
    spec = load_preset("images_tf")
    assert cache_positions(spec)[:2] == ["batch", "normalize"]
    cached = with_cache_after(spec, "normalize")
    assert [s.id for s in cached.stages] == ["read", "decode", "resize", "normalize", "cache", "repeat", "batch",
                                             "prefetch"]
    assert cache_positions(cached) == [] and cache_positions(load_preset("whatif")) == []  # endless data
    flipped = apply_overrides(spec, [("stages.resize.fn", "random_flip")])
    assert cache_positions(flipped) == ["decode", "read"]
    assert any(move.cache_after == "batch" for move in exploring_moves(spec))


def test_autotuned_sets_every_tunable_knob_to_autotune():
    stages = autotuned(load_preset("whatif")).to_dict()["stages"]
    assert {s["id"]: s.get("num_parallel_calls", s.get("buffer_size")) for s in stages} == \
        {"batch": "AUTOTUNE", "io": "AUTOTUNE", "cpu": "AUTOTUNE", "prefetch": "AUTOTUNE"}


def test_the_autotune_baseline_keeps_the_best_model_and_autotunes_the_given_input():
    given = load_preset("whatif")
    best = apply_overrides(given, [("stages.io.num_parallel_calls", 3), ("model.sync", "window")])
    baseline = autotune_baseline(given, best)
    assert baseline.model.params["sync"] == "window" and given.model.params["sync"] == "every_step"
    assert baseline.stage("io").params["num_parallel_calls"] == "AUTOTUNE"


def test_tune_command_writes_best_json_and_tune_csv(tmp_path):
    import main

    out = tmp_path / "tuned"
    code = main.main(["tune", "--preset", "whatif", "--set", "stages.io.ms=6", "--set", "model.step_ms=2",
                      "--budget", "2", "--trial-seconds", "0.6", "--out", str(out), "--quiet"])
    assert code == 0
    best = json.loads((out / "best.json").read_text())
    assert best["run"] == load_preset("whatif").run  # the user's own run settings, not the trials'
    rows = list(csv.DictReader(open(out / "tune.csv")))
    assert [row["trial"] for row in rows] == ["1", "2", "autotune"]
    assert rows[0]["change"] == "as given" and float(rows[0]["steps_per_s"]) > 0
    assert sum(int(row["best"]) for row in rows) == 1
    assert json.loads((out / "analysis.json").read_text())["bottleneck"]


def test_a_bigger_batch_is_tried_only_where_a_step_costs_more_with_it():
    batch_moves = lambda spec: [m for m in exploring_moves(spec) if "batch_size" in m.description]  # noqa: E731
    assert batch_moves(load_preset("images_tf")) and not batch_moves(load_preset("whatif"))


def test_launching_ahead_is_explored_where_the_model_waits_for_every_step():
    sync_moves = lambda spec: [m.description for m in exploring_moves(spec) if m.description.startswith("model.sync")]  # noqa: E731
    assert sync_moves(load_preset("whatif")) == ["model.sync=window"]
    assert sync_moves(apply_overrides(load_preset("whatif"), [("model.sync", "window")])) == []
