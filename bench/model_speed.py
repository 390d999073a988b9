"""A job under Pipescope against the same job without it: `run --preset P` and a script of the same job
in interleaved rounds, each a fresh process, same steps.

- `--job seed`: `seed_tf_data` against `bench/idiomatic_seed.py` (the seed's network, written by hand);
- `--job images`: `images_tf` against `bench/idiomatic_images.py` (the JPEG pipeline, small CNN);
- `--generated P,P…`: each preset against the script `codegen` writes for it (issue 17: the same
  program with no instrumentation), which says what the tool itself costs a job; `--and-generated`
  adds the generated script of `--job`'s preset to its rounds (one run of the preset serves both).

The profiler's verdict depends on the job training at its true speed: a model
slower than the user's code inflates compute and hides input waits. Target: the
preset at ≥ 0.95 of the script's speed, as the ratio of their median
steps (the script's step p50 over the preset's), the median over the rounds
(which go preset first, then script first, and so on). A median step is what the
job trains at; on a shared virtual machine a burst of other work, or Pipescope's
one short tf.profiler capture early in a run (run.capture_steps: a fixed ~0.1 s
that 5,000 steps amortise and a few hundred do not), moves a short run's mean by
more than the difference sought. Whole-run steps/s are shown beside it.

    python bench/model_speed.py [--job seed|images [--and-generated] | --generated P,P…] [--steps 600]
                                [--rounds 3] [--rows FILE]
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import add_rows_argument, row, write_rows

ROOT = Path(__file__).resolve().parent.parent
JOBS = {"seed": ("seed_tf_data", "idiomatic_seed.py"), "images": ("images_tf", "idiomatic_images.py")}
TARGET = 0.95


def script_speed(command: list[str]) -> tuple[float, float]:
    """(median step ms, steps/s) of a script that prints them as `step_ms_p50: …` and `steps_per_s: …`."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return (float(re.findall(r"step_ms_p50: ([\d.]+)", out)[-1]),
            float(re.findall(r"steps_per_s: ([\d.]+)", out)[-1]))


def idiomatic_command(script: str, steps: int, warmup: int) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / script), "--steps", str(steps), "--warmup", str(warmup)]


def generated_command(script: Path, steps: int, warmup: int) -> list[str]:
    # A generated script counts its warm-up among its steps, as `run --steps` does.
    return [sys.executable, str(script), "--steps", str(steps + warmup), "--warmup", str(warmup)]


def generate(preset: str, folder: Path) -> Path:
    script = folder / f"{preset}.py"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "codegen", "--preset", preset, "-o", str(script)],
                   capture_output=True, text=True, check=True)
    return script


def preset_speed(preset: str, steps: int, warmup: int) -> tuple[float, float]:
    """(median step ms, steps/s) of the preset under Pipescope. It runs first in a round: it makes its
    sample images where none are yet."""
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--preset", preset, "--quiet",
                        "--steps", str(steps + warmup), "--set", f"run.warmup_steps={warmup}", "--out", out_dir],
                       capture_output=True, text=True, check=True)
        summary = json.loads((Path(out_dir) / "summary.json").read_text())
        return summary["step_ms"]["p50"], summary["steps_per_s"]


def compare(preset: str, scripts: dict, rounds: int, steps: int, warmup: int) -> dict:
    """Per script (name → command): the rounds' ratios of the preset's speed to the script's, printed as they
    come. A round runs the preset once and each script once."""
    found = {name: ([], []) for name in scripts}
    for round_index in range(rounds):
        # Who goes first alternates: on a VM whose speed drifts, the second of a pair must not always lose.
        theirs = {}
        if round_index % 2 == 0:
            ours = preset_speed(preset, steps, warmup)
        for name, command in scripts.items():
            theirs[name] = script_speed(command)
        if round_index % 2 == 1:
            ours = preset_speed(preset, steps, warmup)
        for name, (step_ratios, rate_ratios) in found.items():
            step_ratios.append(theirs[name][0] / ours[0])
            rate_ratios.append(ours[1] / theirs[name][1])
            print(f"round {round_index + 1}: median step {theirs[name][0]:.2f} ms {name}, {ours[0]:.2f} ms in "
                  f"{preset} (ratio {step_ratios[-1]:.3f}); steps/s {theirs[name][1]:.1f} against {ours[1]:.1f} "
                  f"(ratio {rate_ratios[-1]:.3f})", flush=True)
    return {name: _ratios(preset, name, *ratios) for name, ratios in found.items()}


def _ratios(preset: str, name: str, step_ratios: list, rate_ratios: list) -> dict:
    median, rates = statistics.median(step_ratios), statistics.median(rate_ratios)
    print(f"{preset} at {median:.3f} of the script's ({name}) speed by the median step (rounds "
          f"{min(step_ratios):.3f}–{max(step_ratios):.3f}), {rates:.3f} by whole-run steps/s; "
          f"target ≥ {TARGET}: {'met' if median >= TARGET else 'NOT met'}")
    return {"median": median, "steps": min(step_ratios), "steps_max": max(step_ratios), "rates": rates,
            "rates_min": min(rate_ratios), "rates_max": max(rate_ratios)}


def ratio_row(figure: str, found: dict, rounds: int, steps: int) -> dict:
    return row("Overhead", figure,
               f"{found['median']:.3f} (median of {rounds} rounds of {steps} steps, range "
               f"{found['steps']:.3f}–{found['steps_max']:.3f}; steps/s {found['rates']:.3f}, range "
               f"{found['rates_min']:.3f}–{found['rates_max']:.3f})", f"≥ {TARGET}", found["median"] >= TARGET)


GENERATED = "generated"
GENERATED_FIGURE = ("`{preset}` under Pipescope against its script from `codegen` (the same program, no "
                    "instrumentation): speed by the median step (whole-run steps/s beside it)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--job", choices=sorted(JOBS), default="seed")
    parser.add_argument("--and-generated", action="store_true",
                        help="--job's preset against its generated script too, in the same rounds")
    parser.add_argument("--generated", metavar="P,P…", help="presets to set against their generated scripts")
    add_rows_argument(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if args.generated:
            for preset in args.generated.split(","):
                command = generated_command(generate(preset, Path(folder)), args.steps, args.warmup)
                found = compare(preset, {GENERATED: command}, args.rounds, args.steps, args.warmup)
                rows.append(ratio_row(GENERATED_FIGURE.format(preset=preset), found[GENERATED], args.rounds,
                                      args.steps))
        else:
            preset, script = JOBS[args.job]
            scripts = {"by hand": idiomatic_command(script, args.steps, args.warmup)}
            if args.and_generated:
                scripts[GENERATED] = generated_command(generate(preset, Path(folder)), args.steps, args.warmup)
            found = compare(preset, scripts, args.rounds, args.steps, args.warmup)
            rows.append(ratio_row(f"`{preset}` under Pipescope against `bench/{script}`: speed by the median step "
                                  "(whole-run steps/s beside it)", found["by hand"], args.rounds, args.steps))
            if args.and_generated:
                rows.append(ratio_row(GENERATED_FIGURE.format(preset=preset), found[GENERATED], args.rounds,
                                      args.steps))
    write_rows(args.rows, rows)


if __name__ == "__main__":
    main()
