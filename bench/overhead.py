"""The runner's own per-step cost: the same dataset and no-op model, timed by the
runner and by a bare `for batch in dataset` loop, in one process.

Rounds alternate the two (bare loop, then runner), each past the same warm-up, so that a
burst of other work on the host hits both alike; the figure is the median of the rounds'
differences in time a step.

    python bench/overhead.py [--steps 20000] [--rounds 5] [--rows FILE]
"""
import argparse
import statistics
import time

from _util import preset, run_summary
from rows import add_rows_argument, row, write_rows

from core.engine.build import build_dataset

TARGET_US = 20.0
WARMUP = 100


def bare_loop_seconds(spec, steps: int) -> float:
    """Seconds for `steps` batches after the warm-up, the way a user's loop takes them."""
    iterator = iter(build_dataset(spec, serial=False))
    for _ in range(WARMUP):
        next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    add_rows_argument(parser)
    args = parser.parse_args()
    spec = preset("whatif", ("source.kind", "range"), ("source.count", -1), ("stages.io.ms", 0), ("stages.cpu.ms", 0),
                  ("stages.batch.batch_size", 1), ("model.step_ms", 0), ("run.steps", args.steps + WARMUP),
                  ("run.warmup_steps", WARMUP))
    overheads, rates = [], []
    for number in range(1, args.rounds + 1):
        bare_us = bare_loop_seconds(spec, args.steps) / args.steps * 1e6
        summary = run_summary(spec)
        runner_us = 1e6 / summary["steps_per_s"]
        overheads.append(runner_us - bare_us)
        rates.append((summary["steps_per_s"], 1e6 / bare_us))
        print(f"round {number}: bare loop {1e6 / bare_us:6.0f} steps/s, runner {summary['steps_per_s']:6.0f} "
              f"steps/s: {overheads[-1]:6.1f} µs a step", flush=True)
    median = statistics.median(overheads)
    runner, bare = (statistics.median(side) for side in zip(*rates))
    print(f"runner overhead per step: {median:.1f} µs (median of {args.rounds} rounds, "
          f"{min(overheads):.1f}–{max(overheads):.1f}; timestamps, fill probe, record)")
    write_rows(args.rows, [row("Overhead", "the runner's own time a step (timestamps, fill probe, record) over a bare "
                               "`for batch in dataset` loop", f"{median:.1f} µs (median of {args.rounds} rounds, "
                               f"range {min(overheads):.1f}–{max(overheads):.1f}; {runner:.0f} against {bare:.0f} "
                               "steps/s)", f"≤ {TARGET_US:g} µs", median <= TARGET_US)])


if __name__ == "__main__":
    main()
