"""The seed notebook's three experiments: steps/s of feed_dict, queue runner and tf.data, beside the
seed's own figures (5,000 steps on its GPU: feed_dict 7.46 s, the queue runner 4.12 s, 1.81×).

Runs the three presets in turn, `--repeat` rounds, and reports each one's median (and range), since
on a 2-core CPU the differences are close to the noise. Then the what-if calibrated to the seed: the
`whatif` preset with the seed's own split of a step (input 0.67 ms a batch, model 0.82 ms: 7.46 s
serial and 4.12 s overlapped over 5,000 steps), so the seed's experiment is replayed where the
model's compute does not take the CPU the input needs, as on its GPU.

    python bench/seed.py [--steps 1000] [--repeat 3] [--calibrated-steps 5000] [--rows FILE]
"""
import argparse
import statistics

from _util import preset, run_summary
from rows import add_rows_argument, row, write_rows

PRESETS = ("seed_feed_dict", "seed_queue_runner", "seed_tf_data")
SEED_STEPS = 5000
SEED_SECONDS = {"feed_dict": 7.46, "queue_runner": 4.12}  # the seed notebook's, on its GPU
SEED_INPUT_MS = 0.67  # 7.46 s − 4.12 s over 5,000 steps: what overlap hid
SEED_MODEL_MS = 0.82  # 4.12 s over 5,000 steps: the model's step, once the input is hidden
FEEDERS = ("feed_dict", "queue_runner", "tf_data")


def seed_presets(steps: int, repeat: int) -> dict:
    """{preset: (steps/s per round, idle per round)}, rounds interleaved."""
    rates = {name: ([], []) for name in PRESETS}
    for round_index in range(repeat):
        for name in PRESETS:
            summary = run_summary(preset(name, ("run.steps", steps)))
            rates[name][0].append(summary["steps_per_s"])
            rates[name][1].append(summary["idle_fraction"])
            print(f"round {round_index + 1} {name:18} {summary['steps_per_s']:6.1f} steps/s  "
                  f"waiting {100 * summary['idle_fraction']:5.1f}%  {summary['verdict']}", flush=True)
    return rates


def preset_rows(rates: dict, steps: int) -> list[dict]:
    base = statistics.median(rates["seed_feed_dict"][0])
    rows = []
    for name in PRESETS:
        speeds, idle = rates[name]
        median = statistics.median(speeds)
        feeder = name.removeprefix("seed_")
        seed = f"; the seed's: {SEED_SECONDS[feeder]:.2f} s" if feeder in SEED_SECONDS else ""
        line = (f"{SEED_STEPS / median:.2f} s per {SEED_STEPS} steps ({median:.1f} steps/s, range "
                f"{min(speeds):.1f}–{max(speeds):.1f}; waiting {100 * statistics.median(idle):.1f}%; "
                f"{median / base:.2f}× feed_dict{seed})")
        print(f"{name:18} {line}")
        rows.append(row("The seed's table", f"`{name}` ({steps} steps a round, {len(speeds)} rounds)", line))
    return rows


def calibrated(steps: int) -> dict:
    """{feeder: summary} of `whatif` with the seed's input and model times."""
    found = {}
    for feeder in FEEDERS:
        spec = preset("whatif", ("feeder.kind", feeder), ("stages.io.ms", SEED_INPUT_MS), ("stages.cpu.ms", 0),
                      ("model.step_ms", SEED_MODEL_MS), ("run.steps", steps), ("run.warmup_steps", 20))
        found[feeder] = run_summary(spec)
    return found


def calibrated_rows(found: dict) -> list[dict]:
    seconds = {feeder: SEED_STEPS / summary["steps_per_s"] for feeder, summary in found.items()}
    rows = []
    for feeder, summary in found.items():
        seed = f"; the seed's: {SEED_SECONDS[feeder]:.2f} s" if feeder in SEED_SECONDS else ""
        line = (f"{seconds[feeder]:.2f} s per {SEED_STEPS} steps (waiting {100 * summary['idle_fraction']:.1f}%"
                f"{seed})")
        print(f"calibrated {feeder:13} {line}")
        rows.append(row("The seed's table", f"`whatif` calibrated to the seed (input {SEED_INPUT_MS} ms, model "
                        f"{SEED_MODEL_MS} ms a step), {feeder}", line))
    speedup = seconds["feed_dict"] / seconds["queue_runner"]
    seed_speedup = SEED_SECONDS["feed_dict"] / SEED_SECONDS["queue_runner"]
    print(f"calibrated queue runner over feed_dict: {speedup:.2f}× (the seed: {seed_speedup:.2f}×)")
    rows.append(row("The seed's table", "calibrated: the queue runner's speed-up over feed_dict",
                    f"{speedup:.2f}× (the seed's: {seed_speedup:.2f}×)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--calibrated-steps", type=int, default=SEED_STEPS)
    add_rows_argument(parser)
    args = parser.parse_args()
    rows = preset_rows(seed_presets(args.steps, args.repeat), args.steps)
    rows += calibrated_rows(calibrated(args.calibrated_steps))
    write_rows(args.rows, rows)


if __name__ == "__main__":
    main()
