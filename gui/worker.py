"""The QThread that owns one run, and the stream recording it to its folder.

The run is made by a `RunFactory` (core.engine.run_protocol) when one is given, else it is the
engine's `Run`.

It emits nothing per step: the GUI pulls `run.records` on a timer. QThread's
own `finished` signal says the run is over; `run.outcome` says how it ended.
The stream (started before the thread, so a folder that cannot be written is
said at once) is closed here, when the run has ended: file work stays off the
GUI thread.
"""
from __future__ import annotations

from typing import Optional

from PyQt5 import QtCore

from core.engine.outcome import RunStatus
from core.engine.run_protocol import LiveRun, RunFactory
from core.engine.runner import Run
from core.outputs.record_stream import RecordStream
from core.spec.pipeline import PipelineSpec


class RunWorker(QtCore.QThread):
    def __init__(self, spec: PipelineSpec, parent=None, profile_dir: Optional[str] = None,
                 run_factory: Optional[RunFactory] = None):
        """`profile_dir`: keep a tf.profiler capture of the run there, as `run --profile-dir` does (the
        engine's Run only: a `run_factory` makes its own run, so the two are not given together)."""
        if run_factory is not None and profile_dir:
            raise ValueError("profile_dir is for the engine's Run; a run factory makes its own run")
        super().__init__(parent)
        self.setObjectName("pipescope-run")
        self.run_obj: LiveRun = run_factory(spec) if run_factory is not None else _engine_run(spec, profile_dir)
        self.stream: Optional[RecordStream] = None  # the controller hands one in before start()

    def run(self) -> None:  # the worker thread: TensorFlow is imported here, never at start-up
        try:
            self.run_obj.run()
        except BaseException as error:  # Run.run reports failures itself; this is a last resort
            self.run_obj.outcome.status = RunStatus.FAILED
            self.run_obj.outcome.error = error
        finally:
            self._close_stream()

    def _close_stream(self) -> None:
        if self.stream is None:
            return
        try:
            self.stream.close()
        except OSError as error:  # a full disk: the run itself is whole in memory, and can be exported
            self.run_obj.outcome.warnings.append(f"its files in {self.stream.folder} stop early ({error})")

    def stop(self, wait_ms: int = 30_000) -> bool:
        """Ask the run to stop and wait for the thread; True when it has ended."""
        self.run_obj.request_stop()
        return self.wait(wait_ms)


def _engine_run(spec: PipelineSpec, profile_dir: Optional[str]) -> LiveRun:
    # `Run` is looked up here, when called: the GUI tests replace gui.worker.Run with their fake.
    return Run(spec, profile_dir=profile_dir) if profile_dir else Run(spec)
