"""The shape DESIGN.md promises, checked: the import contracts in .importlinter, and at run time
that core works without Qt and that reading descriptions loads no TensorFlow."""
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"  # import-linter's command, in this venv
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / ".importlinter"), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "0 broken" in result.stdout, result.stdout + result.stderr


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_every_core_module_imports_and_runs_without_qt():
    code = (
        "import importlib, pkgutil, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PyQt5', 'pyqtgraph'):\n"
        "            raise ImportError('Qt is blocked in core: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import core\n"
        "for module in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(module.name)\n"
        "from core.spec.presets import load_preset\n"
        "from core.engine.runner import Run\n"
        "from core.spec.pipeline import apply_overrides\n"
        "spec = apply_overrides(load_preset('whatif'), [('run.steps', 5), ('stages.cpu.ms', 0)])\n"
        "run = Run(spec); run.run(); assert run.outcome.status == 'finished', run.outcome.error\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr


def test_reading_descriptions_and_starting_the_app_load_no_tensorflow():
    code = (
        "import sys\n"
        "from core.spec.presets import load_preset, preset_names\n"
        "from core.spec.kinds.stages import stage_label\n"
        "import core.engine.runner, gui.main_window\n"
        "for name in preset_names(): [stage_label(s) for s in load_preset(name).stages]\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
