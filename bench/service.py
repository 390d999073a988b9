"""An OpenCV image pipeline on 0, 1 and 2 local tf.data service workers (issue 17 §3).

    python bench/service.py [--seconds S] [--photos DIR] [--rows FILE]

Each configuration is a `python main.py run … --seconds S` of its own, as a user would run it: the images_cv2
preset (OpenCV decode and resize in numpy_function, then a random flip) on a folder of photographs, with a
`tf_data_service` stage before its prefetch for 1 and 2 workers. For each: steps/s, the CPU split of the
host's cores (the training process's input and model threads against the workers' processes), each
worker's CPU ms a batch against the training process's own input CPU a batch without the service (what the
shipping costs), the servers' shutdown, and the time from the run's files to the process gone
(tensorflow#56490 kept a process ~20 s after a server's stop). On a machine this size the workers compete
with training for the same cores: the split shows where the time goes. From the per-worker figures, what N
machines would give is said on paper: a worker's batches a second per core, against the model's own limit.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rows import add_rows_argument, row, write_rows

ROOT = Path(__file__).resolve().parent.parent
SECTION = "tf.data service"


def pipeline(workers: int, photos: Path | None) -> dict:
    data = json.loads(subprocess.run([sys.executable, str(ROOT / "main.py"), "presets", "--dump", "images_cv2"],
                                     capture_output=True, text=True, check=True).stdout)
    if photos is not None:
        data["source"]["path"] = str(photos)
    stages = data["stages"]
    flip = {"id": "flip", "kind": "map", "fn": "random_flip", "num_parallel_calls": "AUTOTUNE"}
    stages.insert(next(i for i, s in enumerate(stages) if s["id"] == "normalize"), flip)
    if workers:
        service = {"id": "service", "kind": "tf_data_service", "workers": workers}
        stages.insert(next(i for i, s in enumerate(stages) if s["id"] == "prefetch"), service)
    return data


def measure(workers: int, seconds: float, photos: Path | None, scratch: Path) -> dict:
    spec, out = scratch / f"workers_{workers}.json", scratch / f"run_{workers}"
    spec.write_text(json.dumps(pipeline(workers, photos)))
    print(f"{workers} workers: {seconds:g} s…", file=sys.stderr, flush=True)
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(spec), "--seconds", str(seconds),
                             "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    exited = time.time()
    if result.returncode != 0:
        raise SystemExit(f"error: the run on {workers} workers failed: {result.stderr.strip().splitlines()[-1]}")
    summary = json.loads((out / "summary.json").read_text())
    return summary | {"exit_after_files_s": exited - (out / "summary.json").stat().st_mtime}


def split_text(summary: dict) -> str:
    host = summary["cpu"]["of_host"]
    return (f"training process: input {100 * host['input']:.0f}%, model {100 * host['model']:.0f}%; "
            f"service {100 * host['service']:.0f}%")


def worker_ms_per_batch(summary: dict) -> float:
    workers = [s for s in summary["service"]["servers"] if s.get("elements")]
    return sum(s["cpu_s"] for s in workers) * 1000 / sum(s["elements"] for s in workers)


def on_paper(summary: dict, cores_per_machine: int) -> str:
    """Batches a second one machine of workers makes, and how many such machines keep the model fed."""
    per_batch_ms = worker_ms_per_batch(summary)
    machine_rate = cores_per_machine * 1000 / per_batch_ms
    model_limit = 1000 / summary["compute_ms"]["p50"]
    machines = math.ceil(model_limit / machine_rate)
    return (f"a worker uses {per_batch_ms:.1f} ms of CPU a batch: a {cores_per_machine}-core worker machine makes "
            f"about {machine_rate:.0f} batches/s, the model alone takes {model_limit:.0f} steps/s here, so "
            f"{machines} such machine{'s' if machines > 1 else ''} would keep it fed (N machines: N × "
            f"{machine_rate:.0f} batches/s, up to the model's limit)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="each configuration's run (default 12)")
    parser.add_argument("--photos", type=Path, help="a folder of JPEG photographs (default: the preset's sample)")
    parser.add_argument("--workers", default="0,1,2", help="the configurations (default 0,1,2)")
    add_rows_argument(parser)
    args = parser.parse_args()
    counts = [int(count) for count in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        results = {count: measure(count, args.seconds, args.photos, Path(scratch)) for count in counts}
    plain = results.get(0)
    rows = [row(SECTION, "images_cv2 + random flip: steps/s with " + " / ".join(f"{c}" for c in counts)
                + " local workers", " / ".join(f"{results[c]['steps_per_s']:.1f}" for c in counts))]
    for count, summary in results.items():
        rows.append(row(SECTION, f"CPU of the host's {summary['cpu']['cores']} cores, {count} workers",
                        split_text(summary)))
    served = {count: summary for count, summary in results.items() if count}
    if plain and served:
        own_ms = plain["cpu"]["input_s"] * 1000 / plain["steps"]
        costs = " / ".join(f"{worker_ms_per_batch(s):.1f}" for s in served.values())
        rows.append(row(SECTION, "CPU ms a batch: the training process's own input (0 workers) → the workers' "
                        f"({', '.join(map(str, served))} workers)", f"{own_ms:.1f} → {costs}"))
    for count, summary in served.items():
        rows.append(row(SECTION, f"on paper, from {count} workers' figures", on_paper(summary, 8)))
    if served:
        shutdown = max(s["service"]["shutdown_s"] for s in served.values())
        leaving = max(s["exit_after_files_s"] for s in served.values())
        rows.append(row(SECTION, "servers' shutdown at a run's end; the run's files → its process gone",
                        f"{shutdown:.2f} s; {leaving:.1f} s", "no 20 s hang (tensorflow#56490)", leaving < 5))
    for line in rows:
        print(f"{line['figure']}: {line['value']}")
    write_rows(args.rows, rows)


if __name__ == "__main__":
    main()
