"""What many runs in one process leave behind (issue 15 §4; bench/lifecycle.py measures it at length).

After warm-up runs of each feeder, a dozen more: no Python thread is left (the leak guard names where one
began), no OS thread either, no object of Pipescope's or TensorFlow's classes accumulates, and queue_runner
runs no longer leave each queue's eager kernel in TensorFlow's kernel cache (~36 KB a run for the life of
the process, measured with TensorFlow 2.21).
"""
import ctypes
import ctypes.util
import gc
import os
import time
from collections import Counter

import pytest

from core.engine.runner import Run

FEEDERS = ("tf_data", "queue_runner", "feed_dict")
ROUNDS = 4
QUEUE_KERNEL_KB = 36  # what each eager FIFOQueue's cached kernel held
OWN_MODULES = ("core.", "tensorflow.", "keras.")


def cheap(whatif, feeder: str):
    return whatif(("feeder.kind", feeder), ("stages.io.ms", 0), ("model.step_ms", 1), ("run.warmup_steps", 5),
                  steps=30)


def run_once(spec) -> None:
    run = Run(spec)
    run.run()
    assert run.outcome.status == "finished", run.outcome.error


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def settled_os_threads(at_most: int, wait_s: float = 5.0) -> int:
    """The process's OS threads, once they are `at_most` or `wait_s` has passed: tf.data's own end just after
    their iterator is released."""
    deadline = time.monotonic() + wait_s
    while os_threads() > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
    return os_threads()


def objects_by_type() -> Counter:
    """Live objects of Pipescope's and TensorFlow's own classes (not the leak guard's records of each start)."""
    gc.collect()
    return Counter(type(obj).__qualname__ for obj in gc.get_objects()
                   if str(getattr(type(obj), "__module__", "")).startswith(OWN_MODULES))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts OS threads in Linux's /proc")
def test_runs_leave_no_thread_and_few_objects_behind(whatif, leak_guard):
    specs = [cheap(whatif, feeder) for feeder in FEEDERS]
    for spec in specs:  # TensorFlow's pools, tracing caches, the CPU stage's calibration
        run_once(spec)
        run_once(spec)
    threads, objects = settled_os_threads(at_most=0, wait_s=0.5), objects_by_type()
    for _ in range(ROUNDS):
        for spec in specs:
            run_once(spec)
    assert settled_os_threads(at_most=threads) <= threads
    grown = objects_by_type() - objects
    # A Run kept alive by mistake keeps dozens (its records, meter, description, feeder, dataset): one a run is slack.
    assert sum(grown.values()) <= ROUNDS * len(FEEDERS), f"{ROUNDS * len(FEEDERS)} runs left {dict(grown)}"
    # the leak guard then checks that every Python thread the runs started has ended


def _malloc_in_use_kb():
    """Bytes glibc's malloc has handed out (mallinfo2: small chunks and mmapped ones), in KB; None elsewhere."""
    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                         "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = MallInfo2
    except (OSError, AttributeError):
        return None
    return lambda: (gc.collect(), (libc.mallinfo2().uordblks + libc.mallinfo2().hblkhd) // 1024)[1]


@pytest.mark.skipif(_malloc_in_use_kb() is None, reason="reads glibc's mallinfo2 (glibc ≥ 2.33)")
def test_queue_runner_runs_leave_no_queue_kernel_behind(whatif):
    """Each eager FIFOQueue has a shared name of its own, so TensorFlow caches a kernel for each; the feeder
    clears the cache when it closes. Without it a dozen runs keep ~430 KB more (measured: ~460 KB against
    ~30–80 KB); the bound is half a kernel a run."""
    in_use_kb = _malloc_in_use_kb()
    spec = cheap(whatif, "queue_runner")
    run_once(spec)
    run_once(spec)
    before = in_use_kb()
    runs = 3 * ROUNDS
    for _ in range(runs):
        run_once(spec)
    grown = in_use_kb() - before
    assert grown < runs * QUEUE_KERNEL_KB / 2, f"malloc holds {grown} KB more after {runs} queue_runner runs"
