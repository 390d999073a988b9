"""The QThread that measures a description's stages and model in isolation (`analyze`), off the GUI thread.

TensorFlow runs here, as it does in a run's worker; the panel hears progress and the result by signal.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore

from core.experiments.bottleneck_analysis import analyze_pipeline
from core.spec.params import SpecError
from core.spec.pipeline import PipelineSpec

SECONDS_PER_PART = 0.5  # per prefix and round, and for the model: the app's analysis takes seconds, not a minute


class AnalysisWorker(QtCore.QThread):
    progress = QtCore.pyqtSignal(str)
    analysed = QtCore.pyqtSignal(dict)
    failed = QtCore.pyqtSignal(str)

    def __init__(self, spec: PipelineSpec, run_summary: Optional[dict], parent=None):
        super().__init__(parent)
        self.setObjectName("pipescope-analysis")
        self.spec, self.run_summary = spec, run_summary

    def run(self) -> None:
        try:
            analysis = analyze_pipeline(self.spec, self.run_summary, SECONDS_PER_PART, self.progress.emit)
        except SpecError as error:  # the description cannot be built: its path and reason
            self.failed.emit(str(error))
            return
        except Exception as error:  # a stage that fails while measured: said in the panel, never a crash
            self.failed.emit(f"{type(error).__name__}: {error}".strip().splitlines()[0])
            return
        self.analysed.emit(analysis)
