"""A job under Pipescope against the same job written by hand: `run --preset P` and its
idiomatic script in interleaved rounds, each a fresh process, same steps.

- `--job seed`: `seed_tf_data` against `bench/idiomatic_seed.py` (the seed's network);
- `--job images`: `images_tf` against `bench/idiomatic_images.py` (the JPEG pipeline, small CNN).

The profiler's verdict depends on the job training at its true speed: a model
slower than the user's code inflates compute and hides input waits. Target: the
preset at ≥ 0.95 of the idiomatic script's steps/s (the median of per-round ratios).

    python bench/model_speed.py [--job seed|images] [--steps 500] [--rounds 3] [--rows FILE]
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


def idiomatic_steps_per_s(script: str, steps: int, warmup: int) -> float:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--steps", str(steps),
                          "--warmup", str(warmup)], capture_output=True, text=True, check=True).stdout
    return float(re.findall(r"steps_per_s: ([\d.]+)", out)[-1])


def preset_steps_per_s(preset: str, steps: int, warmup: int) -> float:
    """The preset runs first in a round: it makes its sample images where none are yet."""
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--preset", preset, "--quiet",
                        "--steps", str(steps + warmup), "--set", f"run.warmup_steps={warmup}", "--out", out_dir],
                       capture_output=True, text=True, check=True)
        return json.loads((Path(out_dir) / "summary.json").read_text())["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--job", choices=sorted(JOBS), default="seed")
    add_rows_argument(parser)
    args = parser.parse_args()
    preset, script = JOBS[args.job]
    ratios, rates = [], []
    for round_index in range(args.rounds):
        ours = preset_steps_per_s(preset, args.steps, args.warmup)
        idiomatic = idiomatic_steps_per_s(script, args.steps, args.warmup)
        ratios.append(ours / idiomatic)
        rates.append((ours, idiomatic))
        print(f"round {round_index + 1}: idiomatic {idiomatic:6.1f} steps/s, {preset} {ours:6.1f} steps/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    median = statistics.median(ratios)
    met = median >= TARGET
    print(f"{preset} at {median:.3f} of the idiomatic script's speed (median of {args.rounds} rounds; "
          f"range {min(ratios):.3f}–{max(ratios):.3f}); target ≥ {TARGET}: {'met' if met else 'NOT met'}")
    ours, idiomatic = (statistics.median(side) for side in zip(*rates))
    write_rows(args.rows, [row("Overhead", f"`{preset}` under Pipescope ÷ `bench/{script}` (steps/s)",
                               f"{median:.3f} ({ours:.1f} against {idiomatic:.1f} steps/s; median of {args.rounds} "
                               f"rounds, range {min(ratios):.3f}–{max(ratios):.3f})", f"≥ {TARGET}", met)])


if __name__ == "__main__":
    main()
