"""The device's own busy time, from a short tf.profiler capture of a few steps.

The host's view of a step's compute includes launching its kernels; on a fast
GPU the device itself may be busy for a fraction of that. A capture of a few
whole sync windows, early in the run, measures what the device did: on a GPU
the union of its kernels on all streams (copies left out: they are transfer,
not compute); on the CPU the union of the model's TensorFlow ops on the
inter-op threads, where a `tf.function` runs them (tf.data and the eager ops
of queue producers run on threads of their own). The profiler is started and
stopped right after a sync, so its own cost falls between steps, in `between`.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from core.engine.tf_runtime import tensorflow

CAPTURE_AFTER_STEPS = 20  # past tracing and the first allocations
_COPY_EVENT_PREFIXES = ("Memcpy", "Memset")
_CPU_OP_THREAD_PREFIX = "tf_Compute"


@dataclass
class Interval:
    start_ns: float
    end_ns: float


def busy_ns(space, device: str) -> Optional[float]:
    """Nanoseconds the device was busy in a captured XSpace; None when it holds nothing of that device."""
    intervals = _gpu_kernels(space, device) if "GPU" in device.upper() else _cpu_ops(space)
    return None if intervals is None else _union_length(intervals)


def _gpu_kernels(space, device: str) -> Optional[list[Interval]]:
    plane_name = "/device:GPU:" + device.rsplit(":", 1)[-1]
    plane = next((plane for plane in space.planes if plane.name == plane_name), None)
    if plane is None:
        return None
    return [interval for line in plane.lines if line.name.startswith("Stream #")
            for interval in _events(plane, line, _is_kernel)]


def _cpu_ops(space) -> Optional[list[Interval]]:
    plane = next((plane for plane in space.planes if plane.name == "/host:CPU"), None)
    if plane is None:
        return None
    return [interval for line in plane.lines if line.name.startswith(_CPU_OP_THREAD_PREFIX)
            for interval in _events(plane, line, _is_op)]


def _is_kernel(name: str) -> bool:
    return not name.startswith(_COPY_EVENT_PREFIXES)


def _is_op(name: str) -> bool:
    """TensorFlow names an op's execution `name:Type`; its own bookkeeping is `Class::method`."""
    return ":" in name and "::" not in name


def _events(plane, line, wanted) -> list[Interval]:
    names = plane.event_metadata
    base_ps = line.timestamp_ns * 1000
    return [Interval((base_ps + event.offset_ps) / 1000, (base_ps + event.offset_ps + event.duration_ps) / 1000)
            for event in line.events if event.duration_ps and wanted(names[event.metadata_id].name)]


def _union_length(intervals: list[Interval]) -> float:
    total, end = 0.0, float("-inf")
    for interval in sorted(intervals, key=lambda interval: interval.start_ns):
        if interval.end_ns <= end:
            continue
        total += interval.end_ns - max(interval.start_ns, end)
        end = interval.end_ns
    return total


class DeviceCapture:
    """Starts tf.profiler after a sync once the run is past its first steps, stops it after a few more."""

    def __init__(self, device: str, steps: int, first_step: int = CAPTURE_AFTER_STEPS,
                 not_measured: Optional[str] = None):
        """`not_measured`: why no capture is taken at all (None: take one)."""
        self.device, self.steps, self.first_step = device, steps, first_step
        self._logdir: Optional[str] = None
        self._started_at: Optional[int] = None
        self._waiting = steps > 0 and not_measured is None
        reason = not_measured or ("not measured: run.capture_steps is 0" if steps <= 0 else
                                  f"not measured: the run ended before the capture (it starts after step {first_step})")
        self.result: dict = {"device_busy_ms": None, "device_busy": reason}

    def after_sync(self, steps_done: int) -> None:
        if self._waiting and steps_done >= self.first_step:
            self._waiting = False
            self._start(steps_done)
        elif self._started_at is not None and steps_done - self._started_at >= self.steps:
            self.finish(steps_done)

    def _start(self, steps_done: int) -> None:
        tf = tensorflow()
        self._logdir = tempfile.mkdtemp(prefix="pipescope-capture-")
        try:
            tf.profiler.experimental.start(self._logdir, options=self._options(tf))
        except Exception as error:  # another profiler session is running, or none can be started here
            self._done(f"not measured: tf.profiler could not start ({error})")
            return
        self._started_at = steps_done

    def _options(self, tf):
        """Trace no more of the host than what is counted: ops on the CPU, nothing on a GPU (its tracer is apart)."""
        host_level = 1 if "GPU" in self.device.upper() else 2
        return tf.profiler.experimental.ProfilerOptions(host_tracer_level=host_level, python_tracer_level=0,
                                                        device_tracer_level=1)

    def finish(self, steps_done: int) -> None:
        """Stop a capture still open (also at the end of the run) and measure it."""
        if self._started_at is None:
            return
        tf = tensorflow()
        first, self._started_at = self._started_at, None
        try:
            tf.profiler.experimental.stop()
            self._done(self._measure(first, steps_done))
        except Exception as error:
            self._done(f"not measured: the capture could not be read ({error})")

    def _measure(self, first: int, last: int):
        from tensorflow.tsl.profiler.protobuf import xplane_pb2  # ships with TensorFlow
        space = xplane_pb2.XSpace()
        for path in sorted(Path(self._logdir).rglob("*.xplane.pb"))[-1:]:
            space.ParseFromString(path.read_bytes())
        busy = busy_ns(space, self.device)
        if last <= first:
            return "not measured: the run ended as the capture began"
        if busy is None:
            return f"not measured: the capture holds no events of {self.device}"
        return {"device_busy_ms": round(busy / (last - first) / 1e6, 4), "captured_steps": [first, last],
                "device_busy": _what_was_counted(self.device)}

    def _done(self, result) -> None:
        self.result = result if isinstance(result, dict) else {"device_busy_ms": None, "device_busy": result}
        shutil.rmtree(self._logdir, ignore_errors=True)


def _what_was_counted(device: str) -> str:
    if "GPU" in device.upper():
        return "measured by tf.profiler: the union of the device's kernels on all streams, copies left out"
    return "measured by tf.profiler: the union of the model's TensorFlow ops on the CPU's inter-op threads"
