"""The run's tf.profiler capture: a window of whole steps, each with a step marker.

It measures the device's own busy time. The host's view of a step's compute
includes launching its kernels; on a fast GPU the device itself may be busy for
a fraction of that. A capture of a few whole sync windows, early in the run,
measures what the device did: on a GPU the union of its kernels on all streams
(copies left out: they are transfer, not compute); on the CPU the union of the
model's TensorFlow ops on the inter-op threads, where a `tf.function` runs them
(tf.data and the eager ops of queue producers run on threads of their own). The
profiler is started and stopped right after a sync, so its own cost falls
between steps, in `between`.

With `run --profile-dir DIR` the same session (TensorFlow allows one at a time)
covers `run.profile_steps` steps after the warm-up and is kept in DIR, in the
layout TensorBoard and `xprof --logdir DIR` read (DIR/plugins/profile/<run>/<host>.xplane.pb).
While a session records, each step carries XProf's step marker (a `train`
TraceMe with `step_num` and `_r=1`), so XProf's step-based tools (input pipeline
analyzer, overview page) see the runner's own steps; unprofiled steps pay one
attribute check.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from core.engine.tf_runtime import tensorflow

CAPTURE_AFTER_STEPS = 20  # past tracing and the first allocations
STEP_MARKER = "train"  # XProf takes a root TraceMe named train… (no '/') as an explicit host step marker
OPEN_WITH = "xprof --logdir {}"
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
    """Starts tf.profiler after a sync once the run is past its first steps, stops it after a few more.

    The runner calls `begin_step(step)` as it asks for a batch and `end_step()` once the step is done:
    both do nothing unless a session records."""

    def __init__(self, device: str, steps: int, first_step: int = CAPTURE_AFTER_STEPS,
                 not_measured: Optional[str] = None, profile_dir: Optional[str] = None):
        """`not_measured`: why the device's busy time is not measured (None: measure it). `profile_dir`:
        keep the capture there (then `steps` after `first_step` are captured, measured or not)."""
        self.device, self.steps, self.first_step = device, steps, first_step
        self.profile_dir = None if profile_dir is None else str(Path(profile_dir).resolve())
        self._measuring = not_measured is None
        self._logdir: Optional[str] = None
        self._files_before: set = set()
        self._started_at: Optional[int] = None
        self._marker = None  # the open step marker, while a session records
        self._trace = None  # tf.profiler.experimental.Trace, looked up once a session starts
        self._waiting = steps > 0 and (self._measuring or self.profile_dir is not None)
        never = f"the run ended before the capture (it starts after step {first_step})"
        reason = not_measured or ("not measured: run.capture_steps is 0" if steps <= 0 else f"not measured: {never}")
        self.result: dict = {"device_busy_ms": None, "device_busy": reason}
        self.profile: Optional[dict] = None if self.profile_dir is None else {
            "dir": self.profile_dir, "file": None, "steps": None, "reason": f"not captured: {never}"}

    def begin_step(self, step: int) -> None:
        if self._started_at is not None:
            self._marker = self._trace(STEP_MARKER, step_num=step, _r=1)

    def end_step(self) -> None:
        if self._marker is not None:
            marker, self._marker = self._marker, None
            marker.__exit__(None, None, None)

    def after_sync(self, steps_done: int) -> None:
        if self._waiting and steps_done >= self.first_step:
            self._waiting = False
            self._start(steps_done)
        elif self._started_at is not None and steps_done - self._started_at >= self.steps:
            self.finish(steps_done)

    def _start(self, steps_done: int) -> None:
        tf = tensorflow()
        if self.profile_dir is not None:
            self._logdir = self.profile_dir
            self._files_before = set(_captures_in(self._logdir))
        else:
            self._logdir = tempfile.mkdtemp(prefix="pipescope-capture-")
        try:
            tf.profiler.experimental.start(self._logdir, options=self._options(tf))
        except Exception as error:  # another profiler session is running, or none can be started here
            self._done(f"not measured: tf.profiler could not start ({error})", f"not captured: tf.profiler "
                                                                               f"could not start ({error})")
            return
        self._trace = tf.profiler.experimental.Trace
        self._started_at = steps_done

    def _options(self, tf):
        """Trace no more of the host than what is used: ops on the CPU, nothing on a GPU (its tracer is
        apart), unless the capture is kept: XProf's input analysis needs the host's ops."""
        host_level = 1 if "GPU" in self.device.upper() and self.profile_dir is None else 2
        return tf.profiler.experimental.ProfilerOptions(host_tracer_level=host_level, python_tracer_level=0,
                                                        device_tracer_level=1)

    def finish(self, steps_done: int) -> None:
        """Stop a capture still open (also at the end of the run) and measure it."""
        if self._started_at is None:
            return
        self.end_step()  # the step the run ended in, or the last of the window: done by now
        tf = tensorflow()
        first, self._started_at = self._started_at, None
        try:
            tf.profiler.experimental.stop()
        except Exception as error:
            self._done(f"not measured: the capture could not be read ({error})",
                       f"not captured: tf.profiler could not write it ({error})")
            return
        files = [path for path in _captures_in(self._logdir) if path not in self._files_before]
        kept = self._kept(files[-1:], first, steps_done)
        try:
            busy = self._measure(files[-1:], first, steps_done) if self._measuring else None
        except Exception as error:
            busy = f"not measured: the capture could not be read ({error})"
        self._done(busy, kept)

    def _kept(self, files: list, first: int, last: int) -> Optional[dict]:
        if self.profile_dir is None:
            return None
        if not files:
            return {"dir": self.profile_dir, "file": None, "steps": None,
                    "reason": "not captured: tf.profiler wrote no .xplane.pb"}
        return {"dir": self.profile_dir, "file": str(files[0]), "steps": [first, last], "marker": STEP_MARKER,
                "open_with": OPEN_WITH.format(self.profile_dir)}

    def _measure(self, files: list, first: int, last: int):
        from tensorflow.tsl.profiler.protobuf import xplane_pb2  # ships with TensorFlow
        space = xplane_pb2.XSpace()
        for path in files:
            space.ParseFromString(path.read_bytes())
        busy = busy_ns(space, self.device)
        if last <= first:
            return "not measured: the run ended as the capture began"
        if busy is None:
            return f"not measured: the capture holds no events of {self.device}"
        return {"device_busy_ms": round(busy / (last - first) / 1e6, 4), "captured_steps": [first, last],
                "device_busy": _what_was_counted(self.device)}

    def _done(self, result, profile=None) -> None:
        if self._measuring:
            self.result = result if isinstance(result, dict) else {"device_busy_ms": None, "device_busy": result}
        if self.profile_dir is None:
            shutil.rmtree(self._logdir, ignore_errors=True)
        elif isinstance(profile, dict):
            self.profile = profile
        elif profile is not None:
            self.profile = {"dir": self.profile_dir, "file": None, "steps": None, "reason": profile}


def _captures_in(logdir: str) -> list[Path]:
    """The captures in a TensorBoard log folder, oldest first (each session's folder is named by its time)."""
    return sorted(Path(logdir).glob("plugins/profile/*/*.xplane.pb"))


def _what_was_counted(device: str) -> str:
    if "GPU" in device.upper():
        return "measured by tf.profiler: the union of the device's kernels on all streams, copies left out"
    return "measured by tf.profiler: the union of the model's TensorFlow ops on the CPU's inter-op threads"
