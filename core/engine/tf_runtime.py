"""Loading TensorFlow quietly, the device it will compute on, and why it may not be the GPU.

Quiet means TensorFlow's own start-up noise (abseil's preamble, oneDNN notes, CUDA probing
such as "failed call to cuInit") stays off the terminal unless the user asks for it
(`main.py --verbose`, see `let_tensorflow_log`). What the user must know — a GPU TensorFlow
cannot use, kernels it will JIT-compile — is worked out here from plain facts (`GpuFacts`)
and returned as lines by `gpu_warnings()`, for the caller to print and show: it never goes
through the stderr that is filtered while TensorFlow loads.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from typing import Optional

from core.engine.precise_time import tighten_timer_slack

# Read by TensorFlow's GPU allocator when it creates a device, in this process and in every
# process it starts (they inherit the environment): memory is taken as needed, not all at once.
# A value the user set (e.g. "false") is kept.
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")

QUIET_LOG_LEVEL = "3"
LOUD_LOG_LEVEL = "0"
# "1": TensorFlow's own start-up lines reach the terminal untouched. Carried by the environment, as
# TensorFlow's TF_CPP_MIN_LOG_LEVEL is, so that the processes Pipescope starts follow the same choice.
VERBOSE_ENV = "PIPESCOPE_VERBOSE"
# TensorFlow's start-up lines that tell a user nothing they can act on: abseil's preamble, and its
# records below FATAL (oneDNN, CUDA probing, CPU features). They are written to fd 2 by the native
# libraries' static initialisers, before TensorFlow reads TF_CPP_MIN_LOG_LEVEL, which therefore cannot
# hide them; once per library that logs as it loads, hence twice. A FATAL record (TensorFlow is about
# to abort) is not noise: it is the only explanation the user gets.
START_UP_NOISE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\].*"  # abseil: I0000 00:00:1796495055.004347  5593 port.cc:153] …
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\].*"  # TensorFlow's own, before it used abseil
    rb"|To enable the following instructions: .*"  # the second line of the CPU-features record
)
# The filter fd 2 goes through while TensorFlow starts, as a child process: a FATAL record written just
# before TensorFlow aborts the process still reaches the terminal, which a thread of the dying process
# could not promise. argv: the noise pattern, the fd that keeps the held-back lines. A piece of a line
# (a progress bar redrawn in place) goes on at once: abseil writes each record whole, in one write.
NOISE_FILTER = (
    "import os, re, sys\n"
    "noise, held = re.compile(sys.argv[1].encode()), int(sys.argv[2])\n"
    "while chunk := os.read(0, 65536):\n"
    "    for line in chunk.splitlines(keepends=True):\n"
    "        os.write(held if noise.fullmatch(line.rstrip(b'\\r\\n')) else 1, line)\n"
)
NOISE_FILTER_DRAIN_TIMEOUT_S = 5
NVIDIA_SMI_TIMEOUT_S = 10
# The pip distributions `tensorflow[and-cuda]` adds; TensorFlow loads CUDA from them.
CUDA_WHEELS = ("nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12", "nvidia-cublas-cu12")
RERUN_SETUP = "run ./run.sh again on this machine to install tensorflow[and-cuda]"

Capability = tuple[int, int]


def tensorflow():
    """The TensorFlow module, loaded quietly the first time (`load_tensorflow`). The engine's modules ask
    for it here, where they use it, instead of importing it at their top: the app and the CLI import the
    engine as they start, and TensorFlow (seconds to load) must load only when a run starts, on its worker."""
    return load_tensorflow()


def let_tensorflow_log() -> None:
    """`--verbose`: TensorFlow's own lines pass untouched, at the level the user set, else all of them."""
    os.environ[VERBOSE_ENV] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOUD_LOG_LEVEL)


def tensorflow_log_wanted() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _import_and_start():
    import tensorflow as tf  # deferred (see `tensorflow`): the one place the engine imports it

    tf.config.list_physical_devices("GPU")  # probing CUDA logs: "failed call to cuInit" without a GPU
    tf.config.list_logical_devices()  # starting the runtime creates the devices, which logs on a GPU
    return tf


_first_load = threading.Lock()  # two workers starting at once must not both move fd 2


@functools.lru_cache(maxsize=1)
def load_tensorflow():
    """Import TensorFlow and start its runtime with its start-up noise held back from the terminal,
    unless the user asked for TensorFlow's own lines (`let_tensorflow_log`)."""
    tighten_timer_slack()  # before TensorFlow starts its threads, which inherit it
    if tensorflow_log_wanted():
        return _import_and_start()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LOG_LEVEL)  # its later records, once it reads it
    with _first_load, start_up_noise_held_back():
        return _import_and_start()


@contextlib.contextmanager
def start_up_noise_held_back():
    """fd 2 through `NOISE_FILTER` while the block runs: START_UP_NOISE is held back; every other line —
    Pipescope's progress written by another thread, a Python warning, a FATAL record — goes on live.
    If the block fails, the held-back lines follow (they may hold the reason). fd 2 is the terminal
    again when the block ends: a run's progress and stall lines never pass the filter."""
    with tempfile.TemporaryFile() as held:
        terminal = os.dup(2)
        noise_filter = _start_noise_filter(terminal, held.fileno())
        try:
            yield
        except BaseException:
            _restore_stderr(terminal, noise_filter)
            _replay(held)
            raise
        _restore_stderr(terminal, noise_filter)


def _start_noise_filter(terminal: int, held: int) -> Optional[subprocess.Popen]:
    """The filter process, reading what is written to fd 2 from now on; None when it cannot start
    (no interpreter to run): then fd 2 stays the terminal, and TensorFlow's lines with it."""
    read_end, write_end = os.pipe()
    try:
        # Its own session: a Ctrl-C meant for the run must not stop it while fd 2 still leads to it.
        noise_filter = subprocess.Popen([sys.executable, "-I", "-S", "-c", NOISE_FILTER,
                                         START_UP_NOISE.pattern.decode(), str(held)],
                                        stdin=read_end, stdout=terminal, stderr=terminal, pass_fds=(held,),
                                        start_new_session=True)
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    sys.stderr.flush()  # Python's lines written before now belong before the filter
    os.dup2(write_end, 2)
    os.close(write_end)
    return noise_filter


def _restore_stderr(terminal: int, noise_filter: Optional[subprocess.Popen]) -> None:
    """fd 2 back to the terminal, once the filter has passed on all it was given (it ends when the last
    copy of the pipe's write end, fd 2 here, is closed)."""
    sys.stderr.flush()
    os.dup2(terminal, 2)
    os.close(terminal)
    if noise_filter is None:
        return
    try:
        noise_filter.wait(timeout=NOISE_FILTER_DRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # a process TensorFlow started holds fd 2: the filter serves it until it ends
        pass


def _replay(held) -> None:
    held.seek(0)
    sys.stderr.write(held.read().decode(errors="replace"))
    sys.stderr.flush()


def model_device() -> str:
    """The device TensorFlow places the model on: the first GPU when it sees one."""
    tf = load_tensorflow()
    return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


# ------------------------------------------------------------------ facts about the machine


@dataclasses.dataclass(frozen=True)
class GpuFacts:
    """What decides whether TensorFlow can use the GPU, gathered once (see `gather_gpu_facts`)."""

    nvidia_smi_answers: bool = False
    smi_capabilities: tuple[Optional[Capability], ...] = ()  # per card nvidia-smi lists (None: not reported)
    visible_gpus: tuple[tuple[str, Optional[Capability]], ...] = ()  # (name, capability) TensorFlow sees
    is_cuda_build: bool = False
    build_capabilities: tuple[str, ...] = ()  # e.g. ("sm_80", "compute_90") from tf.sysconfig
    cuda_wheels_installed: bool = False
    cuda_visible_devices: Optional[str] = None


def run_nvidia_smi(*args: str) -> Optional[str]:
    """nvidia-smi's output when it runs and exits 0 in time, else None."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        result = subprocess.run([executable, *args], capture_output=True, text=True,
                                timeout=NVIDIA_SMI_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def parse_capability(text) -> Optional[Capability]:
    """(8, 6) from "8.6", (8, 6) or "sm_86"; None for anything else."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        return int(text[0]), int(text[1])
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", str(text))
    if match:
        return int(match.group(1)), int(match.group(2))
    match = re.fullmatch(r"(?:sm|compute)_(\d+)(\d)[a-z]?", str(text).strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def format_capability(capability: Optional[Capability]) -> Optional[str]:
    return None if capability is None else f"{capability[0]}.{capability[1]}"


def smi_capabilities(query_output: Optional[str]) -> tuple[Optional[Capability], ...]:
    """Per card, from `nvidia-smi --query-gpu=compute_cap --format=csv,noheader` (older drivers lack it)."""
    if not query_output:
        return ()
    return tuple(parse_capability(line) for line in query_output.splitlines() if line.strip())


def cuda_wheels_installed() -> bool:
    for distribution in CUDA_WHEELS:
        try:
            importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


@functools.lru_cache(maxsize=1)
def gather_gpu_facts() -> GpuFacts:
    """The facts on this machine (loads TensorFlow, runs nvidia-smi at most twice): once per process."""
    tf = load_tensorflow()
    answers = run_nvidia_smi() is not None
    capabilities = smi_capabilities(run_nvidia_smi("--query-gpu=compute_cap", "--format=csv,noheader")
                                    if answers else None)
    visible = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = _gpu_details(tf, gpu)
        visible.append((details.get("device_name", gpu.name),
                        parse_capability(details.get("compute_capability"))))
    build = dict(tf.sysconfig.get_build_info())
    return GpuFacts(
        nvidia_smi_answers=answers,
        smi_capabilities=capabilities,
        visible_gpus=tuple(visible),
        is_cuda_build=bool(build.get("is_cuda_build")),
        build_capabilities=tuple(build.get("cuda_compute_capabilities") or ()),
        cuda_wheels_installed=cuda_wheels_installed(),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )


def _gpu_details(tf, gpu) -> dict:
    try:
        return dict(tf.config.experimental.get_device_details(gpu))
    except (ValueError, RuntimeError):  # details are best effort: the device itself works
        return {}


# ------------------------------------------------------------------ the warnings (pure)


def runnable_kernels(capability: Capability, build_capabilities) -> str:
    """How this build runs kernels on a card: "binary", "ptx" (JIT-compiled at first use) or "none".

    CUDA runs a cubin built for sm_XY on a card X.Z with Z ≥ Y (same major version) and
    JIT-compiles PTX built for compute_XY on any card at or above X.Y.
    """
    binary, ptx = False, False
    for entry in build_capabilities:
        built = parse_capability(entry)
        if built is None:
            continue
        if entry.startswith("sm_") and built[0] == capability[0] and built[1] <= capability[1]:
            binary = True
        if entry.startswith("compute_") and built <= capability:
            ptx = True
    return "binary" if binary else "ptx" if ptx else "none"


def warnings_for(facts: GpuFacts) -> list[str]:
    """One line per problem, each with its cause; [] when TensorFlow uses the GPU as built for it."""
    if facts.nvidia_smi_answers and not facts.visible_gpus:
        return [f"warning: an NVIDIA GPU is present (nvidia-smi) but TensorFlow sees none: "
                f"{_why_no_gpu(facts)}; the run uses the CPU"]
    lines = []
    built_for = ", ".join(facts.build_capabilities)
    for capability in sorted({capability for _, capability in facts.visible_gpus if capability}):
        names = sorted({name for name, card in facts.visible_gpus if card == capability})
        cards = f"{' and '.join(names)} (compute capability {format_capability(capability)})"
        kernels = runnable_kernels(capability, facts.build_capabilities)
        if kernels == "ptx":
            lines.append(f"warning: this TensorFlow has no kernels built for {cards}, only PTX "
                         f"(built for {built_for}): they are JIT-compiled at first use, which can "
                         f"take 30 minutes or longer (tensorflow#62320)")
        elif kernels == "none" and facts.build_capabilities:
            lines.append(f"warning: this TensorFlow has no kernels for {cards} (built for {built_for}): "
                         f"operations on it will fail")
    return lines


def _why_no_gpu(facts: GpuFacts) -> str:
    hidden = facts.cuda_visible_devices
    if hidden is not None and hidden.strip() in ("", "-1"):
        return f"CUDA_VISIBLE_DEVICES={hidden!r} hides it"
    if not facts.is_cuda_build:
        return f"this TensorFlow was built without CUDA support; {RERUN_SETUP}"
    if not facts.cuda_wheels_installed:
        return f"the CUDA libraries are not installed (plain tensorflow, not tensorflow[and-cuda]); {RERUN_SETUP}"
    minimum = min((c for c in map(parse_capability, facts.build_capabilities) if c), default=None)
    known = [c for c in facts.smi_capabilities if c]
    if minimum and known and all(c < minimum for c in known):
        return (f"its compute capability {format_capability(max(known))} is below the "
                f"{format_capability(minimum)} this TensorFlow supports")
    return ("TensorFlow could not initialise CUDA (a driver older than this TensorFlow's CUDA, "
            "or broken libraries); start Pipescope with --verbose to see TensorFlow's own reasons")


def gpu_warnings() -> list[str]:
    """One-line warnings about the GPU on this machine, to print at the start of a run and show in the app."""
    return warnings_for(gather_gpu_facts())


# ------------------------------------------------------------------ the device, described


def cpu_model_name(cpuinfo: Optional[str] = None) -> str:
    """The CPU's model, from /proc/cpuinfo on Linux, else what `platform` knows."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
                cpuinfo = file.read()
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def device_details(device: str) -> dict:
    """{"name", "compute_capability"} of a device string such as "/GPU:0" or "/CPU:0".

    A GPU's capability is "8.6"-like; the CPU's is None.
    """
    match = re.search(r"GPU:(\d+)", device, re.IGNORECASE)
    if not match:
        return {"name": cpu_model_name(), "compute_capability": None}
    tf = load_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    index = int(match.group(1))
    if index >= len(gpus):
        return {"name": device, "compute_capability": None}
    details = _gpu_details(tf, gpus[index])
    return {"name": details.get("device_name", gpus[index].name),
            "compute_capability": format_capability(parse_capability(details.get("compute_capability")))}
