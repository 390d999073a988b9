"""The runner's own per-step cost: the same dataset and no-op model, timed by the
runner and by a bare `for batch in dataset` loop, in one process.

    python bench/overhead.py [--steps 20000] [--rows FILE]
"""
import argparse
import time

from _util import preset, run_summary
from rows import add_rows_argument, row, write_rows

from core.engine.build import build_dataset


TARGET_US = 20.0


def bare_loop_seconds(spec, steps: int) -> float:
    dataset = build_dataset(spec, serial=False)
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20000)
    add_rows_argument(parser)
    args = parser.parse_args()
    spec = preset("whatif", ("source.kind", "range"), ("source.count", -1), ("stages.io.ms", 0), ("stages.cpu.ms", 0),
                  ("stages.batch.batch_size", 1), ("model.step_ms", 0), ("run.steps", args.steps),
                  ("run.warmup_steps", 100))
    bare = bare_loop_seconds(spec, args.steps)
    summary = run_summary(spec)
    runner = summary["measured_s"] / (args.steps - 100) * args.steps
    per_step_us = (runner - bare) / args.steps * 1e6
    print(f"bare loop: {args.steps / bare:8.0f} steps/s")
    print(f"runner:    {summary['steps_per_s']:8.0f} steps/s  (ratio {bare / runner:.3f} of the bare loop's speed)")
    print(f"runner overhead per step: {per_step_us:.1f} µs (timestamps, fill probe, record)")
    write_rows(args.rows, [row("Overhead", "the runner's own time a step (timestamps, fill probe, record) over a bare "
                               "`for batch in dataset` loop", f"{per_step_us:.1f} µs ({summary['steps_per_s']:.0f} "
                               f"against {args.steps / bare:.0f} steps/s)", f"≤ {TARGET_US:g} µs",
                               per_step_us <= TARGET_US)])


if __name__ == "__main__":
    main()
