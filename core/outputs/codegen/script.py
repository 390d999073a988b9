"""A pipeline description as a standalone training script: readable tf.data code that needs only the
project's requirements and imports nothing of Pipescope's.

The script makes the dataset (`make_dataset`), the model (`Model`) and the feeding (`batches`) from the
kinds' emitters, then trains: `--steps N` steps in all, the first `--warmup` of them left out of the
figures, as `run` leaves them out; it prints `step_ms_p50: …`, then `steps_per_s: …` last.
"""
from __future__ import annotations

from core.outputs.codegen.emitters import Code, StageContext
from core.outputs.codegen.feeders import FEEDER_EMITTERS
from core.outputs.codegen.models import MODEL_EMITTERS
from core.outputs.codegen.sources import SOURCE_EMITTERS
from core.outputs.codegen.stages import STAGE_EMITTERS
from core.spec.kinds.sources import SOURCES
from core.spec.kinds.stages import STAGES
from core.spec.params import SpecError
from core.spec.pipeline import Branch, PipelineSpec

INDENT = "    "
AUTO_SYNC_SECONDS = 0.05  # `sync_window: 0`, as the runner's step window: a sync about every 50 ms


def generate_script(spec: PipelineSpec, file_name: str = "") -> str:
    """The whole script, as text; `file_name` is what its usage line calls it (default: the pipeline's name)."""
    _refuse_a_watched_scripts_own_code(spec)
    feeding = FEEDER_EMITTERS.emitter_for(spec.feeder.kind, "feeder.kind")(spec.feeder.params)
    options = ("options = tf.data.Options()", *feeding.options,
               "ds = ds.with_options(options)  # set on the source, they hold for every stage after it")
    pipeline = _chain(spec.source, spec.stages, "SEED", feeding.serial, after_source=options)
    model = MODEL_EMITTERS.emitter_for(spec.model.kind, "model.kind")(spec.model.params)
    everything = pipeline + model + feeding.batches
    head = f"{_docstring(spec, file_name or spec.name + '.py')}\n\n{_imports(everything.imports)}"
    definitions = [f"SEED = {spec.run['seed']}", *_unique(everything.helpers),
                   _make_dataset(pipeline), _main(spec),
                   "\n".join(['if __name__ == "__main__":', f"{INDENT}main()",
                              *(f"{INDENT}{line}" for line in _unique(everything.endings))])]
    return "\n\n\n".join([head.rstrip("\n"), *(part.rstrip("\n") for part in definitions)]) + "\n"


def _refuse_a_watched_scripts_own_code(spec: PipelineSpec) -> None:
    for index, stage in enumerate(spec.stages):
        if stage.origin and stage.origin.get("function"):
            raise SpecError(f"stages[{index}]: the function {stage.origin['function']} is a watched script's own "
                            "code: `codegen --patch RUN_DIR` hands tuned values back to the script instead", stage.id)


def _chain(source, stages, seed: str, serial: bool, after_source: tuple[str, ...] = ()) -> Code:
    """A source's and its stages' code, `after_source` between them; a side branch becomes a function of its
    own (`make_<id>_branch`), seeded one more than the pipeline it joins, as the engine seeds it."""
    def emit_branch(branch: Branch, stage_id: str) -> tuple[str, Code]:
        name = f"make_{_identifier(stage_id)}_branch"
        inner = _chain(branch.source, branch.stages, f"{seed} + 1", serial)
        body = "\n".join(INDENT + line for line in (*inner.lines, "return ds"))
        definition = f'def {name}():\n{INDENT}"""The pipeline stage `{stage_id}` combines with."""\n{body}\n'
        return name, Code(helpers=(*inner.helpers, definition), imports=inner.imports, endings=inner.endings)

    code = SOURCE_EMITTERS.emitter_for(source.kind, "source.kind")(source.params, seed)
    code = Code((f"# source: {SOURCES.get(source.kind, 'source.kind').label_for(source.params)}", *code.lines,
                 *after_source), code.helpers, code.imports)
    for index, stage in enumerate(stages):
        emit = STAGE_EMITTERS.emitter_for(stage.kind, f"stages[{index}].kind")
        label = STAGES.get(stage.kind, f"stages[{index}].kind").label_for(stage.params)
        stage_code = emit(stage.params, StageContext(stage.id, seed, serial, emit_branch))
        heading = f"# {label}" if label.split(" ")[0] == stage.id else f"# {stage.id}: {label}"
        code = code + Code((heading,)) + stage_code
    return code


def _identifier(text: str) -> str:
    cleaned = "".join(char if char.isalnum() or char == "_" else "_" for char in text)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"stage_{cleaned}"


def _unique(helpers: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(helpers))


def _docstring(spec: PipelineSpec, file_name: str) -> str:
    about = f"\n\n{spec.description}" if spec.description else ""
    return (f'"""{spec.name}: the pipeline as tf.data code, written by Pipescope (`main.py codegen`).{about}\n\n'
            f"    python {file_name} [--steps N] [--warmup W] [--seconds S]\n\n"
            "Trains for N steps (the first W left out of the figures), or for S seconds; prints the median step's\n"
            'time (`step_ms_p50: …`), then `steps_per_s: …` last.\n"""')


def _imports(imports: tuple[str, ...]) -> str:
    standard = sorted({line for line in imports if line != "import numpy as np" and line != "import cv2"}
                      | {"import argparse", "import statistics", "import time"})
    third_party = [line for line in ("import cv2", "import numpy as np") if line in imports]
    return "\n".join(standard) + "\n\n" + "\n".join([*third_party, "import tensorflow as tf"]) + "\n"


def _make_dataset(pipeline: Code) -> str:
    body = "\n".join(INDENT + line for line in (*pipeline.lines, "return ds"))
    return f'def make_dataset():\n{INDENT}"""The input pipeline, source first."""\n{body}\n'


def _main(spec: PipelineSpec) -> str:
    steps, warmup, seconds = spec.run["steps"], spec.run["warmup_steps"], spec.run["seconds"]
    setup, sync = _sync_lines(spec.model.params)
    ready = "".join(f"\n{INDENT}{line}" for line in setup)
    loop = "\n".join(f"{INDENT * 2}{line}" for line in sync)
    return f'''\
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\\n")[0])
    parser.add_argument("--steps", type=int, default={steps}, help="training steps in all, warm-up included")
    parser.add_argument("--warmup", type=int, default={warmup}, help="first steps left out of the figures")
    parser.add_argument("--seconds", type=float, default={seconds!r}, help="train this long after the warm-up")
    args = parser.parse_args()
    if not args.seconds and args.steps <= args.warmup:
        parser.error("--steps must be more than --warmup")

    dataset = make_dataset()
    model = Model(dataset.element_spec)
    feed = batches(dataset)
    start = previous = time.perf_counter() if args.warmup == 0 else None
    step, step_ms, launched = 0, [], None{ready}
    for step, (x, y) in enumerate(feed, start=1):
{loop}
        now = time.perf_counter()
        if step == args.warmup:
            model.finish(launched)  # the clock starts with no step in flight
            start = previous = time.perf_counter()
        elif start is not None:
            step_ms.append((now - previous) * 1000.0)
            previous = now
            if (now - start >= args.seconds) if args.seconds else step >= args.steps:
                break
    if launched is not None:
        model.finish(launched)
    took = time.perf_counter() - (start or 0.0)
    feed.close()
    if not step_ms:
        raise SystemExit(f"error: the dataset ended after {{step}} steps, within the warm-up")
    print(f"step_ms_p50: {{statistics.median(step_ms):.4f}}")
    print(f"steps_per_s: {{len(step_ms) / took:.2f}}")
'''


def _sync_lines(model_params: dict) -> tuple[list[str], list[str]]:
    """How the loop waits for the model, as the runner does (`core.engine.step_window`): after every step,
    or every so many steps, or about every 50 ms. (lines before the loop, the loop's lines)."""
    launch = "launched = model.train_step(x, y)"
    if model_params.get("sync", "every_step") == "every_step":
        return [], [launch, "model.finish(launched)  # waits for the step to end"]
    window = model_params.get("sync_window")
    if window:
        return [], [launch, f"if step % {window} == 0:  # steps run ahead; every {window}th waits for them",
                    f"{INDENT}model.finish(launched)"]
    return ["synced_at = time.perf_counter()"], [
        launch, f"if time.perf_counter() - synced_at >= {AUTO_SYNC_SECONDS}:  # steps run ahead; "
                f"about every {AUTO_SYNC_SECONDS * 1000:.0f} ms, wait for them",
        f"{INDENT}model.finish(launched)", f"{INDENT}synced_at = time.perf_counter()"]
