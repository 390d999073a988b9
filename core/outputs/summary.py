"""summary.json: a run's figures, how they were measured, and what it noticed on the way.

All JSON is written with sorted keys and indentation so runs diff cleanly.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.analysis.cpu_split import cpu_summary
from core.analysis.metrics import measured_rows, summarize
from core.analysis.segments import segments
from core.spec.kinds.stages import SERVICE_SECURITY
from core.spec.records import SAMPLE_BUFFERED, SAMPLE_T, T_REQUEST, StageRecords, derived, fused_with_id, stage_rate


def write_json(path: Path, data) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def run_headline(name: str, summary: dict) -> str:
    """`whatif — 400 steps · 119.3 steps/s · idle 22.4% · input-bound`, or the name before any run."""
    if not summary.get("steps"):
        return name
    figures = [f"{summary['steps']:,} steps", f"{summary['steps_per_s']:.1f} steps/s",
               f"idle {100 * summary['idle_fraction']:.1f}%", summary.get("verdict") or ""]
    return f"{name} — {' · '.join(figure for figure in figures if figure)}"


def profile_line(profile: dict) -> str:
    """Where a run's tf.profiler capture is and how to open it, or why there is none."""
    if not profile.get("file"):
        return f"tf.profiler capture: none in {profile['dir']} ({profile.get('reason')})"
    first, last = profile["steps"]
    return (f"tf.profiler capture of steps {first}–{last - 1} (with step markers) in {profile['file']}; "
            f"open it with `{profile['open_with']}`")


def build_summary(run, extra: dict | None = None, rows=None) -> dict:
    rows = run.records.snapshot() if rows is None else rows
    summary = summarize(rows, run.spec.run["warmup_steps"], run.capacity)
    summary.update({
        "spec": run.spec.to_dict(),
        "device": run.device,
        "device_details": run.device_details,
        "warnings": run.outcome.warnings,
        "stages_unavailable": run.outcome.stages_unavailable,
        "stages": stages_summary(run.stage_records, rows, run.spec.run["warmup_steps"]),
        "sync": sync_summary(run.spec.model.params, run.outcome.device_busy, rows),
        "status": run.outcome.status,
        "config_changes": [
            {"step": c.step, "t": round(c.t, 6), "version": c.version, "change": c.description}
            for c in run.outcome.changes
        ],
        "segments": segments(rows, run.spec.run["warmup_steps"], run.capacity,
                             {c.version: c.description for c in run.outcome.changes}),
    })
    if run.outcome.error is not None:
        summary["error"] = str(run.outcome.error)
    if run.outcome.skipped_files is not None:
        summary["skipped_files"] = len(run.outcome.skipped_files)
        summary["skipped_file_names"] = run.outcome.skipped_files
    summary["stalls"] = [stall.to_dict() for stall in run.outcome.stalls]
    pending = run.outcome.pending_at_end
    summary["pending_at_end"] = pending.to_dict() if pending else None
    if not summary["steps"]:
        summary["nothing_measured"] = nothing_measured_reason(run.outcome)
    summary["cpu"] = cpu_summary(run.cpu_split)
    if run.outcome.service is not None:
        summary["service"] = service_summary(run.outcome.service, run.elapsed_s())
    if run.outcome.profile is not None:  # run --profile-dir: where the capture is and which steps it holds
        summary["profile"] = run.outcome.profile
    summary.update(extra or {})
    return summary


def service_summary(service: dict, wall_s: float) -> dict:
    """summary.json's `service`: the tf.data service's servers, each worker's elements, elements/s over the
    run and CPU ms an element (its own process's CPU: what one more worker, or machine, would bring)."""
    servers = []
    for server in service.get("servers", []):
        figures = dict(server)
        elements, cpu_s = server.get("elements"), server.get("cpu_s")
        if elements is not None:  # a worker; one that joined late may have served nothing
            figures["elements_per_s"] = round(elements / wall_s, 2) if wall_s > 0 else None
            figures["cpu_ms_per_element"] = (round(1000 * cpu_s / elements, 3) if elements and cpu_s is not None
                                             else None)
        servers.append(figures)
    return service | {"servers": servers, "security": SERVICE_SECURITY}


def nothing_measured_reason(outcome) -> str:
    """Why a run recorded no step, in one line naming the stage that held the first batch if one did."""
    pending = outcome.pending_at_end
    if pending is not None:
        return f"no step recorded: the first batch was still {pending.where()} after {pending.seconds:.1f} s"
    if outcome.error is not None:
        return f"no step recorded: {outcome.error}"
    reasons = {"exhausted": "the data ran out before the first batch", "stopped": "stopped before the first step"}
    return f"no step recorded: {reasons.get(str(outcome.status), f'the run ended {outcome.status}')}"


def sync_summary(model_params: dict, capture: dict, rows: np.ndarray) -> dict:
    """What summary.json says about how compute was measured, and the device's own busy time if captured."""
    policy = model_params.get("sync", "every_step")
    window = model_params.get("sync_window") or None
    compute = ("per step: the loss is read after each step" if policy == "every_step" else
               f"per window of {window} steps" if window else "per window of about 50 ms")
    return {
        "policy": policy,
        "window_steps": window if policy == "window" else 1,
        "compute_measured": compute + (", as the host sees it: on a GPU it includes launching the kernels"
                                       if policy == "every_step" else
                                       ": each step's launch plus a share of what the device did after it, "
                                       "its steps queued one after another"),
        **capture,
        **_host_view_of_capture(capture, rows),
    }


def _host_view_of_capture(capture: dict, rows: np.ndarray) -> dict:
    """The host's compute over the captured steps, to set beside the device's busy time."""
    first, last = capture.get("captured_steps") or (0, 0)
    if last <= first or len(rows) < last:
        return {}
    host = float(derived(rows[first:last])["compute_ms"].mean())
    return {"host_compute_ms_captured": round(host, 4),
            "device_busy_share": round(capture["device_busy_ms"] / host, 4) if host > 0 else None}


def stages_summary(stage_records: StageRecords, rows: np.ndarray, warmup_steps: int) -> dict:
    """Per stage id, from the probes' samples after warm-up: elements/s, mean buffered elements,
    how many samples, and the stage whose tf.data node it was fused into (if so)."""
    samples = stage_records.snapshot()
    measured = measured_rows(rows, warmup_steps)
    if len(measured):
        samples = samples[samples[:, SAMPLE_T] >= measured[0, T_REQUEST]]
    stages = {}
    for stage_id in stage_records.stage_ids:
        own = stage_records.of_stage(stage_id, samples)
        if len(own):
            stages[stage_id] = _stage_figures(own, stage_records.stage_ids)
    return stages


def _stage_figures(own: np.ndarray, stage_ids: list[str]) -> dict:
    rate = stage_rate(own)
    return {
        "elements_per_s": None if rate is None else round(rate, 3),
        "buffered_mean": round(float(own[:, SAMPLE_BUFFERED].mean()), 3),
        "samples": int(len(own)),
        "fused_with": fused_with_id(own[-1], stage_ids),
    }
