"""Export → As script… and Copy as code write the pipeline shown as a script; a watched run's tuned values
come back as a patch of its script (issue 17 §1)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PyQt5 import QtWidgets

from core.spec.pipeline import apply_overrides
from core.spec.presets import load_preset
from gui.document import stage_key

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "watch_scripts"


def test_the_pipeline_shown_is_saved_as_a_script_and_copied_as_code(window, tmp_path):
    window.load_spec(apply_overrides(load_preset("whatif"), [("stages.batch.batch_size", 48)]))
    written = window.code_actions.save_script(tmp_path / "mine.py")
    text = written[0].read_text()
    assert "ds = ds.batch(48, drop_remainder=True)" in text and "python mine.py" in text
    compile(text, "mine.py", "exec")
    window.code_actions.copy_as_code()
    assert QtWidgets.QApplication.clipboard().text() == text.replace("python mine.py", "python whatif.py")
    assert "clipboard" in window.statusBar().currentMessage()


def test_a_pipeline_with_a_problem_is_not_written_and_the_problem_is_said(window, monkeypatch):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    window.document.set_value(stage_key("batch"), "batch_size", 0)
    QtWidgets.QApplication.clipboard().setText("before")
    window.code_actions.copy_as_code()
    assert QtWidgets.QApplication.clipboard().text() == "before"
    assert said and said[0].startswith("the pipeline has a problem to fix first: ")


def test_a_watched_runs_changes_come_back_as_a_patch_of_its_script(window, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: said.append(text))
    window.code_actions._ask_patch()  # nothing watched yet
    assert said == ["The run shown did not watch a script: File → Watch script… first."]
    script = tmp_path / "tunable_loop.py"
    shutil.copy(SCRIPTS / "tunable_loop.py", script)
    subprocess.run([sys.executable, str(ROOT / "main.py"), "watch", "--out", str(tmp_path / "run"), "--change-at",
                    "5", "stages.double.num_parallel_calls=4", str(script)], check=True, capture_output=True,
                   timeout=180)
    window.run_folder_actions.open_run_folder(tmp_path / "run")
    diff, unplaced = window.code_actions.patch_text()
    assert unplaced == []
    assert "-dataset = dataset.map(double)\n+dataset = dataset.map(double, num_parallel_calls=4)\n" in diff
    assert diff.startswith("--- a/tunable_loop.py\n+++ b/tunable_loop.py\n")
