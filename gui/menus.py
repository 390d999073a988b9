"""The main window's menu bar: File, Edit, Presets (each with a line saying what it is), Run, Export, View."""
from __future__ import annotations

from PyQt5 import QtGui, QtWidgets

from core.spec.params import SpecError
from core.spec.presets import load_preset, preset_names
from core.spec.pipeline import PipelineSpec


def describe_pipeline(spec: PipelineSpec) -> str:
    """The file's own one-line description, else the chain it describes."""
    if spec.description.strip():
        return spec.description.strip()
    chain = " → ".join([spec.source.kind, *(stage.id for stage in spec.stages)])
    return f"{chain}; {spec.feeder.kind} feeder, {spec.model.kind} model"


def add_action(menu, text: str, slot, shortcut=None, tip: str = "") -> QtWidgets.QAction:
    action = menu.addAction(text)
    action.triggered.connect(lambda _checked=False: slot())
    if shortcut:
        action.setShortcut(QtGui.QKeySequence(shortcut))
    action.setStatusTip(tip)
    return action


def build_menus(window) -> None:
    bar = window.menuBar()
    _file_menu(window, bar.addMenu("&File"))
    _edit_menu(window, bar.addMenu("&Edit"))
    _presets_menu(window, bar.addMenu("&Presets"))
    run = bar.addMenu("&Run")
    run.addActions([window.toolbar.run_action, window.toolbar.stop_action])
    add_action(run, "Capture the next run with tf.&profiler…", lambda: ask_profile_dir(window),
               tip="Keep a tf.profiler capture of the next run (run.profile_steps steps after its warm-up, with "
                   "step markers) in a folder TensorBoard and `xprof --logdir` open")
    run.addSeparator()
    window.tuning.fill_menu(run)
    exports = bar.addMenu("E&xport")
    window.export_actions.fill_menu(exports)
    window.code_actions.fill_menu(exports)
    view = bar.addMenu("&View")
    view.addActions([dock.toggleViewAction() for dock in (window.palette_dock, window.inspector_dock,
                                                          window.whatif_dock, window.summary_dock,
                                                          window.segments_dock, window.analysis_dock,
                                                          window.history_dock)])


def ask_profile_dir(window) -> None:
    folder = QtWidgets.QFileDialog.getExistingDirectory(window, "Folder for the next run's tf.profiler capture")
    if folder:
        window.controller.profile_next = folder
        window.statusBar().showMessage(f"The next run keeps a tf.profiler capture in {folder}; open it with "
                                       f"`xprof --logdir {folder}`", 30_000)


def _file_menu(window, files) -> None:
    add_action(files, "&Open…", window.ask_open, QtGui.QKeySequence.Open)
    add_action(files, "Open &run…", window.run_folder_actions.ask_open_run, "Ctrl+Shift+O",
               tip="Show a run recorded in its folder (the app's runs, or run --out DIR) as a run that has ended")
    add_action(files, "&Watch script…", window.watch_actions.ask_watch_script,
               tip="Run your own training script unchanged and see its tf.data input live, as a run")
    add_action(files, "&Save", window.save, QtGui.QKeySequence.Save)
    add_action(files, "Save &As…", window.ask_save_as, QtGui.QKeySequence.SaveAs)
    files.addMenu(window.recent.menu)
    files.addSeparator()
    add_action(files, "Open s&ession…", window.session_actions.ask_open_session,
               tip="Open a saved session: its pipeline, and its runs in the Runs list")
    add_action(files, "Save sessio&n…", window.session_actions.ask_save_session,
               tip="Save the pipeline and the session's runs (by the folders they are recorded in)")
    files.addSeparator()
    add_action(files, "&Quit", window.close, QtGui.QKeySequence.Quit)


def _edit_menu(window, edit) -> None:
    undo = window.document.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut(QtGui.QKeySequence.Undo)
    redo = window.document.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcut(QtGui.QKeySequence.Redo)
    edit.addActions([undo, redo])
    edit.addSeparator()
    editor = window.editor
    add_action(edit, "&Delete stage", editor.delete_selected, QtGui.QKeySequence.Delete)
    add_action(edit, "Move stage &left", lambda: editor.move_selected(-1), "Ctrl+Left")
    add_action(edit, "Move stage &right", lambda: editor.move_selected(1), "Ctrl+Right")


def _presets_menu(window, presets) -> None:
    presets.setToolTipsVisible(True)
    for name in preset_names():
        try:
            description = describe_pipeline(load_preset(name))
        except SpecError as error:  # a broken preset file is listed with its reason, not hidden
            description = str(error)
        action = add_action(presets, f"{name} — {description}", lambda name=name: window.ask_load_preset(name),
                            tip=description)
        action.setToolTip(description)
