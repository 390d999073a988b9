"""Watching a user's script (issue 16 §2, §3, §5, §7): what it costs the job, and how true its figures are.

Two jobs written as users write them (tests/watch_scripts): a custom loop (`for x, y in dataset:` and a
tf.function step) and a Keras `fit` job, both waiting on storage (tf.data's own sleep, a wait known by
construction that takes no CPU from the model). In each round the jobs run on their own (`python
SCRIPT`) and under `main.py watch`, taking turns on the machine (bench/turns.py: half a second each,
the others stopped), and each is timed by its own clock; on this shared VM jobs run one after the
other read ±10 % apart from its moods alone:
- cost: the job's own median step on its own ÷ under watch (target ≥ 0.98, issue 16 §7);
Then, from runs of their own (a stopped job's storage wait goes on while it is stopped, and
tf.profiler captures and whole-run steps/s would count the other jobs' turns):
- the custom loop's idle and steps/s: Pipescope's against the job's own clock in the same run
  (targets: within 2 points and 2%);
- the fit job's input-bound share: Pipescope's against the truth, 1 − the job's steps/s ÷ the model's
  alone on cached batches (target: within 5 points), the two as median steps of the job and the model
  alone taking turns (run one after the other, it read 49–75% on this VM);
- XProf's "% waiting for input" over 40–50 marked steps of the same job, profiled by the script itself.
Last, advice proved: `analyze` on the watched custom loop with a heavier map names the line and the
change; the same job watched again with that change made at step 30 (`--change-at`) achieves a step
rate set beside the prediction (the steps' own time: the validation passes between epochs left out).

    python bench/watch_check.py [--rounds 3] [--quick] [--json FILE] [--rows FILE]
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import add_rows_argument, row, write_rows  # bench/ is the script's own folder
from turns import take_turns
from xprof_check import xprof_input_analysis

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "watch_scripts"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
SECTION = "Watching a script"
CUSTOM = ["custom_loop.py", "--epochs", "5", "--examples", "640", "--work", "4", "--read-ms", "8"]
FIT = ["fit_job.py", "--epochs", "3", "--batches", "100"]
ADVICE = ["custom_loop.py", "--epochs", "4", "--examples", "640", "--work", "80"]
CHANGE_AT = 30
SLICE_S = 0.5


def run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    return _checked(command, result)


def _checked(command: list[str], result) -> str:
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


def plain_command(job: list[str], *extra: str) -> list[str]:
    return [PYTHON, str(SCRIPTS / job[0]), *job[1:], *extra]


def watch_command(job: list[str], scratch: Path, out: str, *extra: str, options=()) -> list[str]:
    return [PYTHON, str(ROOT / "main.py"), "watch", "--out", str(scratch / out), *options,
            str(SCRIPTS / job[0]), *job[1:], *extra]


def plain(job: list[str], scratch: Path, *extra: str) -> str:
    return run(plain_command(job, *extra), scratch)


def watched(job: list[str], scratch: Path, out: str, *extra: str, options=()) -> tuple[str, dict]:
    stdout = run(watch_command(job, scratch, out, *extra, options=options), scratch)
    return stdout, json.loads((scratch / out / "summary.json").read_text())


def printed(name: str, stdout: str) -> float:
    return float(re.search(rf"{name}: ([0-9.]+)", stdout).group(1))


def in_turns(commands: dict[str, list[str]], scratch: Path) -> dict[str, str]:
    """Each command's stdout, the commands having taken turns on the machine (bench/turns.py)."""
    finished = take_turns(commands, SLICE_S, cwd=scratch)
    return {name: _checked(commands[name], result) for name, result in finished.items()}


def one_round(scratch: Path, index: int) -> dict:
    """The cost from the jobs taking turns, compared by their median steps; the figures set against the
    job's own clock from runs of their own: a stopped job's storage wait (tf.data's sleep) goes on while
    it is stopped, so its steps after a pause wait less, and whole-run figures would count the other
    jobs' turns. The truth of the fit job's share from the job and the model alone taking turns, by
    their median steps, which the few fast steps after a pause do not move."""
    alone_report, watched_report = scratch / "alone.json", scratch / "watched.json"
    out = in_turns({
        "custom alone": plain_command(CUSTOM, "--report", str(alone_report)),
        "custom watched": watch_command(CUSTOM, scratch, f"custom-turns{index}", "--report", str(watched_report)),
        "fit alone": plain_command(FIT), "fit watched": watch_command(FIT, scratch, f"fit-turns{index}"),
    }, scratch)
    custom_cost = json.loads(alone_report.read_text())["step_ms_p50"] / json.loads(watched_report.read_text())["step_ms_p50"]
    fit_cost = printed("step_ms_p50", out["fit alone"]) / printed("step_ms_p50", out["fit watched"])

    own_report = scratch / "own.json"
    _, summary = watched(CUSTOM, scratch, f"custom{index}", "--report", str(own_report))
    own = json.loads(own_report.read_text())
    _, fit_summary = watched(FIT, scratch, f"fit{index}")
    # As runs of their own, one after the other, the truth read 49-75% here.
    paired = in_turns({"job": plain_command(FIT), "model alone": plain_command(FIT, "--cached")}, scratch)
    truth = 1 - printed("step_ms_p50", paired["model alone"]) / printed("step_ms_p50", paired["job"])
    return {
        "custom_cost": custom_cost, "fit_cost": fit_cost,
        "custom_idle_pts": 100 * (summary["idle_fraction"] - own["idle_fraction"]),
        "custom_rate_pct": 100 * (summary["steps_per_s"] / own["steps_per_s"] - 1),
        "custom_own_idle": own["idle_fraction"], "custom_idle": summary["idle_fraction"],
        "fit_truth": truth, "fit_idle": fit_summary["idle_fraction"] / (1 - fit_summary["between_fraction"]),
    }


def xprof_waiting(job: list[str], scratch: Path, name: str) -> float:
    folder = scratch / name
    plain(job, scratch, "--xprof", str(folder))
    return xprof_input_analysis(glob.glob(str(folder / "plugins/profile/*/*.xplane.pb"))[0])["input_pct"]


def advice_proved(scratch: Path) -> dict:
    watched(ADVICE, scratch, "advice")
    run([PYTHON, str(ROOT / "main.py"), "analyze", str(scratch / "advice")], scratch)
    analysis = json.loads((scratch / "advice" / "analysis.json").read_text())
    recommendation = analysis["recommendations"][0]
    _, summary = watched(ADVICE, scratch, "changed", options=("--change-at", str(CHANGE_AT), recommendation["change"]))
    before, after = own_step_rate(scratch / "changed", 0), own_step_rate(scratch / "changed", 1)
    return {"text": recommendation["text"], "change": recommendation["change"],
            "predicted": recommendation["expected_steps_per_s"], "before": before, "achieved": after,
            "made": [change["step"] for change in summary["config_changes"]]}


def own_step_rate(folder: Path, version: int) -> float:
    """Steps/s over the steps' own time (request to next request) in one configuration, warm-up left out."""
    with (folder / "steps.csv").open() as handle:
        rows = [line for line in csv.DictReader(handle) if int(line["config_version"]) == version][1:]
    return len(rows) / sum(float(line["t_done"]) - float(line["t_request"]) for line in rows)


def summarize(rounds: list[dict], xprof: dict, advice: dict) -> dict:
    median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    return {"rounds": rounds, "median": median, "xprof": xprof, "advice": advice}


def benchmark_rows(figures: dict) -> list[dict]:
    median, xprof, advice = figures["median"], figures["xprof"], figures["advice"]
    n = len(figures["rounds"])
    ranges = {job: [r[f"{job}_cost"] for r in figures["rounds"]] for job in ("custom", "fit")}
    return [
        *[row(SECTION, f"{label}: the job's own median step on its own ÷ under watch, taking turns "
                       f"({SLICE_S:g} s each; median of {n} rounds)",
              f"{median[f'{job}_cost']:.3f} (rounds {min(ranges[job]):.3f}–{max(ranges[job]):.3f})", "≥ 0.98",
              median[f"{job}_cost"] >= 0.98) for job, label in (("custom", "custom loop"), ("fit", "fit job"))],
        row(SECTION, "custom loop: idle, Pipescope − the job's own clock (same run)",
            f"{median['custom_idle_pts']:+.1f} pts (own {100 * median['custom_own_idle']:.1f}%, Pipescope "
            f"{100 * median['custom_idle']:.1f}%; XProf on the job profiled alone {xprof['custom']:.1f}%)",
            "within 2 pts", abs(median["custom_idle_pts"]) <= 2),
        row(SECTION, "custom loop: steps/s, Pipescope ÷ the job's own clock − 1",
            f"{median['custom_rate_pct']:+.2f}%", "within 2%", abs(median["custom_rate_pct"]) <= 2),
        row(SECTION, "fit job: input-bound share, Pipescope (each step's wait metered in fit's train function) "
                     "against the truth (1 − the model alone's median step on cached batches ÷ the job's, the two "
                     "taking turns)",
            f"Pipescope {100 * median['fit_idle']:.1f}% against {100 * median['fit_truth']:.1f}%; XProf "
            f"{xprof['fit']:.1f}%", "within 5 pts", abs(median["fit_idle"] - median["fit_truth"]) <= 0.05),
        row(SECTION, "advice: `analyze` on the watched job, then the change made while it trains",
            f"{advice['text']}; achieved {advice['achieved']:.0f} steps/s against {advice['predicted']:.0f} "
            f"predicted ({advice['achieved'] / advice['predicted']:.2f}; {advice['before']:.0f} before)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--json", type=Path, metavar="FILE")
    add_rows_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipescope-watch-check-") as scratch_name:
        scratch = Path(scratch_name)
        rounds = []
        for index in range(1 if args.quick else args.rounds):
            rounds.append(one_round(scratch, index))
            print(f"round {index + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in rounds[-1].items()), file=sys.stderr)
        xprof = {"custom": xprof_waiting(CUSTOM, scratch, "xprof-custom"), "fit": xprof_waiting(FIT, scratch, "xprof-fit")}
        figures = summarize(rounds, xprof, advice_proved(scratch))
    rows = benchmark_rows(figures)
    for line in rows:
        print(f"{line['figure']}: {line['value']}" + (f" (target {line['target']})" if line["target"] else ""))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    write_rows(args.rows, rows)


if __name__ == "__main__":
    main()
