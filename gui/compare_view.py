"""The A/B view: a window of its own showing two or more runs of the session overlaid, side by side and diffed.

`show_entries(entries)` takes runs of the history (the first is the baseline) as they are at that
moment — a run still going is compared as far as it has got — and shows: a legend naming each run in
its colour with its headline figures; the overlay plots (gui.overlay_plots); the figures side by side
with each later run's differences to the baseline (core.analysis.comparison, as `compare` prints
them); and how each description differs from the baseline's (core.spec.diff). The comparison itself
is core.outputs.compare_files' (`compare_recorded`), so the app and `compare` agree.

`export_to(folder)` (no dialog; Export… asks for the folder) writes compare.json and compare.png
for the runs recorded on disk, through `compare_runs`, the same as `python main.py compare`.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from PyQt5 import QtCore, QtGui, QtWidgets

from core.analysis.comparison import figures_table
from core.outputs.compare_files import Comparison, compare_recorded, compare_runs, run_label, write_compare_files
from core.spec.params import SpecError
from gui.overlay_plots import OverlaidRun, OverlayPlots, run_color

DIFFERENCE_COLOR = QtGui.QColor(90, 90, 90)
NOTICE_MS = 30_000


class CompareView(QtWidgets.QWidget):
    def __init__(self, last_folder, parent=None):
        super().__init__(parent, QtCore.Qt.Window)
        self.setWindowTitle("Compare runs — Pipescope")
        self.last_folder = last_folder
        self.entries: list = []
        self.comparison: Optional[Comparison] = None
        self.legend = QtWidgets.QLabel()
        self.legend.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.plots = OverlayPlots()
        self.figures = QtWidgets.QTableWidget()
        self.figures.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.figures.verticalHeader().hide()
        self.figures.horizontalHeader().setStretchLastSection(True)
        # Rows as tight as the text: every figure in view without scrolling, under plots that keep their room.
        self.figures.verticalHeader().setDefaultSectionSize(self.figures.fontMetrics().height() + 6)
        self.descriptions = QtWidgets.QPlainTextEdit()
        self.descriptions.setReadOnly(True)
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.export_button = QtWidgets.QPushButton("Export compare.json and compare.png…")
        self.export_button.setToolTip("Write the comparison's files into a folder, as `python main.py compare` "
                                      "does (runs recorded on disk only)")
        self.export_button.clicked.connect(self.ask_export)
        self._build_layout()
        self.resize(1150, 860)

    def _build_layout(self) -> None:
        tables = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        tables.addWidget(_titled("Figures side by side (warm-up left out); differences against the first run",
                                 self.figures))
        tables.addWidget(_titled("How each description differs from the first run's", self.descriptions))
        tables.setSizes([640, 460])
        parts = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        parts.addWidget(self.plots)
        parts.addWidget(tables)
        parts.setStretchFactor(0, 3)
        parts.setStretchFactor(1, 2)
        parts.setSizes([480, 320])
        footer = QtWidgets.QHBoxLayout()
        footer.addWidget(self.note, 1)
        footer.addWidget(self.export_button)
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        column.addWidget(self.legend)
        column.addWidget(parts, 1)
        column.addLayout(footer)

    # ------------------------------------------------------------ showing runs

    def show_entries(self, entries) -> None:
        """Compare these runs of the history (two or more, the first being the baseline) and show the window."""
        for entry in entries:
            entry.pull()  # a run that went on while another was shown has steps not pulled yet
        self.entries = list(entries)
        self.comparison = compare_recorded([(entry.label, entry.run, entry.rows()) for entry in self.entries])
        self.plots.show_runs([OverlaidRun(entry.label, entry.rows(), entry.run.spec.run["warmup_steps"],
                                          [change.t for change in entry.outcome.changes]) for entry in self.entries])
        self.legend.setText(self._legend_html())
        self._show_figures()
        self.descriptions.setPlainText("\n".join(self.comparison.description_lines()))
        self.note.setText(self._caveats())
        self.show()
        self.raise_()
        self.activateWindow()

    def _legend_html(self) -> str:
        lines = []
        for index, compared in enumerate(self.comparison.runs):
            figures = compared.summary
            baseline = " (baseline)" if index == 0 else ""
            lines.append(f"<span style='color: rgb{run_color(index)}; font-size: 16pt;'>■</span> "
                         f"<b>{html.escape(compared.label)}</b>{baseline} — {figures['steps']:,} steps, "
                         f"{figures['steps_per_s']:.1f} steps/s, idle {100 * figures['idle_fraction']:.1f}%, "
                         f"{html.escape(figures.get('verdict') or '')}")
        return "<br>".join(lines)

    def _show_figures(self) -> None:
        rows = figures_table([run.summary for run in self.comparison.runs], [run.label for run in self.comparison.runs])
        header, body = rows[0], rows[1:]
        self.figures.clear()
        self.figures.setColumnCount(len(header))
        self.figures.setRowCount(len(body))
        self.figures.setHorizontalHeaderLabels(["figure", *header[1:]])
        for row, cells in enumerate(body):
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if column > 0:
                    item.setTextAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
                if column > 1 and column % 2 == 1:  # `B vs A` columns: the differences, quieter than the values
                    item.setForeground(DIFFERENCE_COLOR)
                self.figures.setItem(row, column, item)
        self.figures.resizeColumnsToContents()

    def _caveats(self) -> str:
        """What to know about the runs compared: still going, cut off, not on disk."""
        lines = []
        for entry in self.entries:
            if not entry.ended:
                lines.append(f"{entry.label} was still going: compared as far as it had got "
                             f"({len(entry.rows()):,} steps).")
            elif entry.cut_off:
                lines.append(f"{entry.label} was cut off (killed or crashed): compared as far as it got.")
        return " ".join(lines)

    # ------------------------------------------------------------ export

    def export_to(self, folder) -> str:
        """compare.json and compare.png in `folder` (made if needed) for the runs recorded on disk; what was
        done, in words. SpecError when fewer than two runs are on disk, or a folder cannot be read or written."""
        on_disk = [entry for entry in self.entries if entry.folder is not None]
        left_out = [entry.label for entry in self.entries if entry.folder is None]
        if len(on_disk) < 2:
            raise SpecError(f"compare.json and compare.png need two runs recorded on disk, and only "
                            f"{len(on_disk)} of these is ({', '.join(left_out)}: not recorded)")
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SpecError(f"{folder}: cannot create the folder ({error.strerror or error})") from None
        json_path, png_path = write_compare_files(compare_runs([entry.folder for entry in on_disk]), folder)
        letters = ", ".join(f"{run_label(index)} = {entry.label}" for index, entry in enumerate(on_disk))
        said = f"Wrote {json_path.name} and {png_path.name} to {folder} ({letters})."
        if left_out:
            said += f" Left out, not recorded on disk: {', '.join(left_out)}."
        self.note.setText(said)
        return said

    def ask_export(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export the comparison into a folder",
                                                            self.last_folder.path_for())
        if not folder:
            return
        self.last_folder.remember(f"{folder}/compare.json")
        try:
            self.export_to(folder)
        except (SpecError, OSError) as error:
            QtWidgets.QMessageBox.warning(self, "Pipescope", str(error))


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    host = QtWidgets.QWidget()
    column = QtWidgets.QVBoxLayout(host)
    column.setContentsMargins(0, 4, 0, 0)
    caption = QtWidgets.QLabel(title)
    caption.setWordWrap(True)
    caption.setStyleSheet("color: #555;")
    column.addWidget(caption)
    column.addWidget(widget, 1)
    return host
