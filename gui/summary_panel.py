"""The running summary beside the plots: idle fraction, step-time percentiles, throughput, the host CPU budget."""
from __future__ import annotations

import numpy as np
from PyQt5 import QtCore, QtWidgets

from core.analysis.cpu_split import cpu_summary, host_shares
from core.analysis.metrics import summarize
from core.engine.run_protocol import RunView
from core.spec.kinds.stages import SERVICE_SECURITY

_FIELDS = ("steps", "steps/s", "examples/s", "idle", "verdict", "CPU", "step p50 / p90 / p99", "wait p50 / p99",
           "compute p50", "fill mean / max", "stalls", "skipped files", "device", "stage figures", "service",
           "plot redraws/s")
_LIVE = "on the blocks (tf.data's live model)"


def _ms(value) -> str:
    return "–" if value is None else f"{value:.2f}"


class SummaryPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        form.setContentsMargins(4, 4, 4, 4)
        form.setRowWrapPolicy(QtWidgets.QFormLayout.WrapLongRows)  # long figures go below their label
        # Fifteen lines and their wraps, whole in the lower half of the dock column on a laptop screen: the
        # lines close together and a point smaller, as the Runs list beside them.
        form.setVerticalSpacing(2)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() - 1)
        self.setFont(font)
        self.values = {}
        for name in _FIELDS:
            label = QtWidgets.QLabel("–")
            label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)  # so a figure can be copied
            # Any figure may outgrow a narrow dock (device busy, the CPU shares, a reason): wrapped, not cut.
            label.setWordWrap(True)
            form.addRow(f"{name}:", label)
            self.values[name] = label
        self.latest: dict = {}

    def clear(self) -> None:
        self.latest = {}
        for label in self.values.values():
            label.setText("–")
            label.setToolTip("")

    def show_stage_figures(self, unavailable, partial, live: bool) -> None:
        """Whether the blocks show tf.data's live figures, and if not why (as core says it)."""
        if unavailable:
            text = f"unavailable — {unavailable}"
        elif partial:
            text = partial
        else:
            text = _LIVE if live or self.values["stage figures"].text() == _LIVE else "–"  # a miss is no news
        label = self.values["stage figures"]
        if label.text() != text:  # polled at 2 Hz: the line changes only when what it says does
            label.setText(text)
            label.setToolTip(text)

    def show_run(self, run: RunView, rows: np.ndarray, redraws_per_s: int) -> None:
        self.values["device"].setText(_device_text(run))
        self.values["CPU"].setText(_cpu_text(run))
        self.values["CPU"].setToolTip(_cpu_details(run))
        self.values["plot redraws/s"].setText(str(redraws_per_s))
        self.values["stalls"].setText(_stalls_text(run.outcome.stalls))
        skipped = run.outcome.skipped_files
        self.values["skipped files"].setText("–" if skipped is None else f"{len(skipped):,} unreadable")
        self.values["service"].setText(_service_text(run.outcome.service))
        self.values["service"].setToolTip(_service_details(run.outcome.service))
        if len(rows) == 0:
            self.values["steps"].setText("0")
            return
        summary = summarize(rows, run.spec.run["warmup_steps"], run.capacity)
        self.latest = summary
        step, wait, fill = summary["step_ms"], summary["wait_ms"], summary["fill"]
        capacity = fill["capacity"]
        texts = {
            "steps": f"{summary['steps']:,}",
            "steps/s": f"{summary['steps_per_s']:.1f}",
            "examples/s": f"{summary['examples_per_s']:,.0f}",
            "idle": f"{100 * summary['idle_fraction']:.1f} %",
            "verdict": summary["verdict"] or "–",
            "step p50 / p90 / p99": f"{_ms(step['p50'])} / {_ms(step['p90'])} / {_ms(step['p99'])} ms",
            "wait p50 / p99": f"{_ms(wait['p50'])} / {_ms(wait['p99'])} ms",
            "compute p50": f"{_ms(summary['compute_ms']['p50'])} ms" + _device_busy_text(run.outcome.device_busy),
            "fill mean / max": f"{fill['mean'] if fill['mean'] is not None else '–'} / {fill['max']}"
                               + (f" of {capacity}" if capacity else ""),
        }
        for name, text in texts.items():
            self.values[name].setText(text)


def _service_text(service) -> str:
    """`worker 1: 98 elements, CPU 1.2 s · worker 2: …` of a tf_data_service stage's workers."""
    if not service or not service.get("servers"):
        return "–"
    workers = [server for server in service["servers"] if "elements" in server]
    parts = [f"{server['name']}: {server['elements']:,} elements, CPU {server['cpu_s'] or 0:.1f} s"
             for server in workers]
    if service.get("elements_elsewhere"):
        parts.append(f"other machines: {service['elements_elsewhere']:,} elements")
    return " · ".join(parts) or f"{len(service['servers'])} servers"


def _service_details(service) -> str:
    if not service or not service.get("servers"):
        return ""
    return f"dispatcher {service['dispatcher']}\n{SERVICE_SECURITY}"


def _stalls_text(stalls: list) -> str:
    if not stalls:
        return "none"
    longest = max(stalls, key=lambda stall: stall.seconds)
    return f"{len(stalls)}; longest {longest.seconds:.1f} s {longest.where()}"


def _device_busy_text(result: dict) -> str:
    """` · device busy 0.82 ms (steps 20–30)` once a tf.profiler capture measured it, else nothing."""
    if result.get("device_busy_ms") is None:
        return ""
    first, last = result["captured_steps"]
    return f" · device busy {result['device_busy_ms']:.2f} ms (steps {first}–{last})"


def _cpu_text(run: RunView) -> str:
    """`input 38% · model 55% · profiler 3% of 2 cores`: shares of the host's cores over the last
    couple of seconds while the run goes, since its start once it has ended."""
    split = run.cpu_split
    if split and "unavailable" in split:
        return "unavailable"
    shares = host_shares(split, recent=not run.outcome.status.ended)
    if shares is None:
        return "–"
    cores = split["cores"]
    shown = ("input", "model", "profiler") + (("service",) if split.get("processes") else ())
    parts = " · ".join(f"{category} {100 * shares[category]:.0f}%" for category in shown)
    return f"{parts} of {cores} core{'s' if cores != 1 else ''}"


def _cpu_details(run: RunView) -> str:
    """The tooltip: CPU seconds since the start, or why there are none."""
    figures = cpu_summary(run.cpu_split)
    if "unavailable" in figures:
        return figures["unavailable"]
    shown = ("input", "model", "profiler", "other") + (("service",) if figures["processes"] else ())
    seconds = " · ".join(f"{category} {figures[category + '_s']:.1f} s" for category in shown)
    return (f"CPU since the start: {seconds} of {figures['total_s']:.1f} s used "
            f"({figures['wall_s']:.1f} s × {figures['cores']} cores)")


def _device_text(run: RunView) -> str:
    """`/GPU:0 · NVIDIA A100 (compute capability 8.0)`, or the CPU's model."""
    details = run.device_details or {}
    name, capability = details.get("name"), details.get("compute_capability")
    described = f"{name} (compute capability {capability})" if capability else name
    return " · ".join(part for part in (run.device, described) if part) or "–"
