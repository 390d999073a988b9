"""Run: drives training steps and timestamps each one truthfully.

Per step, on one monotonic clock: `t_request` (the model asks for its next
batch), `t_fetched` (the batch is on the host), `t_ready` (it is on the model's
device), `t_done` (the step's result is read back). The fill level is sampled
just before `t_request`: reading it is the profiler's own time, which with the
record of the step before makes up `between` (previous `t_done` → `t_request`),
so that a step's parts add up to the step. A changed description is applied at a step
boundary without stopping; `request_stop()` from any thread ends the run
promptly. `run()` blocks: call it on a worker thread.

Steps are taken on a thread of their own while `run()` supervises: it ends a
`seconds` run on time and honours a stop even while an element is in flight
(a tf.data `next()` cannot be cancelled, so that element is left behind), and
it watches for stalls. The stepping thread only stamps the time of a pending
request, so supervising costs the measured steps nothing. A third thread, the
probes' (`core.engine.probes`), samples each stage's live figures into
`stage_records` a few times a second from what the run publishes as its
`ProbeTarget` (the feeder, the description and its version, set whole when
built and after each change), and the CPU time each thread has used (`cpu_split`, from
`core.engine.cpu_meter`): the stepping thread does nothing for either.
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Optional

from core.engine.build import failing_stage, summarize_error
from core.engine.cpu_meter import STEPPING_THREAD, CpuMeter
from core.engine.device_capture import DeviceCapture
from core.engine.feeders import EndOfData, build_feeder
from core.engine.free_memory import give_back_free_memory
from core.engine.live_model import stage_figures_unavailable, stuck_stage
from core.engine.models import build_model
from core.engine.outcome import ConfigChange, RunFailure, RunOutcome, RunStatus
from core.engine.probes import ProbeSampler, ProbeTarget
from core.engine.sources import skipped_files
from core.engine.stages import STAGE_BUILDERS
from core.engine.stalls import StallWatch
from core.engine.step_window import StepWindow, sync_policy
from core.engine.tf_runtime import device_details, gpu_warnings, load_tensorflow, model_device
from core.spec.kinds import SYNC_PARAMS
from core.spec.kinds.stages import SERVICE_SECURITY
from core.spec.params import SpecError
from core.spec.diff import describe_change
from core.spec.pipeline import PipelineSpec, apply_overrides, yields_batches
from core.spec.records import StageRecords, StepRecords

SUPERVISE_EVERY_S = 0.25
# How long a stop or the end of a timed run waits for the element in flight before leaving it behind.
IN_FLIGHT_GRACE_S = 0.2
CLOSE_WAIT_S = 5.0  # for producer threads to finish the element they are making


def _model_as_built(spec: PipelineSpec) -> tuple:
    params = {name: value for name, value in spec.model.params.items() if name not in SYNC_PARAMS}
    return spec.model.kind, params, spec.run["seed"]


def _feeding_part(spec: PipelineSpec) -> dict:
    data = spec.to_dict()
    return {key: data[key] for key in ("source", "stages", "feeder")} | {"seed": spec.run["seed"]}


class Run:
    def __init__(self, spec: PipelineSpec, scheduled_changes: Optional[dict[int, list]] = None,
                 profile_dir: Optional[str] = None):
        """`profile_dir`: keep a tf.profiler capture of `run.profile_steps` steps there (`run --profile-dir`)."""
        self.spec = spec
        self.profile_dir = profile_dir
        self.scheduled_changes = dict(scheduled_changes or {})
        steps, _ = spec.target()
        self.records = StepRecords(capacity=(steps or 20_000) + 1)
        self.stage_records = StageRecords()  # per-stage samples of tf.data's live model and the queue's fill
        self.outcome = RunOutcome()
        self.device: Optional[str] = None
        self.device_details: dict = {}  # name and, for a GPU, compute capability
        self.capacity: Optional[int] = 0
        # The rest of core.engine.run_protocol.RunView, as a run going in this process has it:
        self.started_at: Optional[str] = None  # only a run loaded from its folder keeps its wall-clock start
        self.extra: dict = {}  # a live run's extras (the app's ui_lag_ms) go to whoever writes its files
        self.closed = True  # a run in this process is never cut off: only a killed one's folder is
        self.accepts_changes = True  # request_change applies at the next step boundary
        self.config_version = 0
        self._stop = threading.Event()  # the user asked to stop
        self._halt = threading.Event()  # the stepping loop must end: a stop, or the time is up
        self._wake = threading.Event()  # the supervisor has something to look at: a stop, or the loop ended
        self._waiting_since_ns = 0  # t_request of the batch being waited for; 0 while not waiting
        self._last_ready_ns = 0  # t_ready of the latest batch
        self._pending_lock = threading.Lock()
        self._pending: Optional[PipelineSpec] = None
        self._feeder = None
        self._model = None
        self._start_ns = 0
        self._batched = False
        self._capture: Optional[DeviceCapture] = None
        self._probe_target: Optional[ProbeTarget] = None  # what the probes sample: set whole, never edited
        self._cpu_meter: Optional[CpuMeter] = None  # made before the first pipeline: TensorFlow's threads are older
        self._broken: Optional[RunFailure] = None  # what the supervisor found broken outside the process

    # ------------------------------------------------------------ control (any thread)

    def request_stop(self) -> None:
        self._stop.set()
        self._halt.set()
        self._wake.set()
        feeder = self._feeder
        if feeder is not None:
            feeder.interrupt()

    def request_change(self, new_spec: PipelineSpec) -> None:
        """Apply `new_spec` at the next step boundary (the app's what-if edits)."""
        with self._pending_lock:
            self._pending = new_spec

    @property
    def change_pending(self) -> bool:
        """A change waits for the next step boundary (during a stall, for the stuck element)."""
        return self._pending is not None

    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self._start_ns) / 1e9 if self._start_ns else 0.0

    def target(self) -> tuple[Optional[int], Optional[float]]:
        """(steps, seconds): exactly one is set."""
        return self.spec.target()

    @property
    def cpu_split(self) -> Optional[dict]:
        """The host CPU seconds per category since the start (`core.engine.cpu_meter`); None before it."""
        return self._cpu_meter.latest if self._cpu_meter is not None else None

    # ------------------------------------------------------------ the loop (worker thread)

    def run(self) -> RunOutcome:
        try:
            tf = load_tensorflow()
        except Exception as error:  # a broken install: report it like any failed run
            self._fail(RunFailure(f"cannot load TensorFlow: {type(error).__name__}: {error}"))
            return self.outcome
        try:
            # before "building": the CLI says them once it sees that
            self.outcome.warnings = gpu_warnings() + _service_warnings(self.spec)
            self.outcome.status = RunStatus.BUILDING
            self.device = model_device()
            self.device_details = device_details(self.device)
            self._cpu_meter = CpuMeter(other_processes=self._service_cpu)
            self._build_feeder(self.spec)
            self._build_model(self.spec)
            self._publish_probe_target()
            self._capture = self._device_capture()
            self.outcome.skipped_files = skipped_files(self.spec)
            self.outcome.status = RunStatus.RUNNING
            self._start_ns = time.perf_counter_ns()
            self._cpu_meter.start(self._start_ns)
            self._supervise_steps()
            self.outcome.status = RunStatus.STOPPED if self._stop.is_set() else RunStatus.FINISHED
        except EndOfData:  # a stop closes the queue, which also ends the data
            self.outcome.status = RunStatus.STOPPED if self._stop.is_set() else RunStatus.EXHAUSTED
        except SpecError as error:
            self._fail(error)
        except RunFailure as error:
            self._fail(error)
        except tf.errors.OpError as error:
            if self._stop.is_set():
                self.outcome.status = RunStatus.STOPPED
            else:
                self._fail(self._explain(f"{type(error).__name__}: {error.message}"))
        except Exception as error:  # a failure in the pipeline's Python code (numpy_function, generator)
            self._fail(self._explain(f"{type(error).__name__}: {error}"))
        finally:
            self._close()
            if not self.outcome.left_in_flight:  # else the stepping thread may still hold the records
                self.records.trim()
                self.stage_records.trim()
        return self.outcome

    def _fail(self, error: BaseException) -> None:
        self.outcome.status = RunStatus.FAILED
        self.outcome.error = error

    def _explain(self, message: str) -> RunFailure:
        broken = self._broken or self._broken_service()  # a worker that died explains the error it caused
        if broken is not None:
            return broken
        stage_id = failing_stage(message, self.spec)
        where = f"stage '{stage_id}'" if stage_id else "the pipeline or model"
        detail = _failure_detail(self.spec, stage_id)
        return RunFailure(f"{where} failed: {summarize_error(message)}" + (f"; {detail}" if detail else ""), stage_id)

    def _supervise_steps(self) -> None:
        done = threading.Event()
        failures: list[BaseException] = []

        def step_until_done() -> None:
            try:
                self._loop()
            except BaseException as error:  # handed to run(), which reports it
                failures.append(error)
            finally:
                self._capture.finish(len(self.records))  # a profiler left running would refuse the next run's
                self._publish_capture()
                done.set()
                self._wake.set()
                if self.outcome.left_in_flight:
                    self._close()  # a feeder a late change built after run() had closed the last one

        watch = StallWatch(self.spec.run["stall_seconds"], self._stuck_stage)
        self.outcome.stalls = watch.stalls
        stepping = threading.Thread(target=step_until_done, name=STEPPING_THREAD, daemon=True)
        with self._probes_sampling():
            stepping.start()
            self._cpu_meter.sample()  # a run shorter than the probes' tick still knows the stepping thread
            self._supervise(watch, done)
        if self._broken is not None:
            raise self._broken
        if self.outcome.left_in_flight:
            return  # whatever the stepping thread raises later is about an abandoned element
        stepping.join()
        if failures:
            raise failures[0]

    @contextlib.contextmanager
    def _probes_sampling(self):
        """The stages are sampled on the probes' own thread from before the first step to after the last."""
        probes = ProbeSampler(self.stage_records, lambda: self._probe_target, self._start_ns,
                              cpu_meter=self._cpu_meter)
        probes.start()
        try:
            yield
        finally:
            probes.stop()
            # a reason found only by asking (TensorFlow's own error) reaches the summary too
            self.outcome.stages_unavailable = self.outcome.stages_unavailable or self.stage_records.unavailable

    def _supervise(self, watch: StallWatch, done: threading.Event) -> None:
        """Until the loop ends: watch for stalls, end on time, leave an element in flight behind."""
        while not done.is_set():
            self._wake.wait(timeout=self._until_next_check())
            self._wake.clear()
            if done.is_set():
                break
            self._observe(watch)
            self._broken = self._broken_service()
            if self._halt.is_set() or self._time_is_up() or self._broken is not None:
                self._halt.set()
                ended_at = self.elapsed_s()
                self.outcome.pending_at_end = watch.pending(ended_at, self._seconds_from_start(self._waiting_since_ns))
                self.outcome.left_in_flight = not done.wait(timeout=IN_FLIGHT_GRACE_S)
                watch.end(ended_at)
                return
        self._observe(watch)  # a stall still open ended with the last batch
        watch.end(self.elapsed_s())

    def _until_next_check(self) -> float:
        _, seconds = self.target()
        return SUPERVISE_EVERY_S if seconds is None else max(0.0, min(SUPERVISE_EVERY_S, seconds - self.elapsed_s()))

    def _time_is_up(self) -> bool:
        _, seconds = self.target()
        return seconds is not None and self.elapsed_s() >= seconds

    def _service_cpu(self) -> dict[str, float]:
        """The CPU seconds of the pipeline's tf.data service processes (the probes' thread reads them)."""
        feeder = self._feeder
        return feeder.resources.services.cpu() if feeder is not None else {}

    def _broken_service(self) -> Optional[RunFailure]:
        """A tf.data service server of the pipeline's that ended: tf.data would go on without a worker, or
        wait for ever without any. Also refreshes the service's figures."""
        feeder = self._feeder
        if feeder is None or not feeder.resources.services:
            return None
        self.outcome.service = feeder.resources.services.figures()
        problem = feeder.resources.services.failure()
        return RunFailure(f"stage '{problem[0]}' failed: {problem[1]}", problem[0]) if problem else None

    def _observe(self, watch: StallWatch) -> None:
        waiting_since = self._seconds_from_start(self._waiting_since_ns)
        watch.observe(self.elapsed_s(), waiting_since, self._seconds_from_start(self._last_ready_ns))

    def _seconds_from_start(self, t_ns: int) -> Optional[float]:
        """A stamp of the stepping thread on the run's clock; None for 0 (not stamped)."""
        return (t_ns - self._start_ns) / 1e9 if t_ns else None

    def _stuck_stage(self, waited_s: float) -> Optional[str]:
        return stuck_stage(getattr(self._feeder, "iterator", None), self.spec, waited_s)

    def _loop(self) -> None:
        clock = time.perf_counter_ns
        halt = self._halt
        window = self._new_window()
        capture = self._capture  # marks each step while a tf.profiler session records; else does nothing
        step = 0
        reached, batch_size = self._target_test(), self._batch_size_of()
        while not halt.is_set() and not reached(step):
            if self._change_due(step):
                self._sync(window)  # the steps launched so far belong to the description before the change
                self._apply_changes(step)
                window = self._new_window()
                reached, batch_size = self._target_test(), self._batch_size_of()
                if halt.is_set():
                    break  # the run ended while a change was being built
            feeder, model = self._feeder, self._model
            fill = feeder.fill()  # the profiler's own time, in `between`: not the pipeline's wait
            capture.begin_step(step)
            t_request = clock()
            self._waiting_since_ns = t_request
            host_batch = feeder.fetch()
            t_fetched = clock()
            batch = feeder.to_device(host_batch) if model.reads_device_memory else host_batch
            t_ready = clock()
            self._waiting_since_ns, self._last_ready_ns = 0, t_ready
            if halt.is_set():
                break  # the run ended while this batch was coming: it is not part of it
            model.launch(batch)
            t_launched = clock()
            window.add(t_request, t_fetched, t_ready, t_launched, fill, self.config_version, batch_size(batch))
            if window.due(t_launched):
                self._sync(window)
            capture.end_step()
            step += 1
        self._sync(window)

    def _new_window(self) -> StepWindow:
        """The model's sync policy: every step (the seed's), or a window of N steps or about 50 ms."""
        steps, ns = sync_policy(self.spec.model.params)
        return StepWindow(self.records, self._start_ns, max_steps=steps, max_ns=ns)

    def _sync(self, window: StepWindow) -> None:
        """Wait for the launched steps and record them, unless the run has already ended without them."""
        if not len(window):
            return
        self._model.sync()
        t_synced = time.perf_counter_ns()
        if not self.outcome.left_in_flight:  # else its files may be written already
            window.flush(t_synced)
            self._capture.after_sync(len(self.records))
            self._publish_capture()

    def _publish_capture(self) -> None:
        """What the tf.profiler capture has found so far, for readers of the outcome on other threads."""
        self.outcome.device_busy, self.outcome.profile = self._capture.result, self._capture.profile

    def _device_capture(self) -> DeviceCapture:
        simulated = not self._model.reads_device_memory
        not_measured = ("not measured: the simulated model does no device work (its step_ms is the truth)"
                        if simulated else None)
        if self.profile_dir is not None:  # one profiler session at a time: the kept one measures the device too
            return DeviceCapture(self.device, self.spec.run["profile_steps"], self.spec.run["warmup_steps"],
                                 not_measured=not_measured, profile_dir=self.profile_dir)
        return DeviceCapture(self.device, self.spec.run["capture_steps"], not_measured=not_measured)

    def _target_test(self) -> Callable[[int], bool]:
        """`reached(step)` for the description as it is: the loop asks it every step."""
        steps, seconds = self.target()
        if steps is not None:
            return lambda step: step >= steps
        return lambda step: self.elapsed_s() >= seconds

    def _batch_size_of(self) -> Callable[[Any], int]:
        """A batch's examples, as the loop records them: the element spec's where it is static."""
        if not self._batched:
            return lambda batch: 1
        static = _static_batch_size(self._feeder.element_spec)
        return _batch_size if static is None else lambda batch: static

    # ------------------------------------------------------------ building and changing

    def _build_feeder(self, spec: PipelineSpec) -> None:
        if self._feeder is not None:
            self._feeder.close()
            self._feeder = None
        feeder = build_feeder(spec, self.device)
        self._feeder = feeder
        self.outcome.service = feeder.resources.services.figures() or self.outcome.service
        self.outcome.stages_unavailable = stage_figures_unavailable(getattr(feeder, "iterator", None), spec)
        self.capacity = feeder.capacity
        self._batched = yields_batches(spec)

    def _build_model(self, spec: PipelineSpec) -> None:
        self._model = build_model(spec.model, self.device, self._feeder.element_spec, spec.run["seed"])

    def _change_due(self, step: int) -> bool:
        return self._pending is not None or step in self.scheduled_changes  # every step: no lock taken

    def _apply_changes(self, step: int) -> None:
        new_spec = None
        if step in self.scheduled_changes:
            new_spec = apply_overrides(self.spec, self.scheduled_changes.pop(step))
        with self._pending_lock:
            if self._pending is not None:
                new_spec, self._pending = self._pending, None
        if new_spec is None:
            return
        description = describe_change(self.spec, new_spec)
        if description is None:
            return
        model_changed = _model_as_built(new_spec) != _model_as_built(self.spec)  # not how it is synced
        if _feeding_part(new_spec) != _feeding_part(self.spec):
            element_spec = self._feeder.element_spec
            self._build_feeder(new_spec)  # a model-only change keeps the feeder and its full buffer
            model_changed = model_changed or self._feeder.element_spec != element_spec  # new shapes, new weights
        if model_changed:
            self._build_model(new_spec)
        self.spec = new_spec
        self.config_version += 1
        self._publish_probe_target()
        self.outcome.changes.append(ConfigChange(step, self.elapsed_s(), self.config_version, description))

    def _publish_probe_target(self) -> None:
        self._probe_target = ProbeTarget(self._feeder, self.spec, self.config_version)

    def _close(self) -> None:
        feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.close(wait_s=IN_FLIGHT_GRACE_S if self.outcome.left_in_flight else CLOSE_WAIT_S)
            self.outcome.service = feeder.resources.services.figures() or self.outcome.service
        give_back_free_memory()  # what the pipeline's threads freed, kept by malloc, would outlive the run


def _service_warnings(spec: PipelineSpec) -> list[str]:
    return [f"stage '{stage.id}': {SERVICE_SECURITY}" for stage in spec.stages if stage.kind == "tf_data_service"]


def _failure_detail(spec: PipelineSpec, stage_id: Optional[str]) -> Optional[str]:
    """What the failed stage's kind can add about the failure (e.g. which file it could not read)."""
    if stage_id is None:
        return None
    stage = spec.stage(stage_id)
    describe = STAGE_BUILDERS.failure_detail(stage.kind)
    try:
        return describe(stage.params, spec) if describe else None
    except Exception:  # the detail must never replace the failure it explains
        return None





def _batch_size(batch) -> int:
    shape = batch[0].shape
    return int(shape[0]) if shape.rank else 1


def _static_batch_size(element_spec) -> Optional[int]:
    try:
        shape = element_spec[0].shape
    except (TypeError, KeyError, IndexError, AttributeError):
        return None
    if shape.rank == 0:
        return 1
    return shape[0] if shape.rank is not None and shape[0] is not None else None
