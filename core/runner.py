"""Run: drives training steps and timestamps each one truthfully.

Per step, on one monotonic clock: `t_request` (the model asks for its next
batch), `t_ready` (the batch is on the device), `t_done` (the step's result is
read back). The fill level is sampled just before `t_request`, so reading it
is not counted as waiting. A changed description is applied at a step
boundary without stopping; `request_stop()` from any thread ends the run
promptly. `run()` blocks: call it on a worker thread.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from core.build import failing_stage, summarize_error
from core.feeders import EndOfData, build_feeder
from core.params import SpecError
from core.records import StepRecords
from core.spec import PipelineSpec, apply_overrides, describe_change


@dataclass
class ConfigChange:
    step: int
    t: float
    version: int
    description: str


class RunFailure(Exception):
    """The pipeline or the model failed while running; names the stage when it can."""

    def __init__(self, message: str, stage_id: Optional[str] = None):
        super().__init__(message)
        self.stage_id = stage_id


@dataclass
class RunOutcome:
    status: str = "pending"  # pending | building | running | finished | stopped | exhausted | failed
    error: Optional[BaseException] = None
    changes: list[ConfigChange] = field(default_factory=list)


def _feeding_part(spec: PipelineSpec) -> dict:
    data = spec.to_dict()
    return {key: data[key] for key in ("source", "stages", "feeder")} | {"seed": spec.run["seed"]}


class Run:
    def __init__(self, spec: PipelineSpec, scheduled_changes: Optional[dict[int, list]] = None):
        self.spec = spec
        self.scheduled_changes = dict(scheduled_changes or {})
        steps = None if spec.run["seconds"] else spec.run["steps"]
        self.records = StepRecords(capacity=(steps or 20_000) + 1)
        self.outcome = RunOutcome()
        self.device: Optional[str] = None
        self.capacity: Optional[int] = 0
        self.config_version = 0
        self._stop = threading.Event()
        self._pending_lock = threading.Lock()
        self._pending: Optional[PipelineSpec] = None
        self._feeder = None
        self._model = None
        self._start_ns = 0
        self._batched = False

    # ------------------------------------------------------------ control (any thread)

    def request_stop(self) -> None:
        self._stop.set()
        feeder = self._feeder
        if feeder is not None:
            feeder.interrupt()

    def request_change(self, new_spec: PipelineSpec) -> None:
        """Apply `new_spec` at the next step boundary (the app's what-if edits)."""
        with self._pending_lock:
            self._pending = new_spec

    @property
    def feeder(self):
        """The feeder now in use (it changes when a change rebuilds the pipeline)."""
        return self._feeder

    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self._start_ns) / 1e9 if self._start_ns else 0.0

    def target(self) -> tuple[Optional[int], Optional[float]]:
        """(steps, seconds): exactly one is set."""
        seconds = self.spec.run["seconds"]
        return (None, seconds) if seconds else (self.spec.run["steps"], None)

    # ------------------------------------------------------------ the loop (worker thread)

    def run(self) -> RunOutcome:
        from core.tf_runtime import load_tensorflow, model_device

        try:
            tf = load_tensorflow()
        except Exception as error:  # a broken install: report it like any failed run
            self._fail(RunFailure(f"cannot load TensorFlow: {type(error).__name__}: {error}"))
            return self.outcome
        try:
            self.outcome.status = "building"
            self.device = model_device()
            self._build_feeder(self.spec)
            self._build_model(self.spec)
            self.outcome.status = "running"
            self._start_ns = time.perf_counter_ns()
            self._loop()
            self.outcome.status = "stopped" if self._stop.is_set() else "finished"
        except EndOfData:  # a stop closes the queue, which also ends the data
            self.outcome.status = "stopped" if self._stop.is_set() else "exhausted"
        except SpecError as error:
            self._fail(error)
        except RunFailure as error:
            self._fail(error)
        except tf.errors.OpError as error:
            if self._stop.is_set():
                self.outcome.status = "stopped"
            else:
                self._fail(self._explain(f"{type(error).__name__}: {error.message}"))
        except Exception as error:  # a failure in the pipeline's Python code (numpy_function, generator)
            self._fail(self._explain(f"{type(error).__name__}: {error}"))
        finally:
            self._close()
        return self.outcome

    def _fail(self, error: BaseException) -> None:
        self.outcome.status = "failed"
        self.outcome.error = error

    def _explain(self, message: str) -> RunFailure:
        stage_id = failing_stage(message, self.spec)
        where = f"stage '{stage_id}'" if stage_id else "the pipeline or model"
        return RunFailure(f"{where} failed: {summarize_error(message)}", stage_id)

    def _loop(self) -> None:
        clock = time.perf_counter_ns
        start = self._start_ns
        records = self.records
        step = 0
        while not self._stop.is_set() and not self._reached_target(step):
            self._apply_changes(step)
            feeder, model = self._feeder, self._model
            fill = feeder.fill()
            t_request = clock()
            batch = feeder.next_batch()
            t_ready = clock()
            model.train_step(batch)
            t_done = clock()
            records.append((t_request - start) / 1e9, (t_ready - start) / 1e9, (t_done - start) / 1e9,
                           fill, self.config_version, _batch_size(batch) if self._batched else 1)
            step += 1

    def _reached_target(self, step: int) -> bool:
        steps, seconds = self.target()
        if steps is not None:
            return step >= steps
        return self.elapsed_s() >= seconds

    # ------------------------------------------------------------ building and changing

    def _build_feeder(self, spec: PipelineSpec) -> None:
        if self._feeder is not None:
            self._feeder.close()
            self._feeder = None
        feeder = build_feeder(spec, self.device)
        self._feeder = feeder
        self.capacity = feeder.capacity
        self._batched = _yields_batches(spec)

    def _build_model(self, spec: PipelineSpec) -> None:
        from core.models import build_model

        self._model = build_model(spec.model, self.device, self._feeder.element_spec, spec.run["seed"])

    def _apply_changes(self, step: int) -> None:
        if self._pending is None and step not in self.scheduled_changes:
            return  # the common case, every step: no lock taken
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
        model_changed = new_spec.model != self.spec.model or new_spec.run["seed"] != self.spec.run["seed"]
        if _feeding_part(new_spec) != _feeding_part(self.spec):
            element_spec = self._feeder.element_spec
            self._build_feeder(new_spec)  # a model-only change keeps the feeder and its full buffer
            model_changed = model_changed or self._feeder.element_spec != element_spec  # new shapes, new weights
        if model_changed:
            self._build_model(new_spec)
        self.spec = new_spec
        self.config_version += 1
        self.outcome.changes.append(ConfigChange(step, self.elapsed_s(), self.config_version, description))

    def _close(self) -> None:
        if self._feeder is not None:
            self._feeder.close()
            self._feeder = None


def _yields_batches(spec: PipelineSpec) -> bool:
    """Whether elements reaching the model are batches (their first axis counts examples)."""
    batched = False
    for stage in spec.stages:
        if stage.kind in ("batch", "padded_batch"):
            batched = True
        elif stage.kind == "flat_map" and stage.params["fn"] == "unbatch":
            batched = False
    return batched


def _batch_size(batch) -> int:
    shape = batch[0].shape
    return int(shape[0]) if shape.rank else 1
