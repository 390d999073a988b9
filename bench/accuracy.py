"""The profiler's accuracy against workloads whose true timings are known by construction.

`whatif` with a latency stage of IO ms per batch (no CPU) and a simulated model
of MODEL ms per step: served serially a step is IO + MODEL and idle is
IO / (IO + MODEL); overlapped it is max(IO, MODEL) and idle is
max(0, IO − MODEL) / max(IO, MODEL).

The truth leaves out real work: making each batch (32 elements through unbatch
and batch) and TensorFlow's own cost of handing it over, which on a busy or
virtual machine grows after every pause. So each case is also timed by hand,
as a user would: the same tf.data pipeline in a plain loop with perf_counter
around `next()` and the same simulated step (feed_dict and tf_data; the
queue runner has no plain-loop equivalent), in `--rounds` turns with Pipescope's
run, each side's figures the medians of its rounds. Pipescope's own error is the
difference from that loop; the rest is what any code pays on this machine.

With `--sync window` the simulated model launches steps without waiting for each, as on a GPU, and
Pipescope infers the device's timeline from its windows: every feeder then overlaps, feed_dict too
(the host makes the next batch while the device runs), and the truth is the overlapped one. There is
no plain loop to compare with there.

    python bench/accuracy.py [--steps 300] [--rounds 3] [--sync every_step|window] [--rows FILE]
"""
import argparse
import statistics
import time

from _util import preset, run_summary
from rows import add_rows_argument, row, write_rows

from core.engine.build import build_dataset
from core.engine.precise_time import PreciseSleeper

CASES = [(2, 2), (4, 6), (8, 4), (2, 10)]  # (io_ms, model_ms): short steps first
WARMUP = 20


def truth(feeder: str, io: float, model: float, sync: str) -> tuple[float, float]:
    if feeder == "feed_dict" and sync == "every_step":
        return io + model, io / (io + model)
    step = max(io, model)
    return step, max(0.0, io - model) / step


def by_hand(spec, model_ms: float, steps: int) -> tuple[float, float]:
    """(step ms p50, idle fraction) of the pipeline in a plain loop, timed with perf_counter."""
    # The pipeline as the feeder builds it (no injected prefetch: what is described runs), minus
    # the feeder's own fill probe.
    batches = iter(build_dataset(spec, serial=spec.feeder.kind == "feed_dict", inject_prefetch=False))
    sleeper, step_ms, waited, total = PreciseSleeper(), [], 0.0, 0.0
    previous = time.perf_counter()
    for index in range(steps):
        asked = time.perf_counter()
        next(batches)
        ready = time.perf_counter()
        sleeper.sleep(model_ms / 1000.0)
        done = time.perf_counter()
        if index >= WARMUP:
            step_ms.append((done - previous) * 1000.0)
            waited, total = waited + ready - asked, total + done - previous
        previous = done
    return statistics.median(step_ms), waited / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--sync", choices=("every_step", "window"), default="every_step")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the hand-timed loop and Pipescope in turn")
    add_rows_argument(parser)
    args = parser.parse_args()
    print(f"{'feeder':13} {'io':>3} {'model':>5} | {'step ms: truth':>14} {'by hand':>8} {'pipescope':>9} | "
          f"{'idle: truth':>11} {'by hand':>8} {'pipescope':>9}")
    cases = []
    for io, model in CASES:
        for feeder in ("feed_dict", "queue_runner", "tf_data"):
            cases.append(measure_case(feeder, io, model, args.sync, args.steps, args.rounds))
            print(case_line(cases[-1]), flush=True)
    worst = [worst_row(cases, against) for against in ("truth", "hand")]
    write_rows(args.rows, [*map(case_row, cases), *(row for row in worst if row is not None)])


def measure_case(feeder: str, io: float, model: float, sync: str, steps: int, rounds: int) -> dict:
    """Where there is a hand-timed loop, it and Pipescope take turns for `rounds` rounds, and each side's
    figures are the medians of its rounds: a short run's idle moves by points with the machine's moods,
    and the balanced cases (io = model) flip between waiting and not with the least of them."""
    spec = preset("whatif", ("feeder.kind", feeder), ("stages.io.ms", io), ("stages.cpu.ms", 0),
                  ("model.step_ms", model), ("model.sync", sync), ("run.steps", steps), ("run.warmup_steps", WARMUP))
    by_hand_too = feeder != "queue_runner" and sync == "every_step"
    hand, ours = [], []
    for _ in range(rounds if by_hand_too else 1):
        if by_hand_too:
            hand.append(by_hand(spec, model, steps))
        summary = run_summary(spec)
        ours.append((summary["step_ms"]["p50"], summary["idle_fraction"]))
    hand_step, hand_idle = _medians(hand) if hand else (None, None)
    step, idle = _medians(ours)
    step_truth, idle_truth = truth(feeder, io, model, sync)
    return {"feeder": feeder, "io": io, "model": model, "sync": sync,
            "step": (step_truth, hand_step, step), "idle": (idle_truth, hand_idle, idle)}


def _medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(pair[0] for pair in pairs), statistics.median(pair[1] for pair in pairs)


def case_line(case: dict) -> str:
    (step_truth, hand_step, step), (idle_truth, hand_idle, idle) = case["step"], case["idle"]
    hand = (f"{hand_step:8.2f}", f"{hand_idle:8.3f}") if hand_step is not None else (f"{'—':>8}", f"{'—':>8}")
    return (f"{case['feeder']:13} {case['io']:3} {case['model']:5} | {step_truth:14.2f} {hand[0]} {step:9.2f} | "
            f"{idle_truth:11.3f} {hand[1]} {idle:9.3f}")


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def case_row(case: dict) -> dict:
    (step_truth, hand_step, step), idle = case["step"], case["idle"]
    hand_ms = "—" if hand_step is None else f"{hand_step:.2f}"
    return row(f"Accuracy ({case['sync']})",
               f"{case['feeder']}, io {case['io']} ms, model {case['model']} ms: step ms and idle "
               "(truth / by hand / Pipescope)",
               f"{step_truth:.2f} / {hand_ms} / {step:.2f} ms; " + " / ".join(map(_percent, idle)))


WORST_TARGET_POINTS = {"truth": None, "hand": 3.0}  # the machine's own hand-over is no error of Pipescope's


def worst_row(cases: list[dict], against: str):
    """The largest distance of Pipescope's idle from the truth by construction or from the hand-timed loop
    (None where no case was timed that way)."""
    column = {"truth": 0, "hand": 1}[against]
    gaps = [(abs(case["idle"][2] - case["idle"][column]) * 100, case) for case in cases
            if case["idle"][column] is not None]
    if not gaps:
        return None
    points, case = max(gaps, key=lambda gap: gap[0])
    target = WORST_TARGET_POINTS[against]
    return row(f"Accuracy ({case['sync']})",
               "worst idle error against " + ("the truth by construction" if against == "truth"
                                               else "the same pipeline timed by hand"),
               f"{points:.1f} points ({case['feeder']}, io {case['io']} ms, model {case['model']} ms)",
               f"≤ {target:g} points" if target else "", points <= target if target else None)


if __name__ == "__main__":
    main()
