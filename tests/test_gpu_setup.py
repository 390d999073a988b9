"""The GPU path, tested on a CPU: which TensorFlow set-up installs (a fake nvidia-smi on PATH),
when the venv is reinstalled, the one-line warnings about a GPU TensorFlow cannot use or will
JIT-compile for, device details, and memory growth in every process."""
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.engine.tf_runtime import (GpuFacts, cpu_model_name, device_details, parse_capability, runnable_kernels,
                             smi_capabilities, warnings_for)
from tests.conftest import ROOT

SELECT = ROOT / "scripts" / "tensorflow_requirements.sh"
BASH = shutil.which("bash")
TF_2_21_BUILD = ("sm_60", "sm_70", "sm_80", "sm_89", "compute_90")  # tf.sysconfig.get_build_info() here


def fake_bin(tmp_path: Path, nvidia_smi_exit: int | None, with_timeout: bool = True, query: str = "8.6") -> Path:
    """A PATH directory with a fake nvidia-smi exiting with that code (None: no nvidia-smi)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    if nvidia_smi_exit is not None:
        script = bin_dir / "nvidia-smi"
        script.write_text(textwrap.dedent(f"""\
            #!/bin/sh
            case "$1" in --query-gpu=*) echo {query};; *) echo "fake nvidia-smi";; esac
            exit {nvidia_smi_exit}
            """))
        script.chmod(0o755)
    if with_timeout:
        (bin_dir / "timeout").symlink_to(shutil.which("timeout"))
    return bin_dir


def select(bin_dir: Path, **env) -> str:
    result = subprocess.run([BASH, str(SELECT)], env={"PATH": str(bin_dir), **env},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# ------------------------------------------------------------------ which requirements file


@pytest.mark.parametrize("with_timeout", [True, False])
def test_nvidia_smi_that_answers_selects_tensorflow_with_cuda(tmp_path, with_timeout):
    assert select(fake_bin(tmp_path, 0, with_timeout)) == "requirements-gpu.txt"


@pytest.mark.parametrize("with_timeout", [True, False])
def test_nvidia_smi_that_fails_selects_plain_tensorflow(tmp_path, with_timeout):
    assert select(fake_bin(tmp_path, 1, with_timeout)) == "requirements.txt"


def test_no_nvidia_smi_selects_plain_tensorflow(tmp_path):
    assert select(fake_bin(tmp_path, None)) == "requirements.txt"


def test_the_choice_can_be_forced(tmp_path):
    assert select(fake_bin(tmp_path / "none", None), PIPESCOPE_GPU="yes") == "requirements-gpu.txt"
    assert select(fake_bin(tmp_path / "gpu", 0), PIPESCOPE_GPU="no") == "requirements.txt"


def pins(path: Path) -> dict:
    found = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z-]+\])?==(\S+)", line.strip())
        if match:
            found[match.group(1).lower()] = (match.group(2), match.group(3))
    return found


def test_gpu_requirements_pin_the_same_tensorflow_with_cuda_and_keep_the_rest():
    gpu, cpu = pins(ROOT / "requirements-gpu.txt"), pins(ROOT / "requirements.txt")
    assert gpu["tensorflow"] == ("[and-cuda]", cpu["tensorflow"][1])
    assert "-r requirements.txt" in (ROOT / "requirements-gpu.txt").read_text().splitlines()
    assert all(version for _, version in gpu.values())


# ------------------------------------------------------------------ reinstall when the choice changes


@pytest.fixture
def project(tmp_path):
    """A copy of the set-up scripts with a fake venv python that logs its pip calls, and dpkg that has everything."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "tensorflow_requirements.sh"):
        shutil.copy2(ROOT / "scripts" / name, root / "scripts" / name)
    for name in ("requirements.txt", "requirements-gpu.txt", "requirements-test.txt"):
        shutil.copy2(ROOT / name, root / name)
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$@" >> "{root}/pip.log"\n')
    python.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "find", "cat", "id", "timeout", "basename"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "dpkg").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "dpkg").chmod(0o755)
    return root, bin_dir


def set_up(root: Path, bin_dir: Path, requirements: str = "requirements.txt") -> list[str]:
    """Source setup.sh as run.sh does; the pip installs it made."""
    log = root / "pip.log"
    log.unlink(missing_ok=True)
    result = subprocess.run([BASH, "-c", f'. "{root}/scripts/setup.sh" {requirements}'],
                            env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in log.read_text().splitlines() if "-r" in line] if log.exists() else []


def set_nvidia_smi(bin_dir: Path, exit_code: int | None) -> None:
    (bin_dir / "nvidia-smi").unlink(missing_ok=True)
    if exit_code is not None:
        (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\nexit {exit_code}\n")
        (bin_dir / "nvidia-smi").chmod(0o755)


def test_setup_installs_cuda_tensorflow_where_nvidia_smi_answers_and_reinstalls_when_that_changes(project):
    root, bin_dir = project
    installs = set_up(root, bin_dir)
    assert installs == [f"-m pip install -q --disable-pip-version-check -r {root}/requirements.txt"]
    assert set_up(root, bin_dir) == []  # nothing changed: no install
    set_nvidia_smi(bin_dir, 0)  # the same venv on a GPU machine
    installs = set_up(root, bin_dir)
    assert installs == [f"-m pip install -q --disable-pip-version-check -r {root}/requirements.txt "
                        f"-r {root}/requirements-gpu.txt"]
    assert set_up(root, bin_dir) == []
    set_nvidia_smi(bin_dir, 9)  # the driver went away
    assert len(set_up(root, bin_dir)) == 1
    # test.sh's own stamp, with the GPU back: test requirements plus CUDA TensorFlow
    set_nvidia_smi(bin_dir, 0)
    installs = set_up(root, bin_dir, "requirements-test.txt --real-display")
    assert installs[0].endswith(f"-r {root}/requirements-test.txt -r {root}/requirements-gpu.txt")


def test_a_changed_requirements_file_still_reinstalls(project):
    root, bin_dir = project
    set_up(root, bin_dir)
    stamp = root / ".venv" / ".installed-requirements.txt"
    os.utime(stamp, (1, 1))
    assert len(set_up(root, bin_dir)) == 1


# ------------------------------------------------------------------ the warnings, from facts


def no_gpu_line(facts: GpuFacts) -> str:
    lines = warnings_for(facts)
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("warning: an NVIDIA GPU is present (nvidia-smi) but TensorFlow sees none: ")
    return lines[0]


def test_no_warning_without_a_gpu_or_with_a_gpu_tensorflow_was_built_for():
    assert warnings_for(GpuFacts()) == []
    assert warnings_for(GpuFacts(is_cuda_build=True, build_capabilities=TF_2_21_BUILD)) == []
    for capability in [(6, 0), (7, 5), (8, 0), (8, 6), (8, 9)]:
        facts = GpuFacts(nvidia_smi_answers=True, visible_gpus=(("NVIDIA X", capability),),
                         is_cuda_build=True, build_capabilities=TF_2_21_BUILD, cuda_wheels_installed=True)
        assert warnings_for(facts) == [], capability


def test_gpu_present_but_tensorflow_built_without_cuda():
    line = no_gpu_line(GpuFacts(nvidia_smi_answers=True, is_cuda_build=False))
    assert "built without CUDA support" in line and "run ./run.sh again" in line


def test_gpu_present_but_cuda_libraries_missing():
    line = no_gpu_line(GpuFacts(nvidia_smi_answers=True, is_cuda_build=True, build_capabilities=TF_2_21_BUILD))
    assert "CUDA libraries are not installed" in line and "tensorflow[and-cuda]" in line


def test_gpu_hidden_by_cuda_visible_devices():
    line = no_gpu_line(GpuFacts(nvidia_smi_answers=True, cuda_visible_devices="-1"))
    assert "CUDA_VISIBLE_DEVICES='-1' hides it" in line


def test_gpu_too_old_for_the_build():
    line = no_gpu_line(GpuFacts(nvidia_smi_answers=True, smi_capabilities=((5, 2),), is_cuda_build=True,
                                build_capabilities=TF_2_21_BUILD, cuda_wheels_installed=True))
    assert "compute capability 5.2 is below the 6.0" in line


def test_gpu_unusable_for_another_reason_points_at_tensorflows_own_log():
    line = no_gpu_line(GpuFacts(nvidia_smi_answers=True, smi_capabilities=((8, 6),), is_cuda_build=True,
                                build_capabilities=TF_2_21_BUILD, cuda_wheels_installed=True))
    assert "start Pipescope with --verbose" in line


@pytest.mark.parametrize("capability", [(9, 0), (10, 0), (12, 0)])
def test_a_card_newer_than_the_build_warns_of_jit_compilation(capability):
    facts = GpuFacts(nvidia_smi_answers=True, visible_gpus=(("NVIDIA H", capability), ("NVIDIA H", capability)),
                     is_cuda_build=True, build_capabilities=TF_2_21_BUILD, cuda_wheels_installed=True)
    [line] = warnings_for(facts)
    assert f"NVIDIA H (compute capability {capability[0]}.{capability[1]})" in line
    assert "JIT-compiled" in line and "30 minutes" in line and "tensorflow#62320" in line


def test_a_card_with_no_kernels_at_all():
    facts = GpuFacts(nvidia_smi_answers=True, visible_gpus=(("old", (5, 0)),), is_cuda_build=True,
                     build_capabilities=TF_2_21_BUILD, cuda_wheels_installed=True)
    [line] = warnings_for(facts)
    assert "no kernels for old (compute capability 5.0)" in line


def test_kernel_compatibility_follows_cuda_rules():
    assert runnable_kernels((8, 6), TF_2_21_BUILD) == "binary"  # sm_80 cubin runs on 8.6
    assert runnable_kernels((8, 9), TF_2_21_BUILD) == "binary"
    assert runnable_kernels((9, 0), TF_2_21_BUILD) == "ptx"  # only compute_90 PTX
    assert runnable_kernels((12, 0), TF_2_21_BUILD) == "ptx"
    assert runnable_kernels((5, 2), TF_2_21_BUILD) == "none"
    assert runnable_kernels((9, 0), ("sm_90", "compute_90")) == "binary"


def test_capabilities_are_parsed_from_every_form_they_come_in():
    assert parse_capability("8.6") == (8, 6)
    assert parse_capability((9, 0)) == (9, 0)
    assert parse_capability("sm_89") == (8, 9)
    assert parse_capability("compute_120") == (12, 0)
    assert parse_capability("[N/A]") is None
    assert smi_capabilities("8.6\n9.0\n") == ((8, 6), (9, 0))
    assert smi_capabilities(None) == ()


# ------------------------------------------------------------------ device details


def test_cpu_details_name_the_cpu_model():
    assert cpu_model_name("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    assert cpu_model_name("") != ""
    details = device_details("/CPU:0")
    assert details["compute_capability"] is None and details["name"]


# ------------------------------------------------------------------ in a real process, on this CPU


def run_python(code: str, bin_dir: Path, **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("TF_FORCE_GPU_ALLOW_GROWTH", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES",
                                  "PIPESCOPE_VERBOSE")}
    environment.update(PATH=f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}", **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=180)


WARN_CODE = ("import sys\n"
             "from core.engine.tf_runtime import gpu_warnings, load_tensorflow, model_device\n"
             "load_tensorflow()\n"
             "print('device', model_device())\n"
             "for line in gpu_warnings(): print(line, file=sys.stderr)\n")


def _cpu_only_tensorflow() -> bool:
    """These two tests fake a GPU next to a TensorFlow without CUDA: on a GPU machine, whose set-up
    installed tensorflow[and-cuda], TensorFlow would see the real card instead."""
    from importlib import metadata

    from core.engine.tf_runtime import CUDA_WHEELS

    try:
        metadata.version(CUDA_WHEELS[0])
    except metadata.PackageNotFoundError:
        return True
    return False


cpu_only = pytest.mark.skipif(not _cpu_only_tensorflow(), reason="this venv has tensorflow[and-cuda] (a GPU machine)")


@cpu_only
def test_a_gpu_this_tensorflow_cannot_use_is_said_in_one_line_on_stderr(tmp_path):
    result = run_python(WARN_CODE, fake_bin(tmp_path, 0))
    assert result.returncode == 0, result.stderr
    assert "device /CPU:0" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: an NVIDIA GPU is present (nvidia-smi) but TensorFlow sees none: ")
    assert "CUDA libraries are not installed" in lines[0]  # this venv has plain tensorflow


@cpu_only
def test_no_gpu_means_no_warning_and_no_noise(tmp_path):
    result = run_python(WARN_CODE, fake_bin(tmp_path, None))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_memory_growth_is_set_before_tensorflow_in_every_entry_point(tmp_path):
    code = "import os, {module}; print(os.environ['TF_FORCE_GPU_ALLOW_GROWTH'])"
    for module in ("main", "core.engine.tf_runtime"):
        result = run_python(code.format(module=module), fake_bin(tmp_path / module, None))
        assert result.stdout.strip() == "true", (module, result.stderr)
    result = run_python(code.format(module="core.engine.tf_runtime"), fake_bin(tmp_path / "kept", None),
                        TF_FORCE_GPU_ALLOW_GROWTH="false")
    assert result.stdout.strip() == "false"


def test_tensorflows_own_start_up_lines_show_only_when_asked_for(tmp_path):
    load = "from core.engine.tf_runtime import load_tensorflow; load_tensorflow()"
    # a low TF_CPP_MIN_LOG_LEVEL is no switch: TensorFlow prints most of these lines whatever the level says
    quiet = run_python(load, fake_bin(tmp_path / "q", None), TF_CPP_MIN_LOG_LEVEL="0")
    loud = run_python(load, fake_bin(tmp_path / "l", None), PIPESCOPE_VERBOSE="1")  # what main.py --verbose sets
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert quiet.stderr.strip() == ""
    assert "cuda" in loud.stderr.lower()  # e.g. "Could not find cuda drivers on your machine"
