"""A watched script's job as a run (`watch`, issue 16), inside the script's own process.

It is read as any run is (`core.engine.run_protocol.RunView`): the record stream writes its
folder from it. Its steps are those of the training dataset: the one the script requested most.
That is settled once a dataset has LEADER_AFTER_STEPS steps, so the files never mix two datasets;
if another dataset overtakes it by the end, `end()` says so and the files are
written again from it. The description is the training dataset's pipeline, imported on its first
request (`core.engine.dataset_import`), with each stage's file and line.
"""
from __future__ import annotations

import os
import time
import weakref
from typing import Callable, Optional

from core.engine.cpu_meter import CpuMeter
from core.engine.dataset_import import import_pipeline, record_origins
from core.engine.graph_rewrite import position_carried_over
from core.engine.fit_hooks import CAPTURE_EVERY_S, CAPTURE_STEPS, CapturedSteps, wrap_fit
from core.engine.fit_hooks import WAIT_MEASURED as FIT_WAIT_MEASURED
from core.engine.fit_hooks import WAIT_METERED as FIT_WAIT_METERED
from core.engine.function_hooks import WAIT_MEASURED as FUNCTION_WAIT_MEASURED
from core.engine.function_hooks import WAIT_METERED as FUNCTION_WAIT_METERED
from core.engine.function_hooks import time_calls_with_iterators
from core.engine.iterator_hooks import DatasetSteps, IteratorHooks, batch_size_of
from core.engine.live_changes import LiveChanges
from core.engine.outcome import RunOutcome, RunStatus
from core.engine.probes import ProbeSampler, ProbeTarget
from core.engine.service import ServiceUses
from core.spec.kinds import FROM_SCRIPT
from core.spec.kinds.from_script import script_placeholder
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, spec_from_dict, where_made
from core.spec.records import StageRecords, StepRecords

LEADER_AFTER_STEPS = 2
_PER_DEVICE = "ReincarnatedPerDevice"  # the dataset tf.distribute iterates on each device, made from the script's
NOT_ON_THE_HOST = ("the script made tf.data datasets but took no element from them on the host: they are iterated "
                   "inside a tf.function (or by Keras fit), where no request can be timed")
WAIT_MEASURED = ("every request to the script's eager tf.data iterator, timed on the host: a step runs from one "
                 "request to the next for the same dataset; its wait is the request")


class WatchedJob:
    accepts_changes = True  # through `changes`, at the training data's step boundaries
    change_pending = False
    closed = True
    capacity: Optional[int] = None
    started_at: Optional[str] = None

    def __init__(self, script: str, argv: list[str], seconds: Optional[float] = None):
        self.name = os.path.splitext(os.path.basename(script))[0] or "script"
        self.seconds = seconds
        self.start_ns = time.perf_counter_ns()
        self.spec = _placeholder_spec(self.name)
        self.stage_records = StageRecords()
        self.outcome = RunOutcome(status=RunStatus.RUNNING)
        self.outcome.device_busy = {"device_busy_ms": None,
                                    "device_busy": "not measured: the script's own steps are not captured yet"}
        self.device: Optional[str] = None
        self.device_details: dict = {}
        self.extra = {"source": "watch", "script": os.path.abspath(script), "argv": list(argv),
                      "wait_measured": WAIT_MEASURED}
        self.hooks = IteratorHooks(self.start_ns, self._on_new_dataset)
        self._pipelines: dict[int, PipelineSpec] = {}  # dataset number → its imported description
        self._training: Optional[DatasetSteps] = None
        self._no_steps = StepRecords(capacity=16)
        self._undo_origins = self._undo_fit = self._undo_distribution = self._undo_calls = None
        self._distributed = None  # the dataset the script gave tf.distribute, whose per-device copies it iterates
        self.datasets_made = 0
        self._probes: Optional[ProbeSampler] = None
        self._cpu_meter: Optional[CpuMeter] = None
        self.changes = LiveChanges(self)
        self._services = ServiceUses()  # servers a change moved the pipeline onto: they end with the process

    # ------------------------------------------------------------ installing (once TensorFlow is imported)

    def install(self) -> None:
        from tensorflow.python.data.ops import dataset_ops
        self._undo_origins = record_origins(dataset_ops.DatasetV2, self._on_dataset_made)
        self._undo_distribution = _note_distribution(self._on_distributed)
        self.hooks.install()
        self._undo_calls = time_calls_with_iterators(self.hooks, self._steps_in_a_function, self._at_fit_step_boundary)
        # Made before the script's first pipeline, so that TensorFlow's own threads are told from tf.data's.
        self._cpu_meter = CpuMeter(main_thread="model", other_processes=self._services.cpu)
        self._cpu_meter.start(self.start_ns)
        self._probes = ProbeSampler(self.stage_records, self._probe_target, self.start_ns, cpu_meter=self._cpu_meter)
        self._probes.start()

    def install_fit(self) -> None:
        """Once Keras is imported: time `Model.fit` too."""
        import keras
        self._undo_fit = wrap_fit(keras.Model, self._on_fit, self._on_fit_end, self._at_fit_step_boundary)

    @property
    def cpu_split(self) -> Optional[dict]:
        return self._cpu_meter.latest if self._cpu_meter is not None else None

    def uninstall(self) -> None:
        if self._probes is not None:
            self._probes.stop()
        self.hooks.uninstall()
        for undo in (self._undo_calls, self._undo_origins, self._undo_fit, self._undo_distribution):
            if undo:
                undo()

    # ------------------------------------------------------------ read as a run

    @property
    def records(self) -> StepRecords:
        training = self._training_so_far()
        return training.records if training else self._no_steps

    @property
    def training(self) -> Optional[DatasetSteps]:
        """The training data's steps, once settled."""
        return self._training_so_far()

    def _note_position_carried_over(self, steps: DatasetSteps) -> None:
        try:
            self.extra["position_carried_over"] = position_carried_over(steps.dataset)
        except Exception:  # not a dataset Pipescope can serialize (fit given arrays): no change can be made
            self.extra["position_carried_over"] = False

    def replace_spec(self, spec: PipelineSpec) -> None:
        """The training pipeline as a change left it."""
        self.spec = self._pipelines[self._training.number] = spec
        self.extra["pipeline"] = spec.to_dict()

    def adopt_service(self, use) -> None:
        """Servers a change moved the training pipeline onto: the job's until it ends."""
        self._services.append(use)
        use.service.keep_to_exit()  # the script's iterators are released as its process ends
        self.outcome.service = use.figures()

    def target(self) -> tuple[Optional[int], Optional[float]]:
        return None, self.seconds

    def elapsed_s(self) -> float:
        return (time.perf_counter_ns() - self.start_ns) / 1e9

    # ------------------------------------------------------------ the end

    def end(self, status: RunStatus, error: Optional[BaseException] = None) -> bool:
        """The script has ended; True when the training dataset turned out to be another than the one
        streamed, so that the files must be written again whole."""
        self.outcome.error = error
        self.outcome.status = status
        self.changes.say_unmade()
        # As they are now: the servers go with the script's process. Closing them here, before the script's
        # iterators are released, would make TensorFlow log each release that failed.
        self.outcome.service = self._services.figures() or self.outcome.service
        changed = self._settle_training()
        self.extra["datasets"] = self.datasets_seen()
        if isinstance(self._training, CapturedSteps):
            self.extra["wait_captures"] = self._training.captures
            if self._training.wait_note:
                self.extra["wait_not_measured"] = self._training.wait_note
        if self.datasets_made and not self.hooks.datasets:
            self.extra["not_measured"] = NOT_ON_THE_HOST
        return changed

    def _settle_training(self) -> bool:
        most = max(self.hooks.datasets, key=lambda steps: steps.requests, default=None)
        if most is None or most is self._training:
            return False
        changed = self._training is not None
        self._make_training(most)
        return changed

    def datasets_seen(self) -> list[dict]:
        return [{"dataset": steps.number, "requests": steps.requests, "steps": steps.steps_taken,
                 "training": steps is self._training, "pipeline": self._pipelines[steps.number].name,
                 "made_at": _made_at(self._pipelines[steps.number])}
                for steps in self.hooks.datasets]

    # ------------------------------------------------------------ on the script's thread

    def _on_dataset_made(self) -> None:
        self.datasets_made += 1

    def _on_distributed(self, strategy, dataset) -> None:
        if hasattr(dataset, "element_spec"):  # not distribute_datasets_from_function's function
            self._distributed = dataset
        replicas = getattr(strategy, "num_replicas_in_sync", "?")
        self.extra["distributed"] = (f"the script's data goes through tf.distribute ({type(strategy).__name__}, "
                                     f"{replicas} replica(s)): Pipescope times the host's requests to its iterator "
                                     "as one loop's; what each replica's device waits for is not seen")

    def _on_fit(self, dataset) -> CapturedSteps:
        steps = self.hooks.steps_for_dataset(dataset, CapturedSteps)
        if steps.requests == 0:  # fit never sees a batch on the host: its size is the dataset's
            steps.batch_size = batch_size_of(getattr(dataset, "element_spec", None)) or steps.declared_batch_size
        self.hooks.fitting = steps
        return steps

    def _steps_in_a_function(self, iterator) -> Optional[CapturedSteps]:
        dataset = getattr(iterator, "_pipescope_dataset", None)
        if dataset is None:
            return None
        steps = self.hooks.steps_for_dataset(dataset, CapturedSteps, timed_by="function")
        if not isinstance(steps, CapturedSteps):  # its requests were timed eagerly before: that way goes on
            return None
        if steps.requests == 0:
            steps.batch_size = steps.declared_batch_size
        steps.iterator_ref = steps.iterator_ref or weakref.ref(iterator)
        return steps

    def _on_fit_end(self) -> None:
        self.hooks.fitting = None

    def _at_fit_step_boundary(self, steps: CapturedSteps) -> None:
        self.hooks.raise_if_interrupted()
        boundary, iterator = self.hooks.at_step_boundary, steps.iterator
        if boundary is not None and iterator is not None:
            boundary(steps, iterator)

    def _on_new_dataset(self, steps: DatasetSteps) -> None:
        if self.device is None:
            from core.engine.tf_runtime import device_details, model_device
            self.device = model_device()
            self.device_details = device_details(self.device)
        name = self.name if not self.hooks.datasets else f"{self.name} (dataset {steps.number})"
        pipeline = _imported(steps.dataset, name)
        if self._distributed is not None and pipeline.source.params.get("op", "").startswith(_PER_DEVICE):
            pipeline = _imported(self._distributed, name)  # tf.distribute's per-device copy: show the script's
        self._pipelines[steps.number] = pipeline
        steps.declared_batch_size = _declared_batch_size(self._pipelines[steps.number])

    def _probe_target(self) -> Optional[ProbeTarget]:
        """The training dataset's latest iterator, for tf.data's live figures of its stages."""
        training = self._training_so_far()
        return None if training is None else ProbeTarget(_IteratorOf(training), self.spec, training.config_version)

    def _training_so_far(self) -> Optional[DatasetSteps]:
        if self._training is None:
            ready = [steps for steps in self.hooks.datasets if steps.steps_taken >= LEADER_AFTER_STEPS]
            if ready:
                self._make_training(max(ready, key=lambda steps: steps.requests))
        return self._training

    def _make_training(self, steps: DatasetSteps) -> None:
        self._training = steps
        self.spec = self._pipelines[steps.number]
        self.extra["pipeline"] = self.spec.to_dict()
        self._note_position_carried_over(steps)
        if isinstance(steps, CapturedSteps):
            metered, captured = ((FIT_WAIT_METERED, FIT_WAIT_MEASURED) if steps.timed_by == "fit" else
                                 (FUNCTION_WAIT_METERED, FUNCTION_WAIT_MEASURED))
            said = metered if steps.wait_meter is not None else captured
            self.extra["wait_measured"] = said.format(steps=CAPTURE_STEPS, every=CAPTURE_EVERY_S)


def _note_distribution(on_distributed) -> Callable[[], None]:
    """Tell `on_distributed(strategy, dataset or function)` when the script hands its data to tf.distribute;
    returns the undo."""
    from tensorflow.python.distribute import distribute_lib
    base = distribute_lib.StrategyBase
    originals = {name: base.__dict__[name] for name in ("experimental_distribute_dataset",
                                                         "distribute_datasets_from_function")}

    def noting(original):
        def distribute(strategy, *args, **kwargs):
            on_distributed(strategy, args[0] if args else None)
            return original(strategy, *args, **kwargs)
        return distribute

    for name, original in originals.items():
        setattr(base, name, noting(original))
    return lambda: [setattr(base, name, original) for name, original in originals.items()]


class _IteratorOf:
    """A dataset's latest iterator, as the probes read a feeder's: the script's loop has no buffer of its own."""

    def __init__(self, steps: DatasetSteps):
        self.iterator = steps.iterator

    def buffer_fill(self) -> None:
        return None


def _declared_batch_size(spec: PipelineSpec) -> int:
    """The batch size of the pipeline's last batching stage (a batch whose last may be smaller has no
    static size), else 1."""
    batches = [stage for stage in spec.stages if "batch_size" in stage.params]
    return int(batches[-1].params["batch_size"]) if batches else 1


def _imported(dataset, name: str) -> PipelineSpec:
    """The dataset's description; one opaque stage where a value could not be read or checked."""
    try:
        return spec_from_dict(import_pipeline(dataset, name))
    except (SpecError, AttributeError, TypeError, ValueError) as error:
        return spec_from_dict(script_placeholder(name) | {"source": {"kind": FROM_SCRIPT,
                                                                     "op": f"not imported: {error}"[:200]}})


def _placeholder_spec(name: str) -> PipelineSpec:
    return spec_from_dict(script_placeholder(name))


def _made_at(spec: PipelineSpec) -> Optional[str]:
    """file:line of the pipeline's last stage: where the script finished making the dataset."""
    for stage in reversed(spec.stages):
        if stage.origin and stage.origin.get("file"):
            return where_made({"file": stage.origin["file"], "line": stage.origin.get("line")})
    return None
