"""A job under Pipescope against the same job written by hand: `run --preset P` and its
idiomatic script in interleaved rounds, each a fresh process, same steps.

- `--job seed`: `seed_tf_data` against `bench/idiomatic_seed.py` (the seed's network);
- `--job images`: `images_tf` against `bench/idiomatic_images.py` (the JPEG pipeline, small CNN).

The profiler's verdict depends on the job training at its true speed: a model
slower than the user's code inflates compute and hides input waits. Target: the
preset at ≥ 0.95 of the idiomatic script's speed, as the ratio of their median
steps (the idiomatic step's p50 over the preset's), the median over the rounds
(which go preset first, then script first, and so on). A median step is what the
job trains at; on a shared virtual machine a burst of other work, or Pipescope's
one short tf.profiler capture early in a run (run.capture_steps: a fixed ~0.1 s
that 5,000 steps amortise and a few hundred do not), moves a short run's mean by
more than the difference sought. Whole-run steps/s are shown beside it.

    python bench/model_speed.py [--job seed|images] [--steps 600] [--rounds 3] [--rows FILE]
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


def idiomatic_speed(script: str, steps: int, warmup: int) -> tuple[float, float]:
    """(median step ms, steps/s) of the hand-written job."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--steps", str(steps),
                          "--warmup", str(warmup)], capture_output=True, text=True, check=True).stdout
    return (float(re.findall(r"step_ms_p50: ([\d.]+)", out)[-1]),
            float(re.findall(r"steps_per_s: ([\d.]+)", out)[-1]))


def preset_speed(preset: str, steps: int, warmup: int) -> tuple[float, float]:
    """(median step ms, steps/s) of the preset under Pipescope. It runs first in a round: it makes its
    sample images where none are yet."""
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--preset", preset, "--quiet",
                        "--steps", str(steps + warmup), "--set", f"run.warmup_steps={warmup}", "--out", out_dir],
                       capture_output=True, text=True, check=True)
        summary = json.loads((Path(out_dir) / "summary.json").read_text())
        return summary["step_ms"]["p50"], summary["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--job", choices=sorted(JOBS), default="seed")
    add_rows_argument(parser)
    args = parser.parse_args()
    preset, script = JOBS[args.job]
    step_ratios, rate_ratios = [], []
    for round_index in range(args.rounds):
        # Who goes first alternates: on a VM whose speed drifts, the second of a pair must not always lose.
        if round_index % 2 == 0:
            ours = preset_speed(preset, args.steps, args.warmup)
            theirs = idiomatic_speed(script, args.steps, args.warmup)
        else:
            theirs = idiomatic_speed(script, args.steps, args.warmup)
            ours = preset_speed(preset, args.steps, args.warmup)
        step_ratios.append(theirs[0] / ours[0])
        rate_ratios.append(ours[1] / theirs[1])
        print(f"round {round_index + 1}: median step {theirs[0]:.2f} ms by hand, {ours[0]:.2f} ms in {preset} "
              f"(ratio {step_ratios[-1]:.3f}); steps/s {theirs[1]:.1f} against {ours[1]:.1f} "
              f"(ratio {rate_ratios[-1]:.3f})", flush=True)
    median, rates = statistics.median(step_ratios), statistics.median(rate_ratios)
    met = median >= TARGET
    print(f"{preset} at {median:.3f} of the idiomatic script's speed by the median step (rounds "
          f"{min(step_ratios):.3f}–{max(step_ratios):.3f}), {rates:.3f} by whole-run steps/s; "
          f"target ≥ {TARGET}: {'met' if met else 'NOT met'}")
    write_rows(args.rows, [row("Overhead", f"`{preset}` under Pipescope against `bench/{script}`: speed by the "
                               "median step (whole-run steps/s beside it)",
                               f"{median:.3f} (median of {args.rounds} rounds of {args.steps} steps, range "
                               f"{min(step_ratios):.3f}–{max(step_ratios):.3f}; steps/s {rates:.3f}, range "
                               f"{min(rate_ratios):.3f}–{max(rate_ratios):.3f})", f"≥ {TARGET}", met)])


if __name__ == "__main__":
    main()
