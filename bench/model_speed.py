"""A job under Pipescope against the same job without it: `run --preset P` and a script of the same job,
fresh processes taking turns on the machine (bench/turns.py), same steps.

- `--job seed`: `seed_tf_data` against `bench/idiomatic_seed.py` (the seed's network, written by hand);
- `--job images`: `images_tf` against `bench/idiomatic_images.py` (the JPEG pipeline, small CNN);
- `--generated P,P…`: each preset against the script `codegen` writes for it (issue 17: the same
  program with no instrumentation), which says what the tool itself costs a job; `--and-generated`
  adds the generated script of `--job`'s preset to its rounds (one run of the preset serves both).

The profiler's verdict depends on the job training at its true speed: a model
slower than the user's code inflates compute and hides input waits. Target: the
preset at ≥ 0.95 of the script's speed, as the ratio of their median
steps (the script's step p50 over the preset's), the median over the rounds.
In a round the processes run a `--slice` turn each in rotation, the others stopped: run one after
the other, a few seconds each, two jobs on this shared VM read ±20 % apart from its moods alone
(6 rounds of seed_tf_data against its script: 0.93–1.29). A median step is what the job trains at,
and it is blind to the one step of each turn that spans a pause, and to Pipescope's one short
tf.profiler capture early in a run (run.capture_steps: ~0.1 s). Whole-run steps/s would count the pauses.

    python bench/model_speed.py [--job seed|images [--and-generated] | --generated P,P…] [--steps 600]
                                [--rounds 3] [--slice 0.5] [--rows FILE]
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import add_rows_argument, row, write_rows
from turns import take_turns

ROOT = Path(__file__).resolve().parent.parent
JOBS = {"seed": ("seed_tf_data", "idiomatic_seed.py"), "images": ("images_tf", "idiomatic_images.py")}
TARGET = 0.95
PRESET = "Pipescope"


def median_step_ms(stdout: str) -> float:
    """What a script prints as `step_ms_p50: …` (its steps/s, taken in turns, would count the pauses)."""
    return float(re.findall(r"step_ms_p50: ([\d.]+)", stdout)[-1])


def idiomatic_command(script: str, steps: int, warmup: int) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / script), "--steps", str(steps), "--warmup", str(warmup)]


def generated_command(script: Path, steps: int, warmup: int) -> list[str]:
    # A generated script counts its warm-up among its steps, as `run --steps` does.
    return [sys.executable, str(script), "--steps", str(steps + warmup), "--warmup", str(warmup)]


def generate(preset: str, folder: Path) -> Path:
    script = folder / f"{preset}.py"
    subprocess.run([sys.executable, str(ROOT / "main.py"), "codegen", "--preset", preset, "-o", str(script)],
                   capture_output=True, text=True, check=True)
    return script


def preset_command(preset: str, steps: int, warmup: int, out_dir: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "run", "--preset", preset, "--quiet", "--steps",
            str(steps + warmup), "--set", f"run.warmup_steps={warmup}", "--out", out_dir]


def make_inputs(preset: str) -> None:
    """A preset that makes its sample images on first use makes them now: a script taking its turn
    beside it would list a folder that is not there yet."""
    path = json.loads((ROOT / "resources" / "presets" / f"{preset}.json").read_text())["source"].get("path")
    if path is None or Path(path).expanduser().exists():
        return
    with tempfile.TemporaryDirectory() as out_dir:
        subprocess.run(preset_command(preset, 1, 0, out_dir), capture_output=True, text=True, check=True)


def one_round(preset: str, scripts: dict, steps: int, warmup: int, slice_s: float, reverse: bool) -> tuple:
    """The preset and each script taking turns (bench/turns.py): the preset's median step ms, and each
    script's."""
    with tempfile.TemporaryDirectory() as out_dir:
        commands = {PRESET: preset_command(preset, steps, warmup, out_dir), **scripts}
        if reverse:
            commands = dict(reversed(commands.items()))
        finished = take_turns(commands, slice_s)
        for name, result in finished.items():
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise SystemExit(f"error: {name} ({' '.join(commands[name][1:3])}) exited with "
                                 f"{result.returncode}: {last}")
        summary = json.loads((Path(out_dir) / "summary.json").read_text())
    return summary["step_ms"]["p50"], {name: median_step_ms(finished[name].stdout) for name in scripts}


def compare(preset: str, scripts: dict, rounds: int, steps: int, warmup: int, slice_s: float) -> dict:
    """Per script (name → command): the rounds' ratios of the preset's speed to the script's, printed as they
    come. In a round the preset and every script take turns on the machine."""
    found = {name: [] for name in scripts}
    for round_index in range(rounds):
        # Who goes first alternates: the last to end has a tail of turns to itself.
        ours, theirs = one_round(preset, scripts, steps, warmup, slice_s, reverse=round_index % 2 == 1)
        for name, ratios in found.items():
            ratios.append(theirs[name] / ours)
            print(f"round {round_index + 1}: median step {theirs[name]:.2f} ms {name}, {ours:.2f} ms in "
                  f"{preset} (ratio {ratios[-1]:.3f})", flush=True)
    return {name: _ratios(preset, name, ratios) for name, ratios in found.items()}


def _ratios(preset: str, name: str, ratios: list) -> dict:
    median = statistics.median(ratios)
    print(f"{preset} at {median:.3f} of the script's ({name}) speed by the median step (rounds "
          f"{min(ratios):.3f}–{max(ratios):.3f}); target ≥ {TARGET}: {'met' if median >= TARGET else 'NOT met'}")
    return {"median": median, "min": min(ratios), "max": max(ratios)}


def ratio_row(figure: str, found: dict, rounds: int, steps: int, slice_s: float) -> dict:
    return row("Overhead", figure,
               f"{found['median']:.3f} (median of {rounds} rounds of {steps} steps taking {slice_s:g} s turns, "
               f"range {found['min']:.3f}–{found['max']:.3f})", f"≥ {TARGET}", found["median"] >= TARGET)


GENERATED = "generated"
GENERATED_FIGURE = ("`{preset}` under Pipescope against its script from `codegen` (the same program, no "
                    "instrumentation): speed by the median step")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slice", type=float, default=0.5, dest="slice_s",
                        help="seconds a turn; a turn should hold tens of steps")
    parser.add_argument("--job", choices=sorted(JOBS), default="seed")
    parser.add_argument("--and-generated", action="store_true",
                        help="--job's preset against its generated script too, in the same rounds")
    parser.add_argument("--generated", metavar="P,P…", help="presets to set against their generated scripts")
    add_rows_argument(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if args.generated:
            for preset in args.generated.split(","):
                make_inputs(preset)
                command = generated_command(generate(preset, Path(folder)), args.steps, args.warmup)
                found = compare(preset, {GENERATED: command}, args.rounds, args.steps, args.warmup, args.slice_s)
                rows.append(ratio_row(GENERATED_FIGURE.format(preset=preset), found[GENERATED], args.rounds,
                                      args.steps, args.slice_s))
        else:
            preset, script = JOBS[args.job]
            make_inputs(preset)
            scripts = {"by hand": idiomatic_command(script, args.steps, args.warmup)}
            if args.and_generated:
                scripts[GENERATED] = generated_command(generate(preset, Path(folder)), args.steps, args.warmup)
            found = compare(preset, scripts, args.rounds, args.steps, args.warmup, args.slice_s)
            rows.append(ratio_row(f"`{preset}` under Pipescope against `bench/{script}`: speed by the median step",
                                  found["by hand"], args.rounds, args.steps, args.slice_s))
            if args.and_generated:
                rows.append(ratio_row(GENERATED_FIGURE.format(preset=preset), found[GENERATED], args.rounds,
                                      args.steps, args.slice_s))
    write_rows(args.rows, rows)


if __name__ == "__main__":
    main()
