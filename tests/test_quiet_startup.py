"""TensorFlow's start-up lines (abseil's preamble, oneDNN notes, CUDA probing) stay off the terminal
unless `--verbose` asks for them; Pipescope's own lines, a GPU problem in Pipescope's words and a
fatal error still reach it."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

import main
from tests.conftest import ROOT
from tests.test_gpu_setup import cpu_only, fake_bin

RUN = ["run", "--preset", "whatif", "--steps", "25", "--set", "stages.cpu.ms=0", "--set", "model.step_ms=1",
       "--set", "run.warmup_steps=5"]
NOISE = ("absl::InitializeLog", "oneDNN", "cuInit", "E0000", "I0000", "W0000")
RECORD = re.compile(r"^[IWE]\d{4} ", re.MULTILINE)  # a record in abseil's format


def pipescope(*argv, path=None, **env) -> subprocess.CompletedProcess:
    """main.py in its own process, with the environment of a user who set nothing about logging."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("TF_CPP_MIN_LOG_LEVEL", "PIPESCOPE_VERBOSE")}
    if path:
        environment["PATH"] = f"{path}{os.pathsep}{os.path.dirname(sys.executable)}"
    environment.update(env)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=240)


def assert_no_noise(stderr: str) -> None:
    assert not [word for word in NOISE if word in stderr], stderr
    assert "Traceback" not in stderr, stderr


def python_with_filter(body: str) -> subprocess.CompletedProcess:
    """Python code run inside `start_up_noise_held_back()`, without TensorFlow."""
    code = ("import os, sys\nfrom core.engine.tf_runtime import start_up_noise_held_back\n"
            "before = os.fstat(2)\nwith start_up_noise_held_back():\n" + textwrap.indent(body, "    ")
            + "\nprint('fd 2 restored:', os.path.samestat(before, os.fstat(2)))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()  # "\r" kept as written
    return result


ABSEIL_NOISE = ('os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to '
                'STDERR\\n")\n'
                'os.write(2, b"E0000 00:00:1796495542.172000   21078 cuda_platform.cc:52] failed call to cuInit: '
                'UNKNOWN ERROR (303)\\n")\n')


# ------------------------------------------------------------------ main.py, end to end


@pytest.mark.parametrize("user_level", [None, "2"], ids=["level-unset", "level-2"])
def test_a_run_prints_none_of_tensorflows_start_up_lines(user_level):
    # TF_CPP_MIN_LOG_LEVEL=2, the usual advice for a quiet TensorFlow, once let every one of them through
    result = pipescope(*RUN, "--quiet", **({"TF_CPP_MIN_LOG_LEVEL": user_level} if user_level else {}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("whatif: 25 steps on ")
    assert_no_noise(result.stderr)


def test_pipescopes_own_progress_written_while_tensorflow_loads_still_shows():
    result = pipescope(*RUN, TF_CPP_MIN_LOG_LEVEL="0")  # TensorFlow at its loudest, still held back
    assert result.returncode == 0, result.stderr
    assert "whatif: 0%  building the pipeline\n" in result.stderr  # written by the main thread during the load
    assert_no_noise(result.stderr)


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_lets_tensorflows_own_lines_through_and_the_run_still_works(where):
    argv = ["--verbose", *RUN, "--quiet"] if where == "before" else [*RUN, "--quiet", "--verbose"]
    result = pipescope(*argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("whatif: 25 steps on ")
    assert RECORD.search(result.stderr), result.stderr


@cpu_only
def test_a_gpu_tensorflow_cannot_use_is_still_said_in_pipescopes_words(tmp_path):
    result = pipescope(*RUN, "--quiet", path=fake_bin(tmp_path, 0))  # nvidia-smi answers; TensorFlow sees no GPU
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: an NVIDIA GPU is present (nvidia-smi) but "
                                                   "TensorFlow sees none: "), result.stderr


@pytest.mark.parametrize("argv, command, verbose", [
    ([], "gui", False), (["--verbose"], "gui", True), (["--verbose", "run", "x.json"], "run", True),
    (["run", "x.json", "--verbose"], "run", True), (["run", "x.json"], "run", False),
    (["presets", "--verbose"], "presets", True),
])
def test_verbose_is_taken_before_or_after_the_command(argv, command, verbose):
    args = main.parse_arguments(argv)
    assert (args.command, args.verbose) == (command, verbose)


# ------------------------------------------------------------------ the filter, without TensorFlow


def test_the_filter_holds_back_noise_and_passes_everything_else_then_gives_fd_2_back():
    result = python_with_filter(ABSEIL_NOISE + 'sys.stderr.write("pipescope: 0%  building\\n")\n'
                                               'os.write(2, b"\\rbar redrawn in place")\n')
    assert result.returncode == 0, result.stderr
    assert result.stderr == "pipescope: 0%  building\n\rbar redrawn in place"
    assert "fd 2 restored: True" in result.stdout


def test_held_back_lines_are_replayed_when_loading_fails():
    result = python_with_filter(ABSEIL_NOISE + 'raise ImportError("libcudart.so.12: cannot open")\n')
    assert result.returncode == 1
    assert "failed call to cuInit" in result.stderr and "ImportError: libcudart.so.12" in result.stderr
    assert result.stderr.index("cuInit") < result.stderr.index("Traceback")


def test_a_fatal_record_reaches_the_terminal_even_when_tensorflow_aborts():
    result = python_with_filter(ABSEIL_NOISE + 'os.write(2, b"F0000 00:00:1796495542.1 7 cpu_feature_guard.cc:1] '
                                               'compiled to use AVX\\n")\nos.abort()\n')
    assert result.returncode != 0
    assert result.stderr.strip() == "F0000 00:00:1796495542.1 7 cpu_feature_guard.cc:1] compiled to use AVX"
