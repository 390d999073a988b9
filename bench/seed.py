"""The seed notebook's three experiments: steps/s of feed_dict, queue runner and tf.data.

Runs the three presets in turn, `--repeat` rounds, and reports each one's median
(and range), since on a 2-core CPU the differences are close to the noise.

    python bench/seed.py [--steps 1000] [--repeat 3]
"""
import argparse
import statistics

from _util import preset, run_summary

PRESETS = ("seed_feed_dict", "seed_queue_runner", "seed_tf_data")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rates = {name: [] for name in PRESETS}
    waiting = {name: [] for name in PRESETS}
    for round_index in range(args.repeat):
        for name in PRESETS:
            summary = run_summary(preset(name, ("run.steps", args.steps)))
            rates[name].append(summary["steps_per_s"])
            waiting[name].append(summary["idle_fraction"])
            print(f"round {round_index + 1} {name:18} {summary['steps_per_s']:6.1f} steps/s  "
                  f"waiting {100 * summary['idle_fraction']:5.1f}%  {summary['verdict']}", flush=True)
    base = statistics.median(rates["seed_feed_dict"])
    for name in PRESETS:
        median = statistics.median(rates[name])
        print(f"{name:18} median {median:6.1f} steps/s (range {min(rates[name]):.1f}–{max(rates[name]):.1f}), "
              f"{args.steps / median:5.2f} s per {args.steps} steps, waiting {100 * statistics.median(waiting[name]):4.1f}%, "
              f"{median / base:.2f}× feed_dict")


if __name__ == "__main__":
    main()
