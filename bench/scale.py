"""Runs that scale: what ending a long headless run costs, in time and memory.

For each step count N, one fresh `main.py run --preset whatif --steps N --out TMPDIR` with no I/O
latency, no CPU work, batches of one element and a 0 ms model (the steps are the runner's own cost,
nothing else), and per N:

- steps_s: the steps' own time, summary.json `wall_s` (run start → the last step's `t_done`). With the
  record stream, writing steps.csv, stages.csv and trace.json happens during the steps, so its cost
  shows here (as fewer steps/s) and not in end_s.
- start_s: launch → run start. The run dates its own start: run.json `started_at` (wall clock, to the
  millisecond), against this script's wall clock at launch. Checkouts without it: the progress lines on
  stderr, each `… K steps, R steps/s` line saying the run had been going K / R seconds when this script
  timestamped its arrival. No calibration run, no guess about start-up staying the same between runs on
  a noisy machine.
- end_s: "time to end", the last step → process exit = total wall − start_s − steps_s. It holds
  writing what is left of the files (the streamed files' last half second, summary.json,
  timeline.png; before the stream: all of them) and the interpreter's exit.
  Left blank when a run printed no progress line with steps in it (too short to be sampled).
- peak_mb: the child's peak RSS, from os.wait4 on that very process (getrusage(RUSAGE_CHILDREN)
  would be the maximum over every child this script has had).
- bytes_per_step: (peak_N − peak_base) / (N − base), base being the smallest N measured (1000 by
  default), so TensorFlow's own footprint and the fixed start-up cancel out.
- the size of each file the run wrote.
- with --report: `main.py report` on the run's folder, its wall time and peak RSS (a checkout
  without the command has nothing to time).
- with --app: the same run in the app instead (`gui … --run --out … --quit-after-run`, offscreen unless
  QT_QPA_PLATFORM says otherwise), and its plot frame time over the whole run: summary.json
  `plot_frame_ms` (each paint of the plots plus the data work of the redraws before it). The app draws a
  window of the last seconds while it follows a run and the whole run once at its end, thinned to a few
  thousand steps, so frames should cost the same at a million steps as at a thousand; the table says.
  Its time to end holds drawing the whole run once as well as writing the files. bench/all.py measures
  scale this way only, in one 1,000,000-step run: the app holds everything a headless run holds, and more.

    python bench/scale.py [--steps 1000 200000] [--root DIR] [--python PY] [--json FILE] [--rows FILE]
                          [--report] [--app]

`--root` measures another checkout (e.g. a clone at an earlier commit, with this .venv linked in).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from rows import add_rows_argument, row, write_rows

HERE = Path(__file__).resolve().parent.parent
# No I/O latency, no CPU work, a model that takes no time: only the runner's per-step cost is left.
# Batches of one element: making a batch of 32 took more of each step than the runner itself.
NO_WORK = ["stages.io.ms=0", "stages.cpu.ms=0", "model.step_ms=0", "stages.batch.batch_size=1"]
PROGRESS = re.compile(r"(\d+) steps, ([\d.]+) steps/s")


def run_command(python: str, root: Path, steps: int, out: Path) -> list[str]:
    settings = [arg for assignment in NO_WORK for arg in ("--set", assignment)]
    return [python, str(root / "main.py"), "run", "--preset", "whatif", "--steps", str(steps), *settings,
            "--out", str(out)]


def app_command(python: str, root: Path, steps: int, out: Path) -> list[str]:
    """The same run in the scripted app, which takes no --set: the settings go into a pipeline file."""
    dumped = subprocess.run([python, str(root / "main.py"), "presets", "--dump", "whatif"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    spec = json.loads(dumped)
    for assignment in NO_WORK:
        path, value = assignment.split("=")
        block, *middle, param = path.split(".")
        target = next(stage for stage in spec["stages"] if stage["id"] == middle[0]) if middle else spec[block]
        target[param] = json.loads(value)
    spec_file = out.with_suffix(".json")
    spec_file.write_text(json.dumps(spec))
    return [python, str(root / "main.py"), "gui", str(spec_file), "--run", "--steps", str(steps), "--out", str(out),
            "--quit-after-run"]


def timestamp_lines(stream, lines: list) -> None:
    """Each stderr line with the moment it arrived: the progress lines date the run's start."""
    for line in stream:
        lines.append((time.perf_counter(), line.rstrip("\n")))


def run_start(lines: list) -> float | None:
    """perf_counter time the run started, from the last progress line that counts steps."""
    for arrived, line in reversed(lines):
        match = PROGRESS.search(line)
        if match and int(match[1]) > 0 and float(match[2]) > 0:
            return arrived - int(match[1]) / float(match[2])
    return None


def report_command(python: str, root: Path, out: Path) -> list[str]:
    return [python, str(root / "main.py"), "report", str(out)]


def started_at(out: Path) -> float | None:
    """Wall-clock time the run started, as the run itself wrote it (run.json), or None."""
    try:
        stamp = json.loads((out / "run.json").read_text()).get("started_at")
    except (OSError, ValueError):
        return None
    return datetime.fromisoformat(stamp).timestamp() if stamp else None


def launch(command: list[str], cwd: Path, out: Path) -> dict:
    """Run `command`; its wall time, peak RSS, run start and stderr lines."""
    # Offscreen: checkouts from before the layered core drew timeline.png with Qt, which needs a platform.
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    lines: list = []
    launched, launched_wall = time.perf_counter(), time.time()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    reader = threading.Thread(target=timestamp_lines, args=(child.stderr, lines), daemon=True)
    reader.start()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's
    exited = time.perf_counter()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    reader.join()
    child.stderr.close()
    if child.returncode != 0:
        tail = "\n".join(line for _, line in lines[-5:])
        raise SystemExit(f"error: {' '.join(command)} exited with {child.returncode}\n{tail}")
    start_wall, start = started_at(out), run_start(lines)
    start_s = start_wall - launched_wall if start_wall is not None else None if start is None else start - launched
    return {"total_s": exited - launched, "start_s": start_s,
            "peak_bytes": usage.ru_maxrss * 1024, "stderr": [line for _, line in lines]}


def measure(python: str, root: Path, steps: int, report: bool, app: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="pipescope-scale-") as scratch:
        out = Path(scratch) / "run"
        command = (app_command if app else run_command)(python, root, steps, out)
        child = launch(command, root, out)
        summary = json.loads((out / "summary.json").read_text())
        files = {path.name: path.stat().st_size for path in sorted(out.iterdir())}
        rebuilt = launch(report_command(python, root, out), root, out) if report else None
    steps_s = summary["wall_s"]
    end_s = None if child["start_s"] is None else child["total_s"] - child["start_s"] - steps_s
    return {"steps": steps, "steps_s": steps_s, "start_s": child["start_s"], "end_s": end_s,
            "total_s": child["total_s"], "peak_bytes": child["peak_bytes"], "files": files,
            "report_s": rebuilt and rebuilt["total_s"], "report_peak_bytes": rebuilt and rebuilt["peak_bytes"],
            "steps_per_s": summary["steps_per_s"], "plot_frame_ms": summary.get("plot_frame_ms"),
            "warnings": [line for line in child["stderr"] if line.startswith("warning")]}


def add_bytes_per_step(results: list[dict]) -> None:
    base = min(results, key=lambda result: result["steps"])
    for result in results:
        extra_steps = result["steps"] - base["steps"]
        result["bytes_per_step"] = (result["peak_bytes"] - base["peak_bytes"]) / extra_steps if extra_steps else None


def cell(value, width: int, decimals: int) -> str:
    return f"{'—' if value is None else format(value, f'.{decimals}f'):>{width}}"


def print_table(results: list[dict]) -> None:
    print(f"{'steps':>9} {'steps_s':>8} {'start_s':>8} {'end_s':>7} {'total_s':>8} {'peak_MB':>8} "
          f"{'B/step':>7} {'files_MB':>9}")
    for r in results:
        print(f"{r['steps']:>9} {r['steps_s']:>8.2f} {cell(r['start_s'], 8, 2)} {cell(r['end_s'], 7, 2)} "
              f"{r['total_s']:>8.2f} {r['peak_bytes'] / 1e6:>8.0f} {cell(r['bytes_per_step'], 7, 0)} "
              f"{sum(r['files'].values()) / 1e6:>9.1f}")
    for r in results:
        frames = r["plot_frame_ms"]
        if frames is not None:
            print(f"{r['steps']:>9} app: {r['steps_per_s']:.0f} steps/s; plot frames {frames['frames']}, "
                  f"p50 {frames['p50']:.1f} ms, p99 {frames['p99']:.1f} ms, max {frames['max']:.1f} ms")
    for r in results:
        if r["report_s"] is not None:
            print(f"{r['steps']:>9} report: {r['report_s']:.2f} s, peak {r['report_peak_bytes'] / 1e6:.0f} MB")
    for r in results:
        sizes = ", ".join(f"{name} {size / 1e6:.2f}" for name, size in r["files"].items())
        print(f"{r['steps']:>9} files (MB): {sizes}")
        for warning in r["warnings"]:
            print(f"{'':>9} {warning}")


def scale_rows(results: list[dict], app: bool) -> list[dict]:
    """The longest run's figures: time to end and bytes a step; in the app, its plot frame times too."""
    longest = max(results, key=lambda result: result["steps"])
    steps = f"{longest['steps']:,} steps"
    where = " in the app (offscreen)" if app else ""
    per_step = longest["bytes_per_step"]
    rows = [row("Scale", f"time to end a {steps} run{where} (last step → process exit)",
                "—" if longest["end_s"] is None else f"{longest['end_s']:.2f} s "
                f"(the steps took {longest['steps_s']:.1f} s)"),
            row("Scale", f"peak memory a step over a {steps} run{where}",
                "—" if per_step is None else f"{per_step:.0f} bytes (peak {longest['peak_bytes'] / 1e6:.0f} MB; "
                f"files {sum(longest['files'].values()) / 1e6:.0f} MB)")]
    if app:
        frames = longest["plot_frame_ms"] or {}
        rows.insert(0, row("The app", f"plot frame time p50 / p99 over a {steps} run (`whatif`, no costs)",
                           f"{frames.get('p50', float('nan')):.1f} / {frames.get('p99', float('nan')):.1f} ms "
                           f"({frames.get('frames')} frames, {longest['steps_per_s']:.0f} steps/s)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 200000])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose main.py to run")
    parser.add_argument("--python", help="default: ROOT/.venv/bin/python, else this interpreter")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    add_rows_argument(parser)
    parser.add_argument("--report", action="store_true", help="also time `main.py report` on each run's folder")
    parser.add_argument("--app", action="store_true", help="run in the scripted app; adds its plot frame time")
    args = parser.parse_args()
    root = args.root.resolve()
    venv_python = root / ".venv" / "bin" / "python"
    python = args.python or (str(venv_python) if venv_python.exists() else sys.executable)
    results = []
    for steps in args.steps:
        results.append(measure(python, root, steps, args.report, args.app))
        print(f"measured {steps} steps", file=sys.stderr, flush=True)  # long runs: show it is alive
    add_bytes_per_step(results)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"root": str(root), "python": python, "runs": results}, indent=2) + "\n")
    write_rows(args.rows, scale_rows(results, args.app))


if __name__ == "__main__":
    main()
