"""The shape DESIGN.md promises: core imports no Qt, and reading descriptions imports no TensorFlow."""
import subprocess
import sys

from tests.conftest import ROOT

CORE_MODULES = ["core.spec", "core.params", "core.stages", "core.sources", "core.feeders", "core.models",
                "core.build", "core.runner", "core.records", "core.metrics", "core.export", "core.presets",
                "core.sample_data", "core.tf_runtime"]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_core_imports_without_qt():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PyQt5', 'pyqtgraph'):\n"
        "            raise ImportError('Qt is blocked in core: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        + "".join(f"import {module}\n" for module in CORE_MODULES)
        + "from core.presets import load_preset\n"
        "from core.runner import Run\n"
        "from core.spec import apply_overrides\n"
        "spec = apply_overrides(load_preset('whatif'), [('run.steps', 5), ('stages.cpu.ms', 0)])\n"
        "run = Run(spec); run.run(); assert run.outcome.status == 'finished', run.outcome.error\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


def test_reading_descriptions_does_not_load_tensorflow():
    code = (
        "import sys\n"
        "from core.presets import load_preset, preset_names\n"
        "from core.stages import STAGES, stage_label\n"
        "import core.runner\n"
        "for name in preset_names(): [stage_label(s) for s in load_preset(name).stages]\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
