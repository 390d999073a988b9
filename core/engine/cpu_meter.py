"""The host CPU budget of a run: per-thread CPU seconds, split into the input pipeline's, the model's,
the profiler's and the rest.

On a machine without an accelerator (and on any host whose cores the input shares with the model)
input work slows compute even when the model never waits for a batch. A `CpuMeter` lists the
process's threads in Linux's /proc (`/proc/self/task`), reads each one's CPU clock (`ThreadReader`),
says whose work each thread does (`thread_category`), and adds up the CPU seconds each category
used since the run's start. It is sampled on the probes' ticks (`core.engine.probes`) and once
by the run's supervisor, so the stepping thread does nothing for it; threads that end lose their
own figures, which is why sampling is live. `latest` is the split as of the last sample, a dict
replaced whole (never edited), for the app and the run's files to read from any thread:

    {"cores", "wall_s", "process_s" (every thread's, also those that ended), "seconds": {category: s},
     "threads": {category: how many used CPU}, "recent": {"wall_s", "process_s", "seconds"} (the last
     RECENT_S or so), "samples", "sample_ms" (one sample's wall time: the meter's own cost)}
    or {"unavailable": "reason"} where /proc cannot be read

`core.analysis.cpu_split` turns it into summary.json's `cpu`.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from core.engine.feeders import PRODUCER_THREAD
from core.engine.tf_runtime import tensorflow

CATEGORIES = ("input", "model", "profiler", "other", "service")  # service: other processes (tf.data service's)
RECENT_S = 2.0  # the live share is over about this long: steadier than one tick, still live
PROC_TASKS = "/proc/self/task"
STEPPING_THREAD = "pipescope-steps"  # the run's stepping thread: named here, where it is classified
OWN_PREFIX = "pipescope-"  # the profiler's own threads: probes, record stream, the run's supervisor
THREAD_CLOCK_SCHED = 0b110  # a per-thread clock (4) of scheduler run time (2): linux/posix-timers.h

ThreadKey = tuple[int, int]  # (tid, start time in clock ticks since boot): a reused tid is another thread


@dataclass(frozen=True)
class ThreadTime:
    key: ThreadKey
    comm: str  # the OS's name for the thread (15 characters at most)
    cpu_s: float  # its CPU time since it began


@dataclass(frozen=True)
class ThreadFacts:
    """What the classification looks at."""

    comm: str
    python_name: Optional[str]  # threading's name, for a thread Python started
    unnamed: bool  # a native thread that never named itself: it has the name of the thread that started it
    with_tensorflow: bool  # alive once TensorFlow's runtime had started, before any pipeline was built
    supervisor: bool = False  # the thread that runs the Run: it builds the pipeline, then supervises it
    main_thread: str = "profiler"  # whose work the main thread does: the CLI's or the app's; a watched script's loop


def thread_category(thread: ThreadFacts) -> str:
    """Whose work `thread` does: "input", "model", "profiler" or "other".

    Why these rules (measured on Linux, TensorFlow 2.21, CPU): TensorFlow's compute pools start with
    its eager context, before any pipeline exists: the intra-op threads are unnamed and carry the
    model's kernels, the inter-op threads are `tf_Compute`. tf.data's own threads (its private pool,
    the prefetch and parallel-map runners) are unnamed too, but start only when a pipeline is built or
    first read: an unnamed thread born after TensorFlow's runtime is the input pipeline's. Python's
    threads are known by name: the stepping thread launches the model's steps, queue-runner producers
    fill the queue, and Pipescope's other threads and the main thread (the CLI's progress line, the
    app's GUI) are the profiler's own, as is the run's supervisor (known by its id: in the app it is a
    QThread, which Python does not name). Linux gives a new thread its creator's name, so a native
    thread that never named itself (`unnamed`) has the process's name, or the name Qt gave the
    Pipescope QThread that started it (`pipescope-run`, `pipescope-analysis`).
    """
    if thread.supervisor:
        return "profiler"
    name = thread.python_name or ("" if thread.unnamed else thread.comm)
    if name == STEPPING_THREAD:
        return "model"
    if name.startswith(PRODUCER_THREAD):
        return "input"
    if name == "MainThread":
        return thread.main_thread
    if name.startswith(OWN_PREFIX):
        return "profiler"
    if thread.python_name is not None:
        return "other"
    if thread.unnamed:
        return "model" if thread.with_tensorflow else "input"
    if thread.comm.startswith("tf_data"):
        return "input"
    if thread.comm.startswith("tf_"):  # tf_Compute, tf_graph_runner, XLA's: the runtime the model runs on
        return "model"
    return "other"  # named by someone else: Qt's, the GL driver's, LLVM's compile workers


def why_unavailable(tasks: str = PROC_TASKS) -> Optional[str]:
    """None where per-thread CPU times can be read, else why not."""
    if not sys.platform.startswith("linux"):
        return f"per-thread CPU time is read from Linux's /proc; this system is {sys.platform}"
    if not os.access(tasks, os.R_OK):
        return f"{tasks} cannot be read here"
    return None


class ThreadReader:
    """Every live thread of the process with its CPU time, as a list of `ThreadTime`.

    The time comes from the thread's own CPU clock (its scheduler run time, to the nanosecond, in one
    system call, no file: /proc's stat counts in 10 ms ticks, too coarse for short runs); the name and
    start time from /proc's stat, read on a thread's first two looks only (a thread may name itself just
    after it starts) and again when its clock goes back (its tid was reused). Threads that end while
    being read are left out.
    """

    def __init__(self, tasks: str = PROC_TASKS):
        self._tasks = tasks
        self._known: dict[int, list] = {}  # tid → [key, comm, looks, cpu_ns]

    def __call__(self) -> list[ThreadTime]:
        times, known = [], {}
        for name in os.listdir(self._tasks):
            tid = int(name)
            try:
                cpu_ns = time.clock_gettime_ns(thread_cpu_clock(tid))
                facts = self._known.get(tid)
                if facts is None or facts[2] < 2 or cpu_ns < facts[3]:
                    key, comm = self._read_stat(tid)
                    facts = [key, comm, 1 if facts is None or key != facts[0] else facts[2] + 1, cpu_ns]
            except OSError:  # it ended after the listing
                continue
            facts[3] = cpu_ns
            known[tid] = facts
            times.append(ThreadTime(facts[0], facts[1], cpu_ns / 1e9))
        self._known = known
        return times

    def _read_stat(self, tid: int) -> tuple[ThreadKey, str]:
        fd = os.open(f"{self._tasks}/{tid}/stat", os.O_RDONLY)
        try:
            return parse_stat(tid, os.read(fd, 1024).decode(errors="replace"))
        finally:
            os.close(fd)


def thread_cpu_clock(tid: int) -> int:
    """The clock id of thread `tid`'s CPU time (Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)):
    readable for any thread of the calling process."""
    return ((~tid) << 3) | THREAD_CLOCK_SCHED


def parse_stat(tid: int, stat: str) -> tuple[ThreadKey, str]:
    """The key and name in a /proc stat line, `tid (comm) state …`: the start time is the 20th field
    after the name, which may hold spaces and parentheses (so split after its last ')')."""
    opened, closed = stat.index("("), stat.rindex(")")
    return (tid, int(stat[closed + 2:].split()[19])), stat[opened + 1:closed]


def process_name() -> str:
    """The process's name: that of every thread it starts that never names itself."""
    with open("/proc/self/comm") as file:
        return file.read().strip()


def python_thread_names() -> dict[int, str]:
    """Native thread id → name, for the threads Python started (not the stand-ins it makes for foreign ones)."""
    return {thread.native_id: thread.name for thread in threading.enumerate()
            if thread.native_id is not None and not isinstance(thread, threading._DummyThread)}


def process_cpu_s() -> float:
    """The whole process's CPU time, including threads that have ended (the same scheduler time as the threads')."""
    return time.process_time()


@functools.lru_cache(maxsize=1)
def threads_with_tensorflow() -> frozenset:
    """The threads alive once TensorFlow's runtime has started: its compute pools, which its eager context
    starts lazily (listing the logical devices starts it). Asked before the process's first pipeline is
    built, so that none of tf.data's threads are among them; the answer holds for the process's life."""
    tensorflow().config.list_logical_devices()
    return frozenset(thread.key for thread in ThreadReader()())


class _Tracked:
    """One thread as the meter knows it: its CPU seconds since the run's start, its names, its category."""

    __slots__ = ("base_s", "cpu_s", "last_gain_s", "names", "category")

    def __init__(self, base_s: float):
        self.base_s = base_s  # its CPU time at the run's start; 0 for a thread born after
        self.cpu_s = 0.0
        self.last_gain_s = 0.0  # between the two latest looks at it
        self.names: tuple[str, Optional[str]] = ("", None)  # (comm, python name): the category follows them
        self.category = "other"


class CpuMeter:
    """Per-thread CPU seconds since `start()`, by category, at each `sample()`.

    Made by the thread that runs the Run (its supervisor), before the first pipeline is built (so it can
    tell TensorFlow's threads from tf.data's); the readers and the clock stand in for /proc, threading
    and time in tests.
    """

    def __init__(self, read_threads: Optional[Callable[[], list[ThreadTime]]] = None,
                 python_names: Callable[[], dict[int, str]] = python_thread_names,
                 with_tensorflow: Callable[[], Iterable[ThreadKey]] = threads_with_tensorflow,
                 process_cpu: Callable[[], float] = process_cpu_s, process_comm: Optional[str] = None,
                 cores: Optional[int] = None, check: Callable[[], Optional[str]] = why_unavailable,
                 clock: Callable[[], int] = time.perf_counter_ns, main_thread: str = "profiler",
                 other_processes: Callable[[], dict[str, float]] = dict):
        """`main_thread`: whose work the main thread does ("model" in a watched script, whose main thread is
        its training loop); a meter made there has no supervisor. `other_processes`: the CPU seconds of the
        processes that work for the run (a tf.data service's servers, by name), all born after its start."""
        self.unavailable = check()
        self._sampling = threading.Lock()
        self.latest: Optional[dict] = None
        self._read_threads = read_threads or ThreadReader()
        self._python_names, self._process_cpu, self._clock = python_names, process_cpu, clock
        self._cores = cores or os.cpu_count() or 1
        try:
            self._with_tensorflow = frozenset(() if self.unavailable else with_tensorflow())
        except Exception as error:  # the budget is a figure about the run: it must never fail the run
            self.unavailable = f"TensorFlow's own threads could not be told apart ({type(error).__name__}: {error})"
        if self.unavailable:
            self.latest = {"unavailable": self.unavailable}
            return
        self._main_thread = main_thread
        self._other_processes = other_processes
        self._processes: dict[str, float] = {}  # every one seen, those that ended at their last figure
        self._supervisor_tid = threading.get_native_id() if main_thread == "profiler" else None
        self._process_comm = process_comm or process_name()
        self._threads: dict[ThreadKey, _Tracked] = {}
        self._alive: set[ThreadKey] = set()  # at the latest look
        self._ended: set[ThreadKey] = set()  # alive at the look before the latest, not at the latest
        self._unseen_s = 0.0  # the process's CPU time no thread seen accounts for, at the latest look
        self._history: deque = deque()  # (wall_s, process_s, seconds by category) of recent samples
        self._start_ns = 0
        self._process_at_start = 0.0
        self._sample_s = 0.0  # the meter's own time, over `_samples` samples
        self._samples = 0

    def start(self, start_ns: int) -> None:
        """The run starts now (`start_ns` on the meter's clock, time.perf_counter_ns): its threads count
        from their time now."""
        if self.unavailable:
            return
        try:
            at_start = self._read_threads()
        except OSError as error:
            self._give_up(error)
            return
        self._start_ns, self._process_at_start = start_ns, self._process_cpu()
        self._threads = {thread.key: _Tracked(thread.cpu_s) for thread in at_start}
        self._alive = set(self._threads)
        self.sample()

    def sample(self) -> None:
        """Read every thread's time and publish the split; never raises (a failed read is said as `unavailable`).

        The probes' thread calls it at every tick; the run's supervisor once more, just after it has started
        the stepping thread, so that a run shorter than a tick still sees that thread by its name."""
        with self._sampling:
            self._sample()

    def _sample(self) -> None:
        if self.unavailable or not self._start_ns:
            return
        began = time.perf_counter()
        try:
            self._read_all()
        except OSError as error:
            self._give_up(error)
            return
        wall_s = (self._clock() - self._start_ns) / 1e9
        process_s = self._process_cpu() - self._process_at_start
        self._credit_ended_threads(process_s)
        self._processes.update(self._other_processes())
        seconds, counts = self._by_category()
        self._history.append((wall_s, process_s, seconds))
        while len(self._history) > 2 and wall_s - self._history[1][0] >= RECENT_S:
            self._history.popleft()
        self._sample_s += time.perf_counter() - began
        self._samples += 1
        self.latest = self._split(wall_s, process_s, seconds, counts)

    def _give_up(self, error: OSError) -> None:
        self.unavailable = f"{PROC_TASKS} could not be read during the run ({error})"
        self.latest = {"unavailable": self.unavailable}

    def _read_all(self) -> None:
        names = self._python_names()
        alive, self._ended = set(), self._alive
        for thread in self._read_threads():
            tracked = self._threads.get(thread.key)
            if tracked is None:
                tracked = self._threads[thread.key] = _Tracked(0.0)  # born after the start
            cpu_s = max(0.0, thread.cpu_s - tracked.base_s)
            tracked.cpu_s, tracked.last_gain_s = cpu_s, cpu_s - tracked.cpu_s
            alive.add(thread.key)
            # a Python name is kept once seen: threading forgets a thread just before it ends
            thread_names = (thread.comm, names.get(thread.key[0], tracked.names[1]))
            if thread_names != tracked.names:
                tracked.names, tracked.category = thread_names, self._category(thread.key, *thread_names)

        self._alive, self._ended = alive, self._ended - alive

    def _credit_ended_threads(self, process_s: float) -> None:
        """The time threads used between their last look and their end is lost with them, but not from the
        process's total: what that total gained beyond the threads seen goes to the threads that ended
        since the look before (the stepping thread ends just before the last look), as they were going."""
        unseen_s = process_s - sum(tracked.cpu_s for tracked in self._threads.values())
        gained = unseen_s - self._unseen_s
        ended = [self._threads[key] for key in self._ended]
        if ended and gained > 0:
            going = sum(tracked.last_gain_s for tracked in ended)
            for tracked in ended:
                tracked.cpu_s += gained * (tracked.last_gain_s / going if going > 0 else 1 / len(ended))
            unseen_s -= gained
        self._unseen_s = unseen_s

    def _category(self, key: ThreadKey, comm: str, python_name: Optional[str]) -> str:
        unnamed = comm == self._process_comm or comm.startswith(OWN_PREFIX)  # see thread_category
        return thread_category(ThreadFacts(comm, python_name, unnamed, key in self._with_tensorflow,
                                           supervisor=key[0] == self._supervisor_tid, main_thread=self._main_thread))

    def _by_category(self) -> tuple[dict, dict]:
        """CPU seconds, and how many threads used any, per category: every thread seen since the start,
        those that ended at their last figure."""
        seconds, counts = dict.fromkeys(CATEGORIES, 0.0), dict.fromkeys(CATEGORIES, 0)
        for tracked in self._threads.values():
            seconds[tracked.category] += tracked.cpu_s
            counts[tracked.category] += tracked.cpu_s > 0
        seconds["service"], counts["service"] = sum(self._processes.values()), len(self._processes)
        return seconds, counts

    def _split(self, wall_s: float, process_s: float, seconds: dict, counts: dict) -> dict:
        first_wall, first_process, first_seconds = self._history[0]
        return {
            "cores": self._cores,
            "wall_s": round(wall_s, 4),
            "process_s": round(process_s, 3),
            "seconds": _rounded(seconds),
            "threads": counts,  # for "service": processes
            "processes": _rounded(self._processes),
            "recent": {"wall_s": round(wall_s - first_wall, 4), "process_s": round(process_s - first_process, 3),
                       "seconds": _rounded({c: seconds[c] - first_seconds[c] for c in CATEGORIES})},
            "samples": self._samples,
            "sample_ms": round(1000 * self._sample_s / self._samples, 3),
            "main_thread": self._main_thread,
        }


def _rounded(seconds: dict) -> dict:
    return {category: round(value, 3) for category, value in seconds.items()}
