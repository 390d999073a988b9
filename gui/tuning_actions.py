"""Tuning from the window: the bottleneck panel's one-click changes and the sweep dialog.

A recommendation (`PATH=VALUE`) goes into the document as any edit does, so undo and the canvas
follow; while a run goes it reaches the run at its next step boundary (the window sends every
edit), else it starts a run with the change. Either way the panel is told what to expect, and then
follows the history's current run to set what was achieved beside it. A watched script's job is
analyzed from its records (the panel is handed the current run); one that has ended takes no change,
and the panel says how to make it instead of asking here.
"""
from __future__ import annotations

from typing import Optional

from core.outputs.summary import build_summary
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec, parse_assignment
from gui.analysis_panel import AnalysisPanel
from gui.menus import add_action
from gui.sweep_dialog import SweepDialog, apply_to_document, open_sweep_dialog


class TuningActions:
    def __init__(self, window):
        self.window = window
        controller = window.controller
        self.panel = AnalysisPanel(window.document.spec, self.summary_of_last_run, lambda: controller.running,
                                   current_run=lambda: controller.history.current)
        self.panel.apply_requested.connect(self.apply_recommendation)
        self.sweep_dialog: Optional[SweepDialog] = None  # the one open: told of the window's runs, stopped with it
        controller.state_changed.connect(self.panel.update_enabled)
        controller.current_changed.connect(lambda _entry: self.panel.update_enabled())  # a watched job is read
        controller.state_changed.connect(self._update_sweep_dialog)  # once, not once per dialog opened
        window.live_view.figures_updated.connect(lambda _summary: self.panel.follow_run(controller.history.current))

    def fill_menu(self, menu) -> None:
        add_action(menu, "&Analyze the pipeline", self.analyze, "Ctrl+B",
                   tip="Measure each stage and the model on their own; name the bottleneck and what to change")
        add_action(menu, "S&weep…", self.open_sweep, tip="Run every combination of one to three knobs' values")

    def analyze(self) -> None:
        self.window.analysis_dock.show()
        self.window.analysis_dock.raise_()
        self.panel.start()

    def summary_of_last_run(self, spec: PipelineSpec) -> Optional[dict]:
        """summary.json of the run shown, if it ran exactly this description (so its figures are this one's)."""
        entry = self.window.controller.history.current
        if entry is None or not entry.ended or entry.run.spec.to_dict() != spec.to_dict() or not len(entry.rows()):
            return None
        return build_summary(entry.run)

    def apply_recommendation(self, change: str, expected: float) -> None:
        window, controller = self.window, self.window.controller
        path, value = parse_assignment(change)
        current = controller.history.current
        try:
            window.document.set_path(path, value)
        except (SpecError, KeyError) as error:
            window.statusBar().showMessage(f"Cannot apply {change}: {error}", 30_000)
            return
        running = controller.running
        self.panel.expect(change, expected, current.id if running and current else None,
                          current.id if current else None)
        if not running:
            window.start_run()

    def open_sweep(self) -> None:
        window = self.window
        problem = window.document.first_problem()
        if problem:
            window.statusBar().showMessage(f"Fix this before a sweep: {problem}", 30_000)
            return
        if self.sweep_dialog is not None:  # one sweep at a time: the open one comes to the front
            self.sweep_dialog.raise_()
            self.sweep_dialog.activateWindow()
            return
        dialog = open_sweep_dialog(window, window.document.spec(),
                                   apply_best=lambda assignments: apply_to_document(window.document, assignments),
                                   is_running=lambda: window.controller.running)
        dialog.destroyed.connect(self._sweep_dialog_gone)  # it deletes itself on close
        self.sweep_dialog = dialog

    def _sweep_dialog_gone(self) -> None:
        self.sweep_dialog = None

    def _update_sweep_dialog(self) -> None:
        if self.sweep_dialog is not None:
            self.sweep_dialog.update_enabled()

    def shutdown(self) -> None:
        """The window closes: an open sweep's run is stopped (closing the dialog waits for its thread), and a
        measurement in progress is waited for."""
        if self.sweep_dialog is not None:
            self.sweep_dialog.close()
        self.panel.shutdown()
