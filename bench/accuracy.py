"""The profiler's accuracy against workloads whose true timings are known by construction.

`whatif` with a latency stage of IO ms per batch (no CPU) and a simulated model
of MODEL ms per step: served serially a step is IO + MODEL and idle is
IO / (IO + MODEL); overlapped it is max(IO, MODEL) and idle is
max(0, IO − MODEL) / max(IO, MODEL). Prints measured vs truth.

    python bench/accuracy.py [--steps 300]
"""
import argparse

from _util import preset, run_summary

CASES = [(4, 6), (8, 4), (2, 10)]  # (io_ms, model_ms)


def truth(feeder: str, io: float, model: float) -> tuple[float, float]:
    if feeder == "feed_dict":
        return io + model, io / (io + model)
    step = max(io, model)
    return step, max(0.0, io - model) / step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    print(f"{'feeder':13} {'io':>4} {'model':>5} | {'step ms truth':>13} {'measured':>9} | "
          f"{'idle truth':>10} {'measured':>9}")
    for io, model in CASES:
        for feeder in ("feed_dict", "queue_runner", "tf_data"):
            spec = preset("whatif", ("feeder.kind", feeder), ("stages.io.ms", io), ("stages.cpu.ms", 0),
                          ("model.step_ms", model), ("run.steps", args.steps))
            summary = run_summary(spec)
            step_truth, idle_truth = truth(feeder, io, model)
            print(f"{feeder:13} {io:4} {model:5} | {step_truth:13.2f} {summary['step_ms']['p50']:9.2f} | "
                  f"{idle_truth:10.3f} {summary['idle_fraction']:9.3f}")


if __name__ == "__main__":
    main()
