"""The runner's own per-step cost: the same dataset and no-op model, timed by the
runner and by a bare `for batch in dataset` loop, in one process.

    python bench/overhead.py [--steps 20000]
"""
import argparse
import time

from _util import preset, run_summary

from core.engine.build import build_dataset


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


if __name__ == "__main__":
    main()
