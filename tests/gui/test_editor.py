"""The editor: building a pipeline through the editor's own actions, undo, validation, files."""
from __future__ import annotations

import subprocess
import sys

from PyQt5 import QtCore, QtGui

from gui.document import FEEDER, PIPELINE, SOURCE, stage_key
from gui.pipeline_editor import STAGE_MIME
from tests.gui.conftest import ROOT, type_into


def test_window_opens_without_tensorflow():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from gui.qt_app import ensure_qapp; app = ensure_qapp()\n"
            "from gui.main_window import MainWindow; from core.spec.presets import load_preset\n"
            "w = MainWindow(); w.load_spec(load_preset('seed_tf_data')); w.show(); app.processEvents()\n"
            "assert w.toolbar.run_action.isEnabled()\n"
            "print('tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")


def test_add_reorder_delete_with_undo(window):
    editor, document = window.editor, window.document
    assert document.stage_ids() == ["batch", "io", "cpu", "prefetch"]
    editor.select(stage_key("batch"))
    assert editor.add_stage("shuffle") == "shuffle"  # after the selection
    assert document.stage_ids() == ["batch", "shuffle", "io", "cpu", "prefetch"]
    editor.move_selected(-1)
    assert document.stage_ids()[:2] == ["shuffle", "batch"]
    editor.delete_selected()
    assert "shuffle" not in document.stage_ids()
    document.undo_stack.undo()
    assert document.stage_ids()[:2] == ["shuffle", "batch"]
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.stage_ids() == ["batch", "io", "cpu", "prefetch"]
    document.undo_stack.redo()
    assert "shuffle" in document.stage_ids()
    assert len(editor.items) == len(document.stage_ids()) + 3  # source, stages, feeder, model


def test_drop_from_palette_inserts_where_it_lands(window):
    view, editor = window.editor.view, window.editor
    mime = QtCore.QMimeData()
    mime.setData(STAGE_MIME, b"cache")
    first_stage = editor.items[stage_key("batch")]
    point = view.mapFromScene(first_stage.pos() + QtCore.QPointF(5, 10))
    drop = QtGui.QDropEvent(QtCore.QPointF(point), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton,
                            QtCore.Qt.NoModifier)
    view.dropEvent(drop)
    assert window.document.stage_ids()[0] == "cache"


def test_drag_a_block_to_reorder(window, qtbot):
    editor = window.editor
    editor.select(stage_key("cpu"))
    editor.stage_dropped(stage_key("cpu"), QtCore.QPointF(0.0, 0.0))  # dropped left of every stage
    assert window.document.stage_ids()[0] == "cpu"


def test_inspector_edits_and_invalid_values_block_run(window):
    editor, inspector, document = window.editor, window.inspector, window.document
    editor.select(stage_key("cpu"))
    assert set(inspector.editors) == {"ms", "num_parallel_calls"}
    calls = inspector.editors["num_parallel_calls"]
    assert "Elements processed at once" in calls.toolTip()
    calls.special.setChecked(True)  # the AUTOTUNE toggle
    assert document.block(stage_key("cpu"))["num_parallel_calls"] == "AUTOTUNE"
    type_into(inspector.editors["ms"].field, "2.5")
    assert document.block(stage_key("cpu"))["ms"] == 2.5
    assert window.toolbar.run_action.isEnabled()

    document.set_value(stage_key("cpu"), "num_parallel_calls", 0)
    problem = document.problems()[stage_key("cpu")]
    assert problem.startswith("stage 'cpu': num_parallel_calls must be ≥ 1")
    assert not window.toolbar.run_action.isEnabled()
    assert "num_parallel_calls" in window.toolbar.blocked_reason.text()
    assert "invalid" in editor.texts_for(stage_key("cpu"))[2]
    assert inspector.editors["num_parallel_calls"].styleSheet()  # marked
    assert not window.start_run()
    document.undo_stack.undo()
    assert window.toolbar.run_action.isEnabled()


def test_component_kind_and_pipeline_settings(window):
    window.editor.select(FEEDER)
    window.inspector.kind_combo.activated[str].emit("queue_runner")
    assert window.document.block(FEEDER)["kind"] == "queue_runner"
    assert set(window.inspector.editors) == {"capacity", "threads"}
    window.editor.select(SOURCE)
    window.inspector.editors["shape"].line.setText("0, 3")
    window.inspector.editors["shape"].line.editingFinished.emit()
    assert SOURCE in window.document.problems()
    window.editor.select(PIPELINE)
    type_into(window.toolbar.steps, "77")
    assert window.document.block(PIPELINE)["steps"] == 77


def test_save_open_and_recent_files(window, tmp_path):
    window.editor.add_stage("cache")
    assert window.document.is_modified and window.windowTitle().startswith("whatif *")
    path = tmp_path / "mine.json"
    window.save_to(str(path))
    assert not window.document.is_modified
    window.load_spec(__import__("core.spec.presets").spec.presets.load_preset("seed_tf_data"))
    window.open_path(str(path))
    assert "cache" in window.document.stage_ids()
    assert window.recent.paths()[0] == str(path.resolve())


def test_unsaved_changes_are_asked_about_on_close(window, monkeypatch):
    from PyQt5 import QtWidgets

    window.editor.select(stage_key("batch"))
    window.editor.add_stage("shuffle")
    answers = [QtWidgets.QMessageBox.Cancel, QtWidgets.QMessageBox.Discard]
    asked = []

    def question(*args, **kwargs):
        asked.append(args[2])
        return answers.pop(0)

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    assert not window.close()  # cancelled: the window stays, the edit with it
    assert window.isVisible() and "shuffle" in window.document.stage_ids()
    assert window.close()  # discarded
    assert len(asked) == 2 and "Save the changes" in asked[0]


def test_a_watched_scripts_pipeline_has_no_length_and_cannot_be_run_from_here(window):
    from core.spec.kinds.from_script import script_placeholder
    from core.spec.pipeline import spec_from_dict
    from core.spec.presets import load_preset

    toolbar = window.toolbar
    assert toolbar.length_action.isVisible() and toolbar.run_action.isEnabled()
    window.load_spec(spec_from_dict(script_placeholder("train") | {"stages": [
        {"id": "slow_read", "kind": "map", "num_parallel_calls": 1,
         "origin": {"file": "/home/u/train.py", "line": 27, "function": "slow_read"}}]}))
    assert not toolbar.length_action.isVisible() and not toolbar.steps_action.isVisible()
    assert not toolbar.run_action.isEnabled()
    assert "watched script's own code" in toolbar.blocked_reason.text()
    window.load_spec(load_preset("whatif"))
    assert toolbar.length_action.isVisible() and toolbar.run_action.isEnabled()


def test_the_stages_a_service_stage_moves_out_of_the_process_are_marked_on_the_canvas(window):
    editor, document = window.editor, window.document
    editor.select(stage_key("io"))
    service = editor.add_stage("tf_data_service")  # after io: the source, batch and io run on its workers
    assert document.stage_ids() == ["batch", "io", service, "cpu", "prefetch"]
    for key in (SOURCE, stage_key("batch"), stage_key("io")):
        assert editor.texts_for(key)[0].endswith(" · on service"), key
    for key in (stage_key(service), stage_key("cpu"), stage_key("prefetch"), FEEDER):
        assert "tf.data service" not in editor.texts_for(key)[0], key
    assert "no authentication" in editor.tooltip_for(stage_key(service))  # its help says what it exposes
    document.undo_stack.undo()
    assert editor.moved_to(SOURCE) is None and editor.moved_to(stage_key("io")) is None
