"""Turns a pipeline description into a tf.data.Dataset.

Failures in the description found while building (shapes that cannot be
zipped, an empty folder) raise SpecError; the stage ids become TensorFlow name
scopes so that errors raised while running can be traced back to a stage.
"""
from __future__ import annotations

import re
from contextlib import ExitStack
from typing import Callable, Optional

from core.engine.sources import build_source
from core.engine.stages import STAGE_BUILDERS, BuildContext
from core.engine.tf_runtime import tensorflow
from core.spec.params import SpecError
from core.spec.pipeline import Branch, PipelineSpec, Stage


def build_branch_dataset(branch: Branch, seed: int, serial: bool, resources: Optional[ExitStack] = None):
    """A source and its stages as tf.data (a zip's second input; a service worker's part of the pipeline)."""
    return _apply_stages(build_source(branch.source, seed), branch, seed, serial, resources=resources)


def _apply_stages(ds, pipeline: Branch, seed: int, serial: bool, probe: Optional[Callable] = None,
                  probe_index: Optional[int] = None, resources: Optional[ExitStack] = None):
    def build_branch(branch: Branch):
        return build_branch_dataset(branch, seed + 1, serial, resources)

    for index, stage in enumerate(pipeline.stages):
        if probe is not None and index == probe_index:
            ds = probe(ds)
        build = STAGE_BUILDERS.build_for(stage.kind, f"stages[{index}].kind")
        if stage.origin and stage.origin.get("function"):
            raise SpecError(f"stages[{index}]: the function {stage.origin['function']} is a watched script's "
                            "own code: Pipescope times it, and cannot build it", stage.id)
        ctx = BuildContext(stage_id=stage.id, seed=seed, serial=serial, build_branch=build_branch,
                           resources=resources, upstream=Branch(pipeline.source, pipeline.stages[:index]))
        ds = build(ds, stage.params, ctx)
    if probe is not None and probe_index == len(pipeline.stages):
        ds = probe(ds)
    return ds


def dataset_options(serial: bool, autotune: bool = True, inject_prefetch: bool = True):
    """tf.data options for a strategy. Serial means no hidden overlap at all."""
    tf = tensorflow()

    options = tf.data.Options()
    # Serial pipelines set nothing to AUTOTUNE, so autotuning has nothing to change there; it stays
    # on because it keeps tf.data's live model, which names the stage a stalled run is stuck in.
    options.autotune.enabled = autotune
    optimization = options.experimental_optimization
    optimization.inject_prefetch = inject_prefetch and not serial
    if serial:
        optimization.map_parallelization = False
        optimization.parallel_batch = False
    return options


def build_dataset(spec: PipelineSpec, *, serial: bool, autotune: bool = True, inject_prefetch: bool = True,
                  probe: Optional[Callable] = None, probe_index: Optional[int] = None,
                  resources: Optional[ExitStack] = None):
    """The description as a tf.data pipeline; `probe` is inserted before stage `probe_index`; what the
    stages hold beyond the dataset goes into `resources` (`BuildContext.resources`)."""
    tf = tensorflow()

    seed = spec.run["seed"]
    # Options set on the source hold for everything built on it; set after the stages they
    # would follow prefetch_to_device, which must stay the last transformation.
    options = dataset_options(serial, autotune, inject_prefetch)
    try:
        source = build_source(spec.source, seed).with_options(options)
        ds = _apply_stages(source, Branch(spec.source, spec.stages), seed, serial, probe, probe_index, resources)
    except (TypeError, ValueError) as error:
        if isinstance(error, SpecError):
            raise
        raise SpecError(f"stages: cannot build the pipeline ({_first_line(error)})") from None
    except tf.errors.OpError as error:
        raise SpecError(f"stages: cannot build the pipeline ({_first_line(error.message)})") from None
    return ds


def _first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def failing_stage(message: str, spec: PipelineSpec) -> Optional[str]:
    """The id of the stage a TensorFlow error message points at (its name scope), if any."""
    for stage in spec.stages:
        if re.search(rf"(^|[^\w-]){re.escape(stage.id)}/", message) or f"stage '{stage.id}'" in message:
            return stage.id
    return None


_TF_NOISE = (
    re.compile(r"\{\{function_node [^}]*\}\}\s*"),
    re.compile(r"Error in user-defined function passed to \S+ transformation with iterator: \S+:\s*"),
    re.compile(r"\s*\[\[\{\{node [^}]*\}\}\]\]"),
    re.compile(r"\s*\[Op:\w+\]( name: \S*)?"),
)


def summarize_error(message: str) -> str:
    """The informative line of a TensorFlow error, without its node and iterator plumbing."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip() and "Traceback" not in line]
    text = next((line for line in lines if re.search(r"\w+Error: ", line)), lines[0] if lines else "unknown error")
    for pattern in _TF_NOISE:
        text = pattern.sub("", text)
    text = re.sub(r"^\w+Error: (?=\w+Error: )", "", text.strip())  # TF's wrapper around a Python error
    return text or "unknown error"
