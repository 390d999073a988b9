"""`codegen`: a pipeline as a standalone tf.data training script, or, with `--patch RUN_DIR`, a watched
job's tuned values as a unified diff of the user's own script."""
from __future__ import annotations

import sys
from pathlib import Path

from cli.common import EXIT_FAILED, EXIT_OK, add_spec_arguments, resolve_spec
from core.outputs.codegen.patch import patch_of_watched_run
from core.outputs.codegen.script import generate_script
from core.outputs.run_folder import read_facts
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, spec_from_dict


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "codegen", help="the pipeline as a standalone tf.data training script; --patch RUN_DIR: a watched "
                        "job's tuned values as a diff of its script")
    add_spec_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout")
    parser.add_argument("--patch", metavar="RUN_DIR", help="a folder `watch` wrote: diff the script it watched")
    parser.set_defaults(handler=codegen_command)


def codegen_command(args) -> int:
    if args.patch:
        if args.spec or args.preset or args.overrides:
            raise SpecError("--patch: give the watched run's folder alone, with no SPEC, --preset or --set")
        return _patch(Path(args.patch), args.output)
    spec = _spec_of_a_run(Path(args.spec)) if args.spec and Path(args.spec).is_dir() else resolve_spec(args)
    text = generate_script(spec, Path(args.output).name if args.output else "")
    if not args.output:
        sys.stdout.write(text)
        return EXIT_OK
    _write(Path(args.output), text)
    sys.stderr.write(f"wrote {args.output}: python {args.output} --steps {spec.run['steps']}\n")
    return EXIT_OK


def _spec_of_a_run(folder: Path) -> PipelineSpec:
    """The description a run folder's run ended with; a watched job's is the user's code, which --patch serves."""
    facts = read_facts(folder)
    if (facts.get("extra") or {}).get("source") == "watch":
        raise SpecError(f"{folder}: a watched job's pipeline is the script's own code; "
                        f"`codegen --patch {folder}` hands its tuned values back to the script")
    return spec_from_dict(facts["spec"], f"{folder}/run.json spec")


def _patch(folder: Path, output: str | None) -> int:
    try:
        patch = patch_of_watched_run(folder, relative_to=Path.cwd())
    except SpecError as error:
        raise SpecError(f"--patch: {error}") from None
    if not patch.placed and not patch.unplaced:
        sys.stderr.write(f"codegen: no change was made while {patch.script or 'the script'} trained: "
                         "nothing to hand back\n")
        return EXIT_OK
    for line in patch.unplaced:
        sys.stderr.write(f"codegen: not placed: {line}\n")
    if not patch.diff:
        return EXIT_FAILED
    if output:
        _write(Path(output), patch.diff)
    else:
        sys.stdout.write(patch.diff)
    sys.stderr.write(f"codegen: {len(patch.placed)} value(s) placed: {'; '.join(patch.placed)}"
                     f"{f' (wrote {output}: apply it with `patch -p1 < {output}`)' if output else ''}\n")
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SpecError(f"--output: cannot write {path} ({error.strerror})") from None
