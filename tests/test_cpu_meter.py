"""The host CPU budget: whose work each thread does, seconds since the run's start per category (on
hand-made thread tables), summary.json's `cpu`, and real runs whose split is known by construction."""
import threading
import time

import pytest

from core.analysis.cpu_split import CATEGORIES as SUMMARY_CATEGORIES
from core.analysis.cpu_split import NOT_RECORDED, cpu_summary, host_shares
from core.engine.cpu_meter import (CATEGORIES, RECENT_S, CpuMeter, ThreadFacts, ThreadReader, ThreadTime,
                                   parse_stat, thread_category, why_unavailable)
from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset

UNNAMED = "python"  # what the process is called: the name of a native thread that never named itself


def facts(comm=UNNAMED, python_name=None, with_tensorflow=False) -> ThreadFacts:
    return ThreadFacts(comm, python_name, comm == UNNAMED, with_tensorflow)


@pytest.mark.parametrize("thread, category", [
    (facts(with_tensorflow=True), "model"),  # TensorFlow's intra-op pool: the model's kernels
    (facts("tf_Compute", with_tensorflow=True), "model"),  # its inter-op pool
    (facts("tf_Compute"), "model"),  # named so, even if it started later
    (facts("tf_graph_runner"), "model"),
    (facts(), "input"),  # unnamed and born after TensorFlow's runtime: tf.data's pool and runners
    (facts("tf_data_private"), "input"),
    (facts(python_name="pipescope-steps"), "model"),  # launches the model's steps
    (facts(python_name="pipescope-queue-runner-0"), "input"),
    (facts(python_name="pipescope-probes"), "profiler"),
    (facts(python_name="pipescope-record-stream"), "profiler"),
    (facts(python_name="pipescope-run"), "profiler"),  # the CLI's supervisor
    (ThreadFacts("pipescope-run", None, True, True, supervisor=True), "profiler"),  # the app's: a QThread
    (ThreadFacts("pipescope-run", None, True, True), "model"),  # TensorFlow's pool, started by the app's run
    (ThreadFacts("pipescope-run", None, True, False), "input"),  # tf.data's, started by the app's run
    (facts(python_name="MainThread", with_tensorflow=True), "profiler"),  # progress line, or the GUI
    (facts(python_name="ThreadPoolExecutor-0_0"), "other"),
    (facts("QXcbEventQueue", with_tensorflow=True), "other"),
    (facts("llvm-worker-0"), "other"),
])
def test_each_thread_is_classified_by_whose_work_it_does(thread, category):
    assert thread_category(thread) == category


def test_the_classifier_knows_the_names_the_engine_gives_its_threads():
    from core.engine.feeders import PRODUCER_THREAD
    from core.engine.probes import PROBE_THREAD
    from core.engine.runner import STEPPING_THREAD
    from core.outputs.record_stream import STREAM_THREAD

    assert thread_category(facts(python_name=STEPPING_THREAD)) == "model"
    assert thread_category(facts(python_name=f"{PRODUCER_THREAD}-3")) == "input"
    assert {thread_category(facts(python_name=name)) for name in (PROBE_THREAD, STREAM_THREAD)} == {"profiler"}
    assert CATEGORIES == SUMMARY_CATEGORIES


class Table:
    """A hand-made thread table, changed between samples: {tid: (comm, cpu_s)}, start times per tid."""

    def __init__(self, threads: dict, python_names: dict = (), process_s: float = 0.0):
        self.threads, self.python_names = dict(threads), dict(python_names)
        self.born = {tid: 1 for tid in threads}
        self.process_s = process_s

    def read(self) -> list[ThreadTime]:
        return [ThreadTime((tid, self.born[tid]), comm, cpu) for tid, (comm, cpu) in self.threads.items()]

    def add(self, tid: int, comm: str, cpu_s: float, born: int = 2) -> None:
        self.threads[tid], self.born[tid] = (comm, cpu_s), born

    def meter(self, with_tensorflow=(), clock=time.perf_counter_ns) -> CpuMeter:
        return CpuMeter(read_threads=self.read, python_names=lambda: self.python_names,
                        with_tensorflow=lambda: {(tid, 1) for tid in with_tensorflow},
                        process_cpu=lambda: self.process_s, process_comm=UNNAMED, cores=2, check=lambda: None,
                        clock=clock)


def test_threads_count_from_the_runs_start_or_from_their_birth():
    table = Table({1: (UNNAMED, 5.0), 2: (UNNAMED, 7.0), 3: ("tf_Compute", 1.0)}, {1: "MainThread"}, process_s=13.0)
    meter = table.meter(with_tensorflow={1, 2, 3})
    meter.start(time.perf_counter_ns())
    table.threads.update({1: (UNNAMED, 5.5), 2: (UNNAMED, 9.0), 3: ("tf_Compute", 1.5)})
    table.add(4, UNNAMED, 0.75)  # tf.data's, born after the start: from 0
    table.add(5, UNNAMED, 0.25)
    table.python_names[5] = "pipescope-steps"
    table.process_s = 13.0 + 0.5 + 2.0 + 0.5 + 0.75 + 0.25
    meter.sample()
    split = meter.latest
    assert split["seconds"] == {"input": 0.75, "model": 2.75, "profiler": 0.5, "other": 0.0, "service": 0.0}
    assert split["process_s"] == 4.0 and split["cores"] == 2 and split["samples"] == 2
    assert split["threads"] == {"input": 1, "model": 3, "profiler": 1, "other": 0, "service": 0}


def test_in_the_app_native_threads_carry_the_name_of_the_qthread_that_started_them():
    """The app runs a Run on a QThread Qt names `pipescope-run`: the threads it starts inherit that name."""
    supervisor = threading.get_native_id()  # the meter is made by the thread that runs the Run
    table = Table({supervisor: ("pipescope-run", 1.0), 11: ("pipescope-run", 2.0), 12: ("tf_Compute", 0.0)})
    meter = table.meter(with_tensorflow={supervisor, 11, 12})
    meter.start(time.perf_counter_ns())
    table.threads.update({supervisor: ("pipescope-run", 1.25), 11: ("pipescope-run", 3.0)})
    table.add(13, "pipescope-run", 0.5)  # tf.data's, started while the supervisor built the pipeline
    table.process_s = 1.75
    meter.sample()
    assert meter.latest["seconds"] == {"input": 0.5, "model": 1.0, "profiler": 0.25, "other": 0.0, "service": 0.0}


def test_a_reused_tid_is_another_thread_and_an_ended_thread_keeps_its_time():
    table = Table({1: (UNNAMED, 0.0)}, {1: "MainThread"})
    meter = table.meter(with_tensorflow={1})
    meter.start(time.perf_counter_ns())
    table.add(7, UNNAMED, 2.0)  # tf.data's
    table.process_s = 2.0
    meter.sample()
    del table.threads[7]
    table.add(7, "tf_Compute", 0.5, born=3)  # the same tid, a later thread
    table.process_s = 2.5
    meter.sample()
    assert meter.latest["seconds"]["input"] == 2.0 and meter.latest["seconds"]["model"] == 0.5


def test_time_an_ended_thread_used_after_its_last_look_is_credited_to_it():
    table = Table({1: (UNNAMED, 0.0)}, {1: "MainThread"})
    meter = table.meter(with_tensorflow={1})
    meter.start(time.perf_counter_ns())
    table.add(5, UNNAMED, 1.0)
    table.python_names[5] = "pipescope-steps"
    table.add(6, UNNAMED, 0.5)
    table.process_s = 1.5
    meter.sample()
    del table.threads[5]  # the stepping thread ends just before the last look: 0.4 s since its last
    table.threads[6] = (UNNAMED, 0.6)
    table.process_s = 1.5 + 0.4 + 0.1
    meter.sample()
    assert meter.latest["seconds"]["model"] == pytest.approx(1.4)
    assert meter.latest["seconds"]["input"] == pytest.approx(0.6)
    assert cpu_summary(meter.latest)["other_s"] == pytest.approx(0.0, abs=1e-3)


def test_a_python_name_is_kept_once_seen():
    """threading forgets a thread just before it ends: its last figures still belong to it."""
    table = Table({1: (UNNAMED, 0.0)}, {1: "MainThread"})
    meter = table.meter(with_tensorflow={1})
    meter.start(time.perf_counter_ns())
    table.add(5, UNNAMED, 1.0)
    table.python_names[5] = "pipescope-queue-runner-0"
    meter.sample()
    del table.python_names[5]
    table.threads[5] = (UNNAMED, 1.5)
    meter.sample()
    assert meter.latest["seconds"] == {"input": 1.5, "model": 0.0, "profiler": 0.0, "other": 0.0, "service": 0.0}


def test_the_recent_share_covers_the_last_couple_of_seconds():
    table = Table({1: (UNNAMED, 0.0)}, {1: "pipescope-steps"})
    now_ns = [0]
    meter = table.meter(with_tensorflow={1}, clock=lambda: now_ns[0])
    meter.start(1)
    for tick in range(1, 41):  # 10 s at 4 Hz: busy for the first 8 s, idle for the last 2
        now_ns[0] = int(tick * 0.25e9)
        table.threads[1] = table.threads[1] if tick > 32 else (UNNAMED, 0.25 * tick)
        table.process_s = table.threads[1][1]
        meter.sample()
    split = meter.latest
    assert RECENT_S <= split["recent"]["wall_s"] < RECENT_S + 0.25 and split["wall_s"] == pytest.approx(10.0)
    assert split["recent"]["seconds"]["model"] == 0.0 and split["seconds"]["model"] == 8.0
    assert host_shares(split, recent=True)["model"] == 0.0
    assert host_shares(split, recent=False)["model"] == pytest.approx(8.0 / (2 * 10.0), abs=1e-3)


def test_where_threads_cannot_be_read_the_meter_says_why_and_never_raises():
    meter = CpuMeter(check=lambda: "per-thread CPU time is read from Linux's /proc; this system is darwin")
    meter.start(time.perf_counter_ns())
    meter.sample()
    assert meter.latest == {"unavailable": "per-thread CPU time is read from Linux's /proc; this system is darwin"}
    assert cpu_summary(meter.latest) == meter.latest

    def vanished():
        raise FileNotFoundError(2, "No such file or directory", "/proc/self/task")

    table = Table({1: (UNNAMED, 0.0)})
    meter = table.meter()
    meter.start(time.perf_counter_ns())
    meter._read_threads = vanished
    meter.sample()
    assert meter.latest["unavailable"].startswith("/proc/self/task could not be read during the run")


def test_the_summary_block_adds_up():
    split = {"cores": 2, "wall_s": 10.0, "process_s": 12.0, "samples": 40, "sample_ms": 0.2,
             "seconds": {"input": 6.0, "model": 4.0, "profiler": 0.5, "other": 0.5}, "threads": {},
             "recent": {"wall_s": 2.0, "process_s": 3.0, "seconds": {"input": 2.0, "model": 0.5}}}
    cpu = cpu_summary(split)
    assert cpu["total_s"] == 12.0 and cpu["other_s"] == 1.5  # what no thread accounts for is other
    assert cpu["shares"] == {"input": 0.5, "model": 0.3333, "profiler": 0.0417, "other": 0.125, "service": 0.0}
    assert cpu["of_host"]["input"] == 0.3 and cpu["of_host"]["total"] == 0.6
    assert cpu["method"] and cpu["sample_ms"] == 0.2
    assert host_shares(split, recent=True) == {"input": 0.5, "model": 0.125, "profiler": 0.0, "other": 0.125,
                                               "service": 0.0}
    with_service = cpu_summary(split | {"seconds": split["seconds"] | {"service": 3.0},
                                        "processes": {"worker 1 (pid 7)": 3.0}})
    # the service's processes are counted beside the run's own, never taken from what no thread accounts for
    assert with_service["service_s"] == 3.0 and with_service["other_s"] == 1.5 and with_service["total_s"] == 15.0
    assert with_service["processes"] == {"worker 1 (pid 7)": 3.0} and with_service["of_host"]["total"] == 0.75
    assert cpu_summary(None) == {"unavailable": NOT_RECORDED} and host_shares(None, recent=True) is None


def test_a_stat_line_whose_name_holds_parentheses_and_spaces():
    stat = "4242 (a (b) c) S 1 1 1 0 -1 4194560 10 0 0 0 7 3 0 0 20 0 1 0 98765 0 0"
    assert parse_stat(4242, stat) == ((4242, 98765), "a (b) c")


@pytest.mark.skipif(why_unavailable() is not None, reason="per-thread CPU clocks are Linux's")
def test_the_reader_sees_a_busy_thread_use_cpu():
    stop = threading.Event()
    busy = threading.Thread(target=lambda: [None for _ in iter(stop.is_set, True)], name="busy")
    busy.start()
    try:
        reader = ThreadReader()
        first = {thread.key: thread for thread in reader()}
        until = time.monotonic() + 5
        while time.monotonic() < until:
            later = {thread.key: thread for thread in reader()}
            busy_key = next(key for key in later if key[0] == busy.native_id)
            if later[busy_key].cpu_s > first[busy_key].cpu_s:
                break
    finally:
        stop.set()
        busy.join()
    assert later[busy_key].cpu_s > first[busy_key].cpu_s
    own = next(thread for thread in later.values() if thread.key[0] == threading.get_native_id())
    assert own.cpu_s > 0 and own.comm


# ------------------------------------------------------------------ real runs


def run_whatif(*assignments):
    from core.engine.runner import Run

    spec = apply_overrides(load_preset("whatif"), [("model.step_ms", 1.0), ("run.steps", 80),
                                                   ("run.warmup_steps", 10), *assignments])
    run = Run(spec)
    assert run.cpu_split is None  # nothing before the run starts
    run.run()
    assert run.outcome.error is None, run.outcome.error
    return run, cpu_summary(run.cpu_split)


@pytest.mark.skipif(why_unavailable() is not None, reason="per-thread CPU clocks are Linux's")
def test_cpu_work_in_the_pipeline_shows_as_input_and_a_light_pipeline_barely_does():
    """cpu_work burns CPU on tf.data's threads while the simulated model sleeps; without it and
    without I/O, the pipeline hands out ready-made batches (cheap, but taking each one costs the
    stepping thread about as much: the model's side)."""
    heavy_run, heavy = run_whatif(("stages.cpu.ms", 3.0))
    light_run, light = run_whatif(("stages.cpu.ms", 0.0), ("stages.io.ms", 0.0), ("run.steps", 200))
    assert heavy["input_s"] > 1.5 * heavy["model_s"], heavy
    assert light["input_s"] / 200 < heavy["input_s"] / 80 / 3, (light, heavy)  # per batch
    assert light["shares"]["input"] < heavy["shares"]["input"], (light, heavy)
    for run, cpu in ((heavy_run, heavy), (light_run, light)):
        assert cpu["cores"] >= 1 and 0 < cpu["wall_s"] and cpu["total_s"] > 0
        assert sum(cpu["shares"].values()) == pytest.approx(1.0, abs=1e-3)
        parts = sum(cpu[f"{category}_s"] for category in CATEGORIES)
        assert parts == pytest.approx(cpu["total_s"], abs=2e-3)
        assert cpu["of_host"]["total"] == pytest.approx(cpu["total_s"] / (cpu["wall_s"] * cpu["cores"]), abs=1e-3)
        assert run.cpu_split["threads"]["input"] >= 1 and run.cpu_split["samples"] >= 2
        assert cpu["sample_ms"] < 1000 / 4  # a sample takes far less than the probes' tick


def test_the_main_thread_is_the_models_in_a_watched_script_and_the_profilers_elsewhere():
    from core.engine.cpu_meter import ThreadFacts, thread_category
    main = dict(comm="python", python_name="MainThread", unnamed=False, with_tensorflow=True)
    assert thread_category(ThreadFacts(**main)) == "profiler"
    assert thread_category(ThreadFacts(**main, main_thread="model")) == "model"
