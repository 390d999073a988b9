"""bench/turns.py: processes compared in turns never run at the same time, and each runs to its end."""
import sys

from bench.turns import take_turns

# Busy for 0.3 s of its own CPU, noting the monotonic clock (shared by processes) as it goes.
CHILD = """
import time
seen = []
while time.process_time() < 0.3:
    seen.append(time.monotonic())
print(" ".join(f"{t:.6f}" for t in seen[::200]), seen[-1])
"""


def running_spans(stdout: str, gap_s: float = 0.02) -> list[tuple[float, float]]:
    """The stretches of time a child ran: its notes split wherever it went unseen longer than `gap_s`."""
    times = [float(t) for t in stdout.split()]
    spans, start = [], times[0]
    for before, after in zip(times, times[1:]):
        if after - before > gap_s:
            spans.append((start, before))
            start = after
    return spans + [(start, times[-1])]


def test_two_processes_take_turns_and_both_finish():
    finished = take_turns({"a": [sys.executable, "-c", CHILD], "b": [sys.executable, "-c", CHILD]}, slice_s=0.05)

    assert all(result.returncode == 0 for result in finished.values())
    a, b = (running_spans(finished[name].stdout) for name in "ab")
    assert len(a) > 2 and len(b) > 2  # each was paused and resumed
    tolerance = 0.01  # a stop reaches a process on the other core within a moment
    overlaps = [(x, y) for x in a for y in b if min(x[1], y[1]) - max(x[0], y[0]) > tolerance]
    assert not overlaps


def test_a_failing_process_is_reported_with_its_output():
    finished = take_turns({"bad": [sys.executable, "-c", "import sys; sys.exit('no such file: x')"]}, slice_s=0.05)

    assert finished["bad"].returncode == 1
    assert "no such file: x" in finished["bad"].stderr
