"""The Runs dock: the session's runs, newest first; click one to show it, tick two or more to compare them.

It reads the run history (core.experiments.history) and nothing else: `refresh()` is called on signals
the window already has (a run starting or ending, the current run changing, the live view's 2 Hz
figures), rebuilds the list only when the history's `revision` moved, and otherwise updates the step
counts of runs still going. Clicking a run asks the controller to show it; the tick boxes pick the
runs for the A/B view (gui.compare_view), the oldest ticked being the baseline.
"""
from __future__ import annotations

from PyQt5 import QtCore, QtGui, QtWidgets

from core.analysis.metrics import summarize
from core.experiments.history import RunEntry
from gui.compare_view import CompareView

# A dock beside the plots is narrow: the tick box shares the label's column, so that the label keeps its room.
PICK = LABEL = 0
STATUS, STEPS, RATE = 1, 2, 3
HEADERS = ("run", "status", "steps", "steps/s")  # lower case, as the run summary names them
CURRENT_BACKGROUND = QtGui.QColor(225, 236, 250)
HINT = "Click a run to show it in the plots. Tick two or more and Compare to overlay them (the oldest " \
       "ticked is the baseline)."


class HistoryPanel(QtWidgets.QWidget):
    def __init__(self, controller, last_folder, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.history = controller.history
        self._last_folder = last_folder
        self._compare_view = None  # a pyqtgraph window of its own: made on the first Compare, not at start-up
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(HEADERS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setFrameShape(QtWidgets.QFrame.NoFrame)  # every pixel of width goes to the labels
        font = self.tree.font()  # a point smaller: four columns and a label in a dock a third of the plots' width
        font.setPointSizeF(font.pointSizeF() - 1)
        self.tree.setFont(font)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.NoSelection)  # the shown run is highlighted instead
        self.tree.setMinimumHeight(3 * self.tree.fontMetrics().height())  # no taller than its tab group needs
        self.tree.itemPressed.connect(self._pressed_on)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemChanged.connect(self._ticked)
        self.compare_button = QtWidgets.QPushButton()
        self.compare_button.setToolTip("Overlay the ticked runs and set their figures and descriptions side by side")
        self.compare_button.clicked.connect(self.compare_picked)
        # By entry, not by id: a session opened may bring back ids this window has used for other runs.
        self._picked: set[RunEntry] = set()  # the ticked runs, kept across rebuilds
        self._rates: dict[RunEntry, str] = {}  # steps/s of ended runs, worked out once each
        self._revision = None
        self._pressed = None  # (item, its tick state) when the mouse went down on it
        self._build_layout()
        self.refresh()

    @property
    def compare_view(self) -> CompareView:
        if self._compare_view is None:
            self._compare_view = CompareView(self._last_folder, parent=self)
        return self._compare_view

    def close_compare_view(self) -> None:
        """The app closes: its comparison window, if one was ever made, goes with it."""
        if self._compare_view is not None:
            self._compare_view.close()

    def _build_layout(self) -> None:
        self.tree.setToolTip(HINT)  # no caption: the dock shares its place with the run summary
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 2)
        column.addWidget(self.tree, 1)
        column.addWidget(self.compare_button)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(LABEL, QtWidgets.QHeaderView.Stretch)
        for section in (STATUS, STEPS, RATE):
            header.setSectionResizeMode(section, QtWidgets.QHeaderView.ResizeToContents)

    # ------------------------------------------------------------ reading the history

    def refresh(self, *_args) -> None:
        """Rebuild the list if the history changed; else only the figures of runs still going (cheap)."""
        if self.history.revision != self._revision:
            self._rebuild()
        else:
            for item in self._items():
                entry = self._entry(item)
                if entry is not None and (not entry.ended or item.text(STATUS) != _status(entry)):
                    self._fill(item, entry)

    def _rebuild(self) -> None:
        self._revision = self.history.revision
        kept = set(self.history.entries)
        self._picked &= kept
        self._rates = {entry: rate for entry, rate in self._rates.items() if entry in kept}
        self.tree.clear()
        for entry in reversed(self.history.entries):  # newest first: the run just made is at the top
            item = QtWidgets.QTreeWidgetItem()
            item.setData(LABEL, QtCore.Qt.UserRole, entry.id)
            item.setFlags(QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsUserCheckable)
            item.setCheckState(PICK, QtCore.Qt.Checked if entry in self._picked else QtCore.Qt.Unchecked)
            self._fill(item, entry)
            self.tree.addTopLevelItem(item)
        self._update_compare_button()

    def _fill(self, item: QtWidgets.QTreeWidgetItem, entry: RunEntry) -> None:
        item.setText(LABEL, entry.label)
        item.setToolTip(LABEL, f"{entry.label}\n{entry.folder or 'not recorded on disk'}")
        item.setText(STATUS, _status(entry))
        item.setText(STEPS, f"{len(entry.run.records):,}")  # a length: read without pulling the rows
        item.setText(RATE, self._rate(entry))
        for section in (STEPS, RATE):
            item.setTextAlignment(section, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        shown = entry is self.history.current  # highlighted, not bold: bold text would need wider columns
        for section in range(len(HEADERS)):
            item.setBackground(section, CURRENT_BACKGROUND if shown else QtGui.QBrush())

    def _rate(self, entry: RunEntry) -> str:
        """Steps per second as its summary counts them (warm-up left out), once it has ended."""
        if not entry.ended:
            return "–"
        if entry not in self._rates:
            entry.pull()  # a run shown elsewhere while it went may not have had its last steps pulled
            figures = summarize(entry.rows(), entry.run.spec.run["warmup_steps"], entry.run.capacity)
            self._rates[entry] = f"{figures['steps_per_s']:.1f}" if figures["steps"] else "–"
        return self._rates[entry]

    def _items(self) -> list[QtWidgets.QTreeWidgetItem]:
        return [self.tree.topLevelItem(index) for index in range(self.tree.topLevelItemCount())]

    def _entry(self, item: QtWidgets.QTreeWidgetItem):
        try:
            return self.history.get(item.data(LABEL, QtCore.Qt.UserRole))
        except KeyError:  # dropped since the list was built: the next refresh removes it
            return None

    # ------------------------------------------------------------ the user

    def _pressed_on(self, item: QtWidgets.QTreeWidgetItem, _column: int) -> None:
        self._pressed = (item, item.checkState(PICK))

    def _clicked(self, item: QtWidgets.QTreeWidgetItem, _column: int) -> None:
        # A press on the tick box goes to the box (Qt's delegate takes it, and says no itemPressed): such a
        # click picks the run for comparing, and the plots stay on the run they show.
        pressed, self._pressed = self._pressed, None
        if pressed == (item, item.checkState(PICK)):
            self._show(item)

    def _show(self, item: QtWidgets.QTreeWidgetItem) -> None:
        entry = self._entry(item)
        if entry is None or entry is self.history.current:
            return
        self.controller.show_entry(entry.id)
        self.refresh()

    def _ticked(self, item: QtWidgets.QTreeWidgetItem, _column: int) -> None:
        # Every text set on an item is an itemChanged too: only a tick box that changed counts.
        entry = self._entry(item)
        ticked = item.checkState(PICK) == QtCore.Qt.Checked
        if entry is None or ticked == (entry in self._picked):
            return
        if ticked:
            self._picked.add(entry)
        else:
            self._picked.discard(entry)
        self._update_compare_button()

    def pick(self, entry_ids) -> None:
        """Tick these runs (and untick the others), as the user would."""
        for item in self._items():
            wanted = item.data(LABEL, QtCore.Qt.UserRole) in set(entry_ids)
            item.setCheckState(PICK, QtCore.Qt.Checked if wanted else QtCore.Qt.Unchecked)

    def picked(self) -> list[RunEntry]:
        """The ticked runs, oldest first: the first is the baseline."""
        return [entry for entry in self.history.entries if entry in self._picked]

    def _update_compare_button(self) -> None:
        count = len(self.picked())
        self.compare_button.setEnabled(count >= 2)  # until then, its text says what to do
        self.compare_button.setText(f"Compare {count} runs" if count >= 2 else "Tick two runs or more to compare")

    def compare_picked(self) -> None:
        entries = self.picked()
        if len(entries) >= 2:
            self.compare_view.show_entries(entries)


def _status(entry: RunEntry) -> str:
    return "cut off" if entry.cut_off else str(entry.status)
