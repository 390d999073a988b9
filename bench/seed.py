"""The seed notebook's three experiments: steps/s of feed_dict, queue runner and tf.data.

    python bench/seed.py [--steps 1000]
"""
import argparse

from _util import preset, run_summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    results = {}
    for name in ("seed_feed_dict", "seed_queue_runner", "seed_tf_data"):
        summary = run_summary(preset(name, ("run.steps", args.steps)))
        results[name] = summary
        print(f"{name:18} {summary['steps_per_s']:7.1f} steps/s  step p50 {summary['step_ms']['p50']:6.2f} ms  "
              f"waiting {100 * summary['idle_fraction']:5.1f}%  {summary['verdict']}  "
              f"({args.steps / summary['steps_per_s']:.2f} s per {args.steps} steps)")
    base = results["seed_feed_dict"]["steps_per_s"]
    for name in ("seed_queue_runner", "seed_tf_data"):
        print(f"{name} vs feed_dict: {results[name]['steps_per_s'] / base:.2f}×")


if __name__ == "__main__":
    main()
