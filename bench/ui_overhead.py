"""What the live app costs the run it watches: steps/s in the app (scripted mode,
offscreen) against headless `run`, interleaved pairs in one session, plus the
event loop's lag during the app's runs.

    python bench/ui_overhead.py [--preset seed_tf_data] [--steps 300] [--pairs 3] [--rows FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import add_rows_argument, row, write_rows

ROOT = Path(__file__).resolve().parent.parent


def steps_per_s(command: list[str], out: Path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, str(ROOT / "main.py"), *command, "--out", str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="seed_tf_data")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=3)
    add_rows_argument(parser)
    args = parser.parse_args()
    ratios, lag_p99 = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for pair in range(args.pairs):
            common = ["--preset", args.preset, "--steps", str(args.steps)]
            headless = steps_per_s(["run", *common, "--quiet"], Path(scratch) / f"h{pair}")
            app = steps_per_s(["gui", *common, "--run", "--quit-after-run"], Path(scratch) / f"a{pair}")
            ratios.append(app["steps_per_s"] / headless["steps_per_s"])
            lag_p99.append(app["ui_lag_ms"]["p99"])
            print(f"pair {pair + 1}: headless {headless['steps_per_s']:.1f} steps/s, app {app['steps_per_s']:.1f} "
                  f"({ratios[-1]:.2f}), ui lag p50/p99/max {app['ui_lag_ms']['p50']}/{app['ui_lag_ms']['p99']}/"
                  f"{app['ui_lag_ms']['max']} ms")
    ratio, lag = statistics.median(ratios), statistics.median(lag_p99)
    print(f"app / headless steps/s: median {ratio:.2f} over {args.pairs} pairs; ui lag p99 median {lag:.1f} ms")
    runs = f"`{args.preset}`, {args.steps} steps, median of {args.pairs} interleaved pairs"
    write_rows(args.rows, [
        row("The app", "the app's steps/s ÷ headless (scripted app, offscreen)",
            f"{ratio:.2f} ({runs}; range {min(ratios):.2f}–{max(ratios):.2f})"),
        row("The app", "UI lag p99 during a run (the event loop's lateness)", f"{lag:.0f} ms ({runs})"),
    ])


if __name__ == "__main__":
    main()
