"""What-if on a watched script's pipeline while it trains (`watch`, issue 16 §6): when a change is
made, and making it.

Changes come from `watch --change-at STEP PATH=VALUE` or from the app (its requests reach the job
through the run folder), and wait for the training data's next step boundary once it has had STEP
steps. Each is made on the script's own thread, between two requests, so that its cost is the job's
`between`: the dataset is made again from its graph with the new value (`core.engine.graph_rewrite`),
a new iterator goes on from the old one's position, and the script's iterator object is given the
new iterator's resource, so its loop goes on with the next element without knowing. Later
iterators over the same dataset (the next epoch's) are made from the changed one.

A change Pipescope cannot make is refused in one line on stderr, kept among the run's warnings,
and the job trains on.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable

from core.engine.graph_rewrite import DataRestartNeeded, RewriteRefused, Setting, continue_from, rewritten
from core.engine.iterator_hooks import DatasetSteps
from core.engine.service import ServiceError, check_shippable, serve_elsewhere
from core.engine.outcome import ConfigChange
from core.spec.diff import describe_change
from core.spec.params import SpecError
from core.spec.kinds.stages import SERVICE_SECURITY, STAGES
from core.spec.pipeline import PipelineSpec, Stage, apply_overrides

CHANGEABLE = ("num_parallel_calls", "buffer_size", "cycle_length", "block_length")
SERVICE_PREFIX = "service."
SERVICE_WORKERS = "service.workers"  # the whole pipeline onto N local tf.data service workers
RESTART_HINT = "give --allow-data-restart to allow it"
NEVER_MADE = "was never made"  # with "refused", what a change's answer in the run's warnings says


@dataclass(frozen=True)
class ChangeRequest:
    step: int  # made at the first step boundary once the training data has had this many steps
    assignments: tuple[tuple[str, Any], ...]
    allow_data_restart: bool = False

    def text(self) -> str:
        return " ".join(f"{path}={value}" for path, value in self.assignments)


class LiveChanges:
    """The changes waiting for their step; `at_step_boundary` is the iterator hooks' callback."""

    def __init__(self, job, say: Callable[[str], None] = lambda line: sys.stderr.write(line + "\n")):
        self.job, self.say = job, say
        self._waiting: list[ChangeRequest] = []
        self._lock = threading.Lock()  # the app's requests arrive on another thread

    def add(self, request: ChangeRequest) -> None:
        with self._lock:
            self._waiting = sorted([*self._waiting, request], key=lambda waiting: waiting.step)
        self.job.hooks.at_step_boundary = self.at_step_boundary

    def say_unmade(self) -> None:
        """The script has ended: the changes still waiting were never made, and the run says so."""
        with self._lock:
            unmade, self._waiting = self._waiting, []
        for request in unmade:
            when = f"step {request.step}" if request.step else "its next step"
            line = f"change {request.text()} {NEVER_MADE}: the script ended before {when}"
            self.job.outcome.warnings.append(line)
            self.say(f"pipescope: {line}")

    def at_step_boundary(self, steps: DatasetSteps, iterator) -> bool:
        if steps is not self.job.training or not self._waiting or steps.steps_taken < self._waiting[0].step:
            return False
        with self._lock:
            due = [request for request in self._waiting if request.step <= steps.steps_taken]
            self._waiting = [request for request in self._waiting if request not in due]
        if not self._waiting:
            self.job.hooks.at_step_boundary = None
        for request in due:
            self._make(request, steps, iterator)
        return True

    def _make(self, request: ChangeRequest, steps: DatasetSteps, iterator) -> None:
        if any(path.startswith(SERVICE_PREFIX) for path, _ in request.assignments):
            self._move_onto_service(request, steps, iterator)
            return
        try:
            changed_spec, dataset = self._rewritten(request, steps)
            new_iterator = continue_from(iterator, dataset, request.allow_data_restart)
        except DataRestartNeeded as error:
            self._refuse(request, steps, f"its position cannot be carried over ({error}), so the rebuilt pipeline "
                                         f"would start its data again; {RESTART_HINT}")
            return
        except (SpecError, RewriteRefused) as error:
            self._refuse(request, steps, str(error))
            return
        _hand_over(iterator, new_iterator)
        self._record(request, steps, changed_spec, dataset)

    def _rewritten(self, request: ChangeRequest, steps: DatasetSteps) -> tuple[PipelineSpec, Any]:
        spec, settings = self.job.spec, []
        for path, value in request.assignments:
            stage_id, param = _stage_param(path)
            index = next((i for i, stage in enumerate(spec.stages) if stage.id == stage_id), None)
            if index is None:
                raise SpecError(f"{path}: no stage with id {stage_id!r} (stages: "
                                f"{', '.join(stage.id for stage in spec.stages)})")
            settings.append(Setting(len(spec.stages) - 1 - index, spec.stages[index].kind, param, value))
        changed_spec = apply_overrides(spec, list(request.assignments))  # a value out of range: refused before any work
        return changed_spec, rewritten(steps.current, settings)

    def _move_onto_service(self, request: ChangeRequest, steps: DatasetSteps, iterator) -> None:
        """`service.workers=N`: the whole pipeline onto N local tf.data service workers, which make its data
        from the start (a position cannot be handed to them)."""
        try:
            workers = _service_workers(request)
            check_shippable(steps.current)  # before anything else: no flag makes it possible
            if not request.allow_data_restart:
                raise SpecError(f"the workers would make the data from its start; {RESTART_HINT}")
            stage_id = _unused_id("service", self.job.spec)
            dataset, use = serve_elsewhere(steps.current, workers, stage_id)
        except (SpecError, ServiceError) as error:
            self._refuse(request, steps, str(error))
            return
        _hand_over(iterator, iter(dataset))
        self.job.adopt_service(use)
        self.job.outcome.warnings.append(f"stage '{stage_id}': {SERVICE_SECURITY}")
        self.say(f"pipescope: stage '{stage_id}': {SERVICE_SECURITY}")
        changed = self.job.spec.copy()
        changed.stages.append(Stage(stage_id, "tf_data_service",
                                    STAGES.get("tf_data_service", "kind").defaults() | {"workers": workers}))
        self._record(request, steps, changed, dataset)

    def _record(self, request: ChangeRequest, steps: DatasetSteps, changed_spec: PipelineSpec, dataset) -> None:
        job = self.job
        steps.current = dataset
        steps.config_version += 1
        change = ConfigChange(step=steps.steps_taken, t=round(job.elapsed_s(), 6), version=steps.config_version,
                              description=describe_change(job.spec, changed_spec))
        job.outcome.changes.append(change)
        job.replace_spec(changed_spec)
        self.say(f"pipescope: step {change.step}: {change.description}")

    def _refuse(self, request: ChangeRequest, steps: DatasetSteps, reason: str) -> None:
        line = f"change {request.text()} at step {steps.steps_taken} refused: {reason}; the job trains on"
        self.job.outcome.warnings.append(line)
        self.say(f"pipescope: {line}")


def _service_workers(request: ChangeRequest) -> int:
    if len(request.assignments) != 1 or request.assignments[0][0] != SERVICE_WORKERS:
        raise SpecError(f"{SERVICE_WORKERS}=N goes alone: the only service change is the number of workers")
    value = request.assignments[0][1]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise SpecError(f"{SERVICE_WORKERS}: must be an integer from 1 to 64, got {value!r}")
    return value


def _unused_id(wanted: str, spec: PipelineSpec) -> str:
    taken = {stage.id for stage in spec.stages}
    return next(name for name in (wanted, *(f"{wanted}_{n}" for n in range(2, 100))) if name not in taken)


def _stage_param(path: str) -> tuple[str, str]:
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "stages":
        raise SpecError(f"{path}: a watched script's stages change as stages.<id>.<param>")
    if parts[2] not in CHANGEABLE:
        raise SpecError(f"{path}: only {', '.join(CHANGEABLE)} change while the script trains")
    return parts[1], parts[2]


def _hand_over(iterator, new_iterator) -> None:
    """The script's iterator object goes on with the new iterator's resource (the same element spec),
    and keeps the new iterator alive, since the resource is its."""
    iterator._iterator_resource = new_iterator._iterator_resource
    iterator._dataset = new_iterator._dataset
    iterator._pipescope_successor = new_iterator
