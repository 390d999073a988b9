"""Lifecycle (issue 15 §4): what many runs leave behind in one process: threads, memory, live timers.

Three parts, each in a fresh process of its own (so none inherits another's heap):
- engine: `--runs` short `Run`s (30 steps, 5 of warm-up) in one process, split into a block per case,
  each after two warm-up runs of its own: `whatif` at no cost (io and cpu 0 ms, a 1 ms simulated step)
  with each feeder, then `seed_tf_data` (the seed's 1024-unit network) without and with the run's
  tf.profiler capture of the device's busy time (steps 20–30, `run.capture_steps`). The engine's growth
  is the cases' own added up: the heap's level steps up once from whatif's cases to seed_tf_data's, and
  the warm-up runs absorb that step (the process's RSS from start to end is printed beside it).
- app-timed (and, with `--part app`, app): a real MainWindow offscreen starts a real engine run of `whatif`
  (`--app-preset`; with `run.seconds` 60, or as shipped, 500 steps), lets it take 10 steps past its warm-up and 0.3 s,
  stops it and waits for `run_finished`, `--cycles` times after 3 warm-up cycles; the tests' leak guard
  (tests/leak_guard.py) records every thread, QThread and QTimer started meanwhile, and where.

After each run or cycle (and a gc.collect(): a full one every FULL_COLLECTION_EVERY and at each block's
ends, which walks TensorFlow's objects too, of the young generations between): the RSS
(/proc/self/status VmRSS) and glibc's own figures
(mallinfo2: bytes malloc has handed out, "in use", and bytes it keeps free in its arenas). Growth is the
end minus the start after warm-up, and per run the slope of a linear fit. Left behind: Python threads
(threading.enumerate()), OS threads (/proc/self/task) and active QTimers beyond those before the
measured runs. Targets (issue 15): RSS ≤ 20 MB over 50 app cycles, nothing left running; the engine is
held to the same bound over its runs.

What the figures showed (TF 2.21, glibc 2.36, 2 cores):
- queue_runner runs kept ~36 KB each "in use": TensorFlow's eager kernel cache keeps a kernel per
  FIFOQueue (each has a shared name of its own); the feeder now clears the cache as it closes.
- seed_tf_data with its capture grows RSS ~0.3–0.7 MB a run at first (the "0.6 MB a tf_data run"),
  with "in use" flat: it is memory glibc keeps free in its per-thread arenas once large tensors come
  from them instead of mmap. It levels off after ~90 runs (+25 MB); MALLOC_ARENA_MAX=2 or
  MALLOC_MMAP_THRESHOLD_=131072 in the environment keep it flat. Without the capture it stays flat.
  How much depends on how the threads meet the arenas: the 200 engine runs read +7.7 MB on one day and
  +25.5 MB on another (the VM at half its speed), "in use" +0.5 MB both times.
- the app keeps its 20 latest runs (core.experiments.history), each with its step records as they were
  preallocated: a `run.seconds` run reserves 20,001 rows (1.1 MB) and the history's copy 4,096 more,
  whatever it recorded, so 20 short timed runs held ~28 MB; an ended run now gives back the rows it
  never wrote (`trim`), which took 50 timed cycles from +29 MB to about +3 MB.

    python bench/lifecycle.py [--runs 200] [--cycles 50] [--quick] [--json FILE] [--rows FILE]
                              [--part engine|app|app-timed] [--case NAME]… [--app-preset whatif]
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rows import add_rows_argument, row, write_rows

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RSS_TARGET_MB = 20.0  # issue 15 §4: over 50 start/stop cycles of the app
APP_TARGET_CYCLES = 50
TARGET_COUNTS = {"cycles": APP_TARGET_CYCLES, "runs": 200}  # fewer (--quick) are measured, not judged
ENGINE_WARMUP_RUNS = 2  # per case, before the measured blocks: TensorFlow's pools, tracing, first allocations
APP_WARMUP_CYCLES = 3
STEPS, WARMUP_STEPS = 30, 5
APP_STEPS_AFTER_WARMUP, APP_HOLD_S = 10, 0.3
CYCLE_TIMEOUT_S = 60.0
FULL_COLLECTION_EVERY = 10  # runs or cycles; the first and last samples of each block are always after one


@dataclass(frozen=True)
class Case:
    name: str
    preset: str
    overrides: tuple


_SHORT = (("run.steps", STEPS), ("run.warmup_steps", WARMUP_STEPS))
_NO_COST = (("stages.io.ms", 0), ("stages.cpu.ms", 0), ("model.step_ms", 1))
CASES = (
    Case("whatif tf_data", "whatif", _NO_COST + _SHORT + (("feeder.kind", "tf_data"),)),
    Case("whatif queue_runner", "whatif", _NO_COST + _SHORT + (("feeder.kind", "queue_runner"),)),
    Case("whatif feed_dict", "whatif", _NO_COST + _SHORT + (("feeder.kind", "feed_dict"),)),
    Case("seed_tf_data, no capture", "seed_tf_data", _SHORT + (("run.capture_steps", 0),)),
    Case("seed_tf_data", "seed_tf_data", _SHORT),  # the device capture: tf.profiler over steps 20–30
)


# ---------------------------------------------------------------- what a process holds


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def python_threads() -> list[threading.Thread]:
    """Live threads Python started (not the stand-ins threading makes for foreign threads, such as QThreads)."""
    return [thread for thread in threading.enumerate()
            if thread is not threading.main_thread() and not isinstance(thread, threading._DummyThread)]


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        return libc
    except (OSError, AttributeError):  # not glibc, or older than 2.33
        return None


LIBC = _libc()


def malloc_kb() -> dict:
    """glibc's heap over all arenas: what the program holds (`in_use`: small chunks + mmapped) and what
    malloc keeps free for later (`free`); empty where glibc's mallinfo2 is missing."""
    if LIBC is None:
        return {}
    info = LIBC.mallinfo2()
    return {"in_use": (info.uordblks + info.hblkhd) // 1024, "free": info.fordblks // 1024}


def malloc_arenas() -> int | None:
    """How many arenas malloc has made (malloc_info's <heap> elements)."""
    if LIBC is None:
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        LIBC.fopen.restype, LIBC.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
        LIBC.fclose.argtypes, LIBC.malloc_info.argtypes = [ctypes.c_void_p], [ctypes.c_int, ctypes.c_void_p]
        stream = LIBC.fopen(out.name.encode(), b"w")
        LIBC.malloc_info(0, stream)
        LIBC.fclose(stream)
        return out.read().count("<heap nr=")


class Samples:
    """RSS and malloc's figures after each run, in KB."""

    def __init__(self):
        self.rss: list[int] = []
        self.in_use: list[int] = []
        self.free: list[int] = []

    def take(self, full: bool = True) -> None:
        # A full collection walks TensorFlow's objects too: ~0.13 s, a third of the engine part's time when
        # done after every run. Between full ones, the young generations are enough for a run's own cycles.
        gc.collect(2 if full else 1)
        self.rss.append(rss_kb())
        malloc = malloc_kb()
        self.in_use.append(malloc.get("in_use", 0))
        self.free.append(malloc.get("free", 0))

    def figures(self, start: int, end: int | None = None) -> dict:
        """Growth over the runs sampled in [start, end): their last sample minus the one before them (taken
        after the warm-up), and the slope per run."""
        before = start - 1
        end = len(self.rss) if end is None else end
        figures = {"rss_start_mb": round(self.rss[before] / 1024, 1), "rss_end_mb": round(self.rss[end - 1] / 1024, 1)}
        for name, values in (("rss", self.rss), ("malloc_in_use", self.in_use), ("malloc_free", self.free)):
            figures[f"{name}_growth_mb"] = round((values[end - 1] - values[before]) / 1024, 2)
            figures[f"{name}_kb_per_run"] = round(slope(values[start:end]), 1)
        return figures


def slope(values: list[int]) -> float:
    return float(np.polyfit(np.arange(len(values)), np.asarray(values, float), 1)[0]) if len(values) >= 2 else 0.0


# ---------------------------------------------------------------- engine alone


def measure_engine(runs: int, names: list[str] | None = None) -> dict:
    """`runs` split among the cases (or those named), a block of each after warm-up runs of its own."""
    from _util import Run, preset  # loads TensorFlow quietly

    chosen = [case for case in CASES if not names or case.name in names]
    per_case = max(2, runs // len(chosen))

    def one_run(spec) -> None:
        run = Run(spec)
        run.run()
        if run.outcome.error is not None:
            raise SystemExit(f"error: {spec.name}: {run.outcome.error}")

    samples, cases, baseline = Samples(), [], None
    started = time.monotonic()
    for case in chosen:
        spec = preset(case.preset, *case.overrides)
        for _ in range(ENGINE_WARMUP_RUNS):  # also what the case before left in the heap settles here
            one_run(spec)
        samples.take()
        first, objects, case_started = len(samples.rss), len(gc.get_objects()), time.monotonic()
        if baseline is None:  # TensorFlow's pools and the first case's allocations are in place
            baseline = first
            threads_before, tasks_before = {thread.ident for thread in python_threads()}, os_threads()
        for number in range(1, per_case + 1):
            one_run(spec)
            samples.take(full=number % FULL_COLLECTION_EVERY == 0 or number == per_case)
        cases.append({"case": case.name, "runs": per_case, "s_per_run": round((time.monotonic() - case_started)
                                                                             / per_case, 3),
                      "python_objects_growth": len(gc.get_objects()) - objects,
                      **samples.figures(first, len(samples.rss))})
        print(f"  engine: {case.name}: {cases[-1]['rss_kb_per_run']:+.0f} KB/run", file=sys.stderr, flush=True)
    left = [thread.name for thread in python_threads() if thread.ident not in threads_before]
    whole = samples.figures(baseline)
    return {"runs": per_case * len(chosen), "seconds": round(time.monotonic() - started, 1), "cases": cases,
            **_added_up(cases), "rss_start_mb": whole["rss_start_mb"], "rss_end_mb": whole["rss_end_mb"],
            "python_threads_left": left, "os_threads_before": tasks_before, "os_threads_after": os_threads(),
            "malloc_arenas": malloc_arenas(), "qtimers_left": None,
            "rss_mb_series": [round(kb / 1024, 1) for kb in samples.rss[baseline - 1:]]}


def _added_up(cases: list[dict]) -> dict:
    """The engine's growth: the cases' own, added up. From one case to the next the heap's level changes
    once (seed_tf_data's network holds tens of MB more than whatif's): the start and end of the process
    would count that step as growth; the cases' warm-up runs absorb it, and only what repeating a run adds
    is counted."""
    runs = sum(case["runs"] for case in cases)
    figures = {}
    for name in ("rss", "malloc_in_use", "malloc_free"):
        figures[f"{name}_growth_mb"] = round(sum(case[f"{name}_growth_mb"] for case in cases), 2)
        weighted = sum(case[f"{name}_kb_per_run"] * case["runs"] for case in cases)
        figures[f"{name}_kb_per_run"] = round(weighted / runs, 1)
    return figures


# ---------------------------------------------------------------- the app


class _Patches:
    """The one method of pytest's monkeypatch the leak guard uses; nothing is undone (the process ends)."""

    @staticmethod
    def setattr(target, name: str, value) -> None:
        setattr(target, name, value)


def active_qtimers(roots) -> dict:
    """Active QTimers by address: every Python-made QTimer alive, and those Qt made under `roots`."""
    from PyQt5 import QtCore, sip

    timers = [obj for obj in gc.get_objects() if isinstance(obj, QtCore.QTimer)]
    timers += [timer for root in roots for timer in root.findChildren(QtCore.QTimer)]
    return {sip.unwrapinstance(timer): timer.objectName() or "(unnamed)" for timer in timers
            if not sip.isdeleted(timer) and timer.isActive()}


APP_PARTS = {"app": (), "app-timed": (("run.seconds", 60.0),)}  # as shipped (500 steps); a 60 s run
# The timed runs are the ones that kept their unwritten rows (20,001 each); `--part app` measures the others.
DEFAULT_PARTS = ("engine", "app-timed")


def measure_app(cycles: int, preset_name: str, overrides: tuple) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    from gui.app import GIL_SWITCH_INTERVAL_S
    from gui.qt_app import ensure_qapp

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as the app runs
    app = ensure_qapp(offscreen=True)
    from PyQt5 import QtCore

    from core.spec.pipeline import apply_overrides
    from core.spec.presets import load_preset
    from gui.main_window import MainWindow
    from tests.leak_guard import LeakGuard, describe_leaks, watch_python_threads, watch_qt

    scratch = tempfile.TemporaryDirectory(prefix="pipescope-lifecycle-")
    settings = QtCore.QSettings(str(Path(scratch.name) / "settings.ini"), QtCore.QSettings.IniFormat)
    window = MainWindow(settings, runs_folder=Path(scratch.name) / "runs")
    spec = apply_overrides(load_preset(preset_name), list(overrides))
    window.load_spec(spec)
    window.show()
    steps_before_stop = spec.run["warmup_steps"] + APP_STEPS_AFTER_WARMUP
    ended = [0]  # runs ended: counted, not kept (the history alone decides which runs stay)
    window.controller.run_finished.connect(lambda _run: ended.__setitem__(0, ended[0] + 1))

    def pump_until(done, what: str) -> None:
        deadline = time.monotonic() + CYCLE_TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the app: no {what} within {CYCLE_TIMEOUT_S:.0f} s")
            app.processEvents(QtCore.QEventLoop.AllEvents, 20)
            time.sleep(0.005)

    def cycle() -> None:
        before = ended[0]
        if not window.start_run():
            raise SystemExit(f"error: the app cannot start a run: {window.document.first_problem()}")
        run, started = window.controller.worker.run_obj, time.monotonic()
        pump_until(lambda: not window.controller.running or (
            len(run.records) >= steps_before_stop and time.monotonic() - started >= APP_HOLD_S), "steps")
        window.controller.stop()
        pump_until(lambda: ended[0] > before, "run_finished")
        if run.outcome.error is not None:
            raise SystemExit(f"error: the app's run failed: {run.outcome.error}")
        for _ in range(5):
            app.processEvents()

    for _ in range(APP_WARMUP_CYCLES):
        cycle()
    samples = Samples()
    samples.take()
    guard = LeakGuard()
    guard.settle = app.processEvents
    watch_python_threads(guard, _Patches)
    watch_qt(guard, _Patches)
    threads_before, tasks_before = {thread.ident for thread in python_threads()}, os_threads()
    timers_before = active_qtimers([app, window])
    started = time.monotonic()
    for number in range(1, cycles + 1):
        cycle()
        samples.take(full=number % FULL_COLLECTION_EVERY == 0 or number == cycles)
        if number % 10 == 0:
            print(f"  app: {number} cycles, RSS {samples.rss[-1] / 1024:.0f} MB", file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    leaks = guard.leaks()
    timers_left = {address: name for address, name in active_qtimers([app, window]).items()
                   if address not in timers_before}
    left = [thread.name for thread in python_threads() if thread.ident not in threads_before]
    result = {"cycles": cycles, "preset": preset_name, "overrides": [list(pair) for pair in overrides],
              "target": spec.target(), "seconds": round(seconds, 1), **samples.figures(1),
              "python_threads_left": left, "os_threads_before": tasks_before, "os_threads_after": os_threads(),
              "qtimers_left": sorted(timers_left.values()), "qtimers_active_before": sorted(timers_before.values()),
              "leak_guard": describe_leaks(leaks) if leaks else None, "runs_kept": len(window.controller.history),
              "malloc_arenas": malloc_arenas(), "rss_mb_series": [round(kb / 1024, 1) for kb in samples.rss]}
    window.document.undo_stack.setClean()
    window.close()
    scratch.cleanup()
    return result


# ---------------------------------------------------------------- the report

PART_NAMES = {"engine": "engine alone", "app": "app, whatif as shipped", "app-timed": "app, whatif for 60 s"}


def threads_left(part: dict) -> int:
    return len(part["python_threads_left"]) + max(0, part["os_threads_after"] - part["os_threads_before"])


def timers_left(part: dict):
    return None if part["qtimers_left"] is None else len(part["qtimers_left"])


def met(part: dict):
    """Whether the part meets its target; None (not judged) on fewer runs or cycles than the target names."""
    count, unit = count_of(part)
    if count < TARGET_COUNTS[unit]:
        return None
    return (part["rss_growth_mb"] <= RSS_TARGET_MB and threads_left(part) == 0 and not timers_left(part)
            and not part.get("leak_guard"))


def count_of(part: dict) -> tuple[int, str]:
    return (part["runs"], "runs") if "runs" in part else (part["cycles"], "cycles")


def target_of(part: dict) -> str:
    unit = count_of(part)[1]
    return f"≤ {RSS_TARGET_MB:g} MB RSS over {TARGET_COUNTS[unit]} {unit}; no thread or timer left"


def verdicts(parts: dict) -> list[dict]:
    """One line per part: count, RSS growth, threads and timers left, the target and whether it is met."""
    return [{"part": PART_NAMES[name], "count": count_of(part)[0], "unit": count_of(part)[1],
             "rss_growth_mb": part["rss_growth_mb"], "rss_kb_per_run": part["rss_kb_per_run"],
             "malloc_in_use_growth_mb": part["malloc_in_use_growth_mb"], "threads_left": threads_left(part),
             "qtimers_left": timers_left(part), "target": target_of(part), "met": met(part)}
            for name, part in parts.items()]


def _line(label: str, count: int, figures: dict, threads: str, timers: str, last: str) -> str:
    return (f"{label:<28}{count:>6}{figures['rss_growth_mb']:>9.1f} MB{figures['rss_kb_per_run']:>8.0f}"
            f"{figures['malloc_in_use_growth_mb']:>7.1f} MB{figures['malloc_free_growth_mb']:>7.1f} MB"
            f"{threads:>8}{timers:>8}  {last}")


def print_table(parts: dict) -> None:
    print(f"{'':<28}{'count':>6}{'RSS growth':>12}{'KB/run':>8}{'in use':>10}{'free':>10}{'threads':>8}"
          f"{'QTimers':>8}  target met")
    for name, part in parts.items():
        timers = "—" if timers_left(part) is None else str(timers_left(part))
        print(_line(PART_NAMES[name], count_of(part)[0], part, str(threads_left(part)), timers,
                    {True: "yes", False: "NO", None: "(too few)"}[met(part)]))
        for case in part.get("cases", []):
            print(_line(f"  {case['case']}", case["runs"], case, "", "", f"{case['s_per_run']:.2f} s/run"))
    print(f"target: {RSS_TARGET_MB:g} MB of RSS growth at most over {APP_TARGET_CYCLES} app cycles (issue 15) and "
          f"over {TARGET_COUNTS['runs']} engine runs, no thread or timer left. Growth: end − start after warm-up; "
          "KB/run: slope of a linear fit; in use / free: what glibc's malloc gives the program / keeps free in "
          "its arenas.")
    for name, part in parts.items():
        extra = f"; runs kept in the history {part['runs_kept']}" if "runs_kept" in part else ""
        print(f"{PART_NAMES[name]}: RSS {part['rss_start_mb']:.0f} → {part['rss_end_mb']:.0f} MB in "
              f"{part['seconds']:.0f} s; OS threads {part['os_threads_before']} → {part['os_threads_after']}; "
              f"Python threads left: {', '.join(part['python_threads_left']) or 'none'}; malloc arenas "
              f"{part['malloc_arenas']}{extra}")
        if part.get("leak_guard"):
            print(part["leak_guard"])
        if part.get("qtimers_left"):
            print(f"{PART_NAMES[name]}: active QTimers left: {', '.join(part['qtimers_left'])}")


def bench_rows(parts: dict) -> list[dict]:
    rows = []
    for name, part in parts.items():
        count, unit = count_of(part)
        if name == "engine":
            what = (f"{count} short runs of the engine alone in one process (`whatif` × 3 feeders, "
                    "`seed_tf_data` without and with its tf.profiler capture)")
        else:
            what = f"{count} start/stop cycles of a real `{part['preset']}` run in one app, offscreen"
            changed = ", ".join(f"{key}={value}" for key, value in part["overrides"])
            what += f" ({changed})" if changed else " (as shipped)"
        timers = "" if timers_left(part) is None else f", {timers_left(part)} QTimers"
        rows.append(row("Lifecycle", f"{what}: RSS growth; threads and timers left",
                        f"{part['rss_growth_mb']:+.1f} MB ({part['rss_kb_per_run']:+.0f} KB/{unit[:-1]}; malloc in "
                        f"use {part['malloc_in_use_growth_mb']:+.1f} MB), {threads_left(part)} threads{timers} left",
                        target_of(part), met(part)))
        for case in part.get("cases", []):
            rows.append(row("Lifecycle", f"engine: {case['runs']} runs of `{case['case']}`: RSS growth (fit a run); "
                            "malloc's bytes in use and kept free",
                            f"{case['rss_growth_mb']:+.1f} MB ({case['rss_kb_per_run']:+.0f} KB/run); in use "
                            f"{case['malloc_in_use_growth_mb']:+.1f} MB, free {case['malloc_free_growth_mb']:+.1f} MB"))
    return rows


def run_part(part: str, args) -> dict:
    """A part in a fresh process of its own: its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / f"{part}.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--part", part, "--json", str(out),
                   "--runs", str(args.runs), "--cycles", str(args.cycles), "--app-preset", args.app_preset,
                   *[f"--case={name}" for name in args.case or []]]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        return json.loads(out.read_text())[part]


def measure(part: str, args) -> dict:
    if part == "engine":
        return measure_engine(args.runs, args.case)
    return measure_app(args.cycles, args.app_preset, APP_PARTS[part])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="engine runs in one process (split among the cases)")
    parser.add_argument("--cycles", type=int, default=APP_TARGET_CYCLES, help="app start/stop cycles")
    parser.add_argument("--quick", action="store_true", help="40 engine runs, 10 app cycles")
    parser.add_argument("--part", choices=("engine", *APP_PARTS), help="only this part, in this process")
    parser.add_argument("--case", action="append", choices=[case.name for case in CASES],
                        help="engine: only this case (repeatable); all the runs go to the cases chosen")
    parser.add_argument("--app-preset", default="whatif", help="the preset the app runs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    add_rows_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.cycles = min(args.runs, 40), min(args.cycles, 10)
    if args.part:
        parts = {args.part: measure(args.part, args)}
    else:
        parts = {part: run_part(part, args) for part in DEFAULT_PARTS}
    print_table(parts)
    if args.json:
        args.json.write_text(json.dumps({**parts, "verdicts": verdicts(parts)}, indent=2, sort_keys=True,
                                        ensure_ascii=False) + "\n")
    write_rows(args.rows, bench_rows(parts))


if __name__ == "__main__":
    main()
