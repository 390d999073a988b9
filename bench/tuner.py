"""The tuner's targets (issue 9 §6), measured as ratios in one process.

Two cases:
- `whatif` with io waiting 8 ms per batch (one call in flight) before a 3 ms simulated model: the best
  against the model's compute limit (1000 / step_ms steps/s), target ≥ 0.9 within 12 trials;
- `images_tf` on a folder of photographs (`--photos DIR`, JPEGs): the best's images/s against the same
  pipeline under AUTOTUNE (target ≥ 2.5×) and against what the model alone can take (target ≥ 0.9).

`tune` runs first (its trials are a few seconds each); then the best, the AUTOTUNE baseline and the model
alone are measured again in `--rounds` interleaved rounds of `--seconds` each, so that a burst of other
work on the host hits all three alike, and the ratios are the medians of the rounds' ratios.

The analysis's predictions are checked too: each trial made on the analysis's recommendation
carries the steps/s it expected, set beside the steps/s the trial achieved.

    python bench/tuner.py [--photos DIR] [--rounds 3] [--seconds 8] [--rows FILE]
"""
import argparse
import csv
import re
import statistics
import tempfile
from pathlib import Path

from _util import run_summary
from rows import add_rows_argument, row, write_rows

import main as pipescope
from cli.common import resolve_spec
from core.engine.throughput import measure_model
from core.spec.edits import autotune_baseline
from core.spec.pipeline import apply_overrides, length_overrides, load_spec

BUDGET = 12


def tuned(spec_args: list[str], out: Path) -> tuple:
    """(best description, the trials' rows of tune.csv) of `tune` with the issue's budget."""
    code = pipescope.main(["tune", *spec_args, "--budget", str(BUDGET), "--out", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(f"tune failed ({code})")
    trials = [row for row in csv.DictReader(open(out / "tune.csv")) if row["trial"] != "autotune"]
    return load_spec(out / "best.json"), trials


def rounds_of(best, baseline, rounds: int, seconds: float) -> dict:
    """Per round: the best's and the baseline's examples/s in a run, and the model alone's."""
    timed = lambda spec: apply_overrides(spec, length_overrides(None, seconds))  # noqa: E731
    found = {"best": [], "autotune": [], "model_alone": [], "best_steps": []}
    for number in range(1, rounds + 1):
        summary = run_summary(timed(best))
        found["best"].append(summary["examples_per_s"])
        found["best_steps"].append(summary["steps_per_s"])
        found["autotune"].append(run_summary(timed(baseline))["examples_per_s"])
        batch = summary["examples_per_s"] / summary["steps_per_s"]
        found["model_alone"].append(measure_model(best, seconds) * batch)
        print(f"  round {number}: best {found['best'][-1]:.0f}/s, AUTOTUNE {found['autotune'][-1]:.0f}/s, "
              f"model alone {found['model_alone'][-1]:.0f}/s", flush=True)
    return found


def report(name: str, trials: list, found: dict, limit_steps_per_s=None) -> list[dict]:
    """Prints the case's figures; returns them as rows for BENCHMARKS.md."""
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(found[a], found[b]))  # noqa: E731
    best = next((row for row in trials if row["best"] == "1"), trials[0])
    print(f"{name}: the best is trial {best['trial']} of {len(trials)}: {best['change']}")
    print(f"  examples/s: best {statistics.median(found['best']):.0f}, AUTOTUNE {statistics.median(found['autotune']):.0f}"
          f", model alone {statistics.median(found['model_alone']):.0f}")
    print(f"  best / AUTOTUNE {ratio('best', 'autotune'):.2f}×, best / model alone {ratio('best', 'model_alone'):.2f}")
    rounds = f"median of {len(found['best'])} rounds"
    rows = [row("Tuning", f"`{name}`: the tuner's best ÷ the same pipeline under AUTOTUNE (examples/s)",
                f"{ratio('best', 'autotune'):.2f}× ({rounds}; best: {best['change']})",
                *_target(name == "images_tf", 2.5, ratio('best', 'autotune'), "×")),
            row("Tuning", f"`{name}`: the tuner's best ÷ the model alone (examples/s)",
                f"{ratio('best', 'model_alone'):.2f} ({rounds})",
                *_target(name == "images_tf", 0.9, ratio('best', 'model_alone')))]
    if limit_steps_per_s:
        reached = statistics.median(found['best_steps']) / limit_steps_per_s
        print(f"  best / compute limit ({limit_steps_per_s:.0f} steps/s) {reached:.2f}")
        rows.append(row("Tuning", f"`{name}`: the tuner's best ÷ the model's compute limit "
                        f"({limit_steps_per_s:.0f} steps/s) within {BUDGET} trials", f"{reached:.2f} ({rounds})",
                        *_target(True, 0.9, reached)))
    return rows + prediction_rows(name, trials)


def _target(applies: bool, bound: float, value: float, unit: str = "") -> tuple:
    return (f"≥ {bound:g}{unit}", value >= bound) if applies else ("", None)


_EXPECTED = re.compile(r"expected ([\d.]+) steps/s")


def prediction_rows(name: str, trials: list) -> list[dict]:
    """Each trial the analysis recommended: the steps/s it expected against what the trial achieved."""
    pairs = [(float(_EXPECTED.search(trial["why"]).group(1)), float(trial["steps_per_s"]), trial["change"])
             for trial in trials if _EXPECTED.search(trial["why"] or "") and trial["steps_per_s"]]
    for predicted, achieved, change in pairs:
        print(f"  predicted {predicted:.0f} steps/s, achieved {achieved:.1f} ({achieved / predicted:.2f}): {change}")
    if not pairs:
        return [row("Tuning", f"`{name}`: achieved ÷ predicted by the analysis", "— (no trial came from it)")]
    ratios = sorted(achieved / predicted for predicted, achieved, _ in pairs)
    return [row("Tuning", f"`{name}`: steps/s achieved ÷ predicted by the analysis",
                f"median {statistics.median(ratios):.2f} over {len(ratios)} recommended trials "
                f"(range {ratios[0]:.2f}–{ratios[-1]:.2f})")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", help="a folder of JPEG photographs for the images_tf case")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    add_rows_argument(parser)
    args = parser.parse_args()
    rows = []
    cases = [("whatif", ["--preset", "whatif", "--set", "stages.io.ms=8", "--set", "model.step_ms=3"], 1000 / 3)]
    if args.photos:
        cases.append(("images_tf", ["--preset", "images_tf", "--set", f"source.path={args.photos}"], None))
    for name, spec_args, limit in cases:
        with tempfile.TemporaryDirectory() as out:
            best, trials = tuned(spec_args, Path(out))
        given = described(spec_args)
        found = rounds_of(best, autotune_baseline(given, best), args.rounds, args.seconds)
        rows += report(name, trials, found, limit)
    write_rows(args.rows, rows)


def described(spec_args: list[str]):
    """The description as `tune` was given it."""
    return resolve_spec(pipescope.build_parser().parse_args(["tune", *spec_args]))


if __name__ == "__main__":
    main()
