"""Exports from the app: the plots as PNG or SVG, the window as PNG, the run's contract files."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from PyQt5 import QtWidgets

from core.outputs.run_files import finish_streamed_folder, write_run_files


def save_widget_png(widget: QtWidgets.QWidget, path) -> None:
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"{path}: cannot write PNG")


def save_plots_svg(plots, path) -> None:
    from pyqtgraph.exporters import SVGExporter  # deferred: loads only when someone exports SVG

    SVGExporter(plots.ci).export(str(path))
    if not Path(path).is_file():
        raise OSError(f"{path}: cannot write SVG")


@contextmanager
def headed(plots, headline: str):
    """The plots with `headline` above them while exporting (the app itself shows the figures beside them)."""
    plots.set_headline(headline)
    QtWidgets.QApplication.processEvents()  # lay the headline out before the plots are drawn to a file
    try:
        yield plots
    finally:
        plots.set_headline("")


def save_run_files(run, out_dir, app_figures: dict, streamed_there: bool = False) -> dict:
    """The run's folder as `run --out` leaves it (summary.json with the app's own figures, `ui_lag_ms` and
    `plot_frame_ms`; steps.csv, stages.csv, trace.json, run.json, timeline.png), written at the end by the
    same code, so `report` and File → Open run read it too. `streamed_there`: the run was recorded into
    `out_dir` as it went, so only what a stream leaves to the end is written."""
    if streamed_there:
        return finish_streamed_folder(run, Path(out_dir), app_figures)
    return write_run_files(run, Path(out_dir), extra=app_figures)
