"""The built-in model against the user's own code: `run --preset seed_tf_data` and
`bench/idiomatic_seed.py` in interleaved rounds, each a fresh process, same steps.

The profiler's verdict depends on the model training at its true speed: a model
slower than the user's code inflates compute and hides input waits. Target: the
preset at ≥ 0.95 of the idiomatic script's steps/s (the median of per-round ratios).

    python bench/model_speed.py [--steps 500] [--rounds 3]
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def idiomatic_steps_per_s(steps: int, warmup: int) -> float:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "idiomatic_seed.py"), "--steps", str(steps),
                          "--warmup", str(warmup)], capture_output=True, text=True, check=True).stdout
    return float(re.findall(r"steps_per_s: ([\d.]+)", out)[-1])


def preset_steps_per_s(steps: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--preset", "seed_tf_data", "--quiet",
                        "--steps", str(steps + warmup), "--set", f"run.warmup_steps={warmup}", "--out", out_dir],
                       capture_output=True, text=True, check=True)
        return json.loads((Path(out_dir) / "summary.json").read_text())["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ratios = []
    for round_index in range(args.rounds):
        idiomatic = idiomatic_steps_per_s(args.steps, args.warmup)
        ours = preset_steps_per_s(args.steps, args.warmup)
        ratios.append(ours / idiomatic)
        print(f"round {round_index + 1}: idiomatic {idiomatic:6.1f} steps/s, seed_tf_data {ours:6.1f} steps/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    median = statistics.median(ratios)
    print(f"seed_tf_data at {median:.3f} of the idiomatic script's speed (median of {args.rounds} rounds; "
          f"range {min(ratios):.3f}–{max(ratios):.3f}); target ≥ 0.95: {'met' if median >= 0.95 else 'NOT met'}")


if __name__ == "__main__":
    main()
