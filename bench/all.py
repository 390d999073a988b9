"""Every benchmark in one command: runs each script of bench/ in a process of its own, gathers the rows
they write (`--rows FILE`) and writes BENCHMARKS.md, each row with its figure, target, date, machine and
the command that made it. The rows are also kept in bench/benchmarks.json, so that `--only` can measure
again some of them and keep the rest.

    python bench/all.py [--quick] [--only NAME,NAME…] [--photos DIR] [--out BENCHMARKS.md]

About 15 minutes on 2 cores, up to 18 when the VM is slow (`--quick`: about 5). The names are those of BENCHES below.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STORE = BENCH / "benchmarks.json"
PHOTOS = Path("~/.cache/pipescope/bench_photos").expanduser()
# The nine colour photographs that ship with scikit-image (its data folder), cut into a folder of JPEGs.
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
                  "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg")
SECTIONS = ("Accuracy (every_step)", "Accuracy (window)", "Accuracy: XProf", "Overhead", "The seed's table",
            "The app", "Scale", "Tuning", "Lifecycle", "Watching a script", "tf.data service")


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    photos: bool = False  # takes --photos DIR when a folder of photographs is at hand


BENCHES = (
    Bench("accuracy", "accuracy.py", ("--steps", "120", "--rounds", "2"), ("--steps", "100", "--rounds", "1")),
    Bench("accuracy-window", "accuracy.py", ("--sync", "window", "--steps", "120"),
          ("--sync", "window", "--steps", "100")),
    Bench("xprof", "xprof_check.py", (), ("--quick",)),
    Bench("overhead", "overhead.py", ("--steps", "5000", "--rounds", "7"), ("--steps", "5000", "--rounds", "3")),
    # Processes taking turns (bench/turns.py): a round reads within about ±5 % of the next, where rounds of
    # processes run one after the other spread over ±20 %.
    Bench("model-seed", "model_speed.py", ("--job", "seed", "--and-generated", "--steps", "700", "--rounds", "1",
                                           "--slice", "0.5"),
          ("--job", "seed", "--steps", "300", "--rounds", "1", "--slice", "0.5")),
    Bench("model-images", "model_speed.py", ("--job", "images", "--and-generated", "--steps", "200", "--rounds", "1",
                                             "--slice", "0.5"),
          ("--job", "images", "--steps", "100", "--rounds", "1", "--slice", "0.5")),
    Bench("codegen-cost", "model_speed.py",
          ("--generated", "seed_feed_dict,seed_queue_runner,whatif", "--steps", "200", "--rounds", "1",
           "--slice", "0.5"),
          ("--generated", "seed_feed_dict,whatif", "--steps", "100", "--rounds", "1", "--slice", "0.5")),
    # OpenCV's Python shares the GIL and the cores with the training loop: a round of it reads 0.89-1.03
    # against the next, so it gets six short ones (a round's time is mostly the two processes' start-up).
    Bench("codegen-cost-cv2", "model_speed.py",
          ("--generated", "images_cv2", "--steps", "100", "--rounds", "6", "--slice", "0.5"),
          ("--generated", "images_cv2", "--steps", "200", "--rounds", "1", "--slice", "0.5")),
    Bench("seed", "seed.py", ("--steps", "500", "--calibrated-steps", "5000"),
          ("--steps", "200", "--calibrated-steps", "1000")),
    Bench("app", "ui_overhead.py", ("--steps", "300", "--pairs", "2"), ("--steps", "150", "--pairs", "1")),
    # One run of a million steps in the app gives its plot frame times and the scale figures: the app
    # holds all a headless run does and more (bench/scale.py without --app measures headless runs).
    Bench("scale", "scale.py", ("--app", "--steps", "1000", "1000000"), ("--app", "--steps", "1000", "50000")),
    Bench("tuning", "tuner.py", ("--rounds", "1", "--seconds", "3"), ("--rounds", "1", "--seconds", "3"),
          photos=True),
    Bench("lifecycle", "lifecycle.py", (), ("--quick",)),
    Bench("watch", "watch_check.py", ("--rounds", "1"), ("--quick",)),
    Bench("service", "service.py", ("--seconds", "6"), ("--seconds", "5", "--workers", "0,1"), photos=True),
)


def machine() -> str:
    """`2 cores · AMD EPYC 9B14 · AVX2 AVX-512F · TF 2.21.0`: what the figures depend on."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    vector = [name.upper().replace("AVX512F", "AVX-512F").replace("AMX_TILE", "AMX")
              for name in ("avx2", "fma", "avx512f", "amx_tile") if name in flags]
    model = model.replace("(R)", "").replace("(TM)", "")
    return " · ".join([f"{os.cpu_count()} cores", model, " ".join(vector) or "no AVX2",
                       f"TF {metadata.version('tensorflow')}"])


def photo_folder(given: str | None) -> Path | None:
    """The photographs for the image tuner: the folder given, else one cut from scikit-image's (made once)."""
    if given:
        return Path(given)
    if PHOTOS.is_dir() and any(PHOTOS.glob("*.jpg")):
        return PHOTOS
    try:
        import skimage  # deferred: only this needs it (requirements-test.txt)
    except ImportError:
        return None
    data = Path(skimage.__file__).parent / "data"
    with tempfile.TemporaryDirectory() as sources:
        for name in SKIMAGE_PHOTOS:
            shutil.copy(data / name, sources)
        subprocess.run([sys.executable, str(BENCH / "photo_folder.py"), sources, str(PHOTOS)], check=True)
    return PHOTOS


def run_bench(bench: Bench, quick: bool, photos: Path | None, when: str, where: str) -> list[dict]:
    arguments = list(bench.quick if quick else bench.full)
    if bench.photos and photos is not None:
        arguments += ["--photos", str(photos)]
    command = f"python bench/{bench.script} {' '.join(arguments)}".strip()
    print(f"== {bench.name}: {command}", file=sys.stderr, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        rows_file = Path(scratch) / "rows.json"
        result = subprocess.run([sys.executable, str(BENCH / bench.script), *arguments, "--rows", str(rows_file)],
                                cwd=ROOT, stdout=sys.stderr)
        rows = json.loads(rows_file.read_text()) if rows_file.exists() else []
    seconds = time.monotonic() - started
    print(f"== {bench.name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    if result.returncode != 0 or not rows:
        rows = [{"section": "Failures", "figure": bench.name, "value": f"exit code {result.returncode}, no figures",
                 "target": "", "met": False}]
    return [dict(row, bench=bench.name, command=command, date=when, machine=where, seconds=round(seconds))
            for row in rows]


def render(rows: list[dict]) -> str:
    sections = sorted({row["section"] for row in rows},
                      key=lambda name: SECTIONS.index(name) if name in SECTIONS else len(SECTIONS))
    lines = ["# Benchmarks", "",
             "Made by `python bench/all.py` (see its docstring); every figure below comes from the command in "
             "its row, on the machine and the date in its row. Targets are the issues'; ✔ met, ✘ not met.", ""]
    for section in sections:
        lines += [f"## {section}", "", "| figure | value | target | date | machine | command |",
                  "|---|---|---|---|---|---|"]
        for row in (row for row in rows if row["section"] == section):
            mark = {True: " ✔", False: " ✘", None: ""}[row["met"]]
            cells = [row["figure"], row["value"], (row["target"] + mark).strip() or "—", row["date"], row["machine"],
                     f"`{row['command']}`"]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (about 5 minutes)")
    parser.add_argument("--only", help="comma-separated names of benchmarks to run; the others' rows are kept")
    parser.add_argument("--photos", help="a folder of JPEG photographs for the image tuner")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    names = [bench.name for bench in BENCHES]
    chosen = args.only.split(",") if args.only else names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)} (known: {', '.join(names)})")
    kept = [row for row in json.loads(STORE.read_text())  # a benchmark since retired leaves no rows
            if row["bench"] in names and row["bench"] not in chosen] if args.only and STORE.exists() else []
    when, where = datetime.date.today().isoformat(), machine()
    photos = photo_folder(args.photos) if "tuning" in chosen else None
    started = time.monotonic()
    rows = kept + [row for bench in BENCHES if bench.name in chosen
                   for row in run_bench(bench, args.quick, photos, when, where)]
    rows.sort(key=lambda row: names.index(row["bench"]))
    STORE.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    Path(args.out).write_text(render(rows))
    print(f"wrote {args.out} ({len(rows)} rows) in {(time.monotonic() - started) / 60:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
