"""The what-if panel: the pipeline's knobs as sliders, whether the model launches ahead, and where (if
anywhere) a cache goes.

Rows come from the kind catalog (gui.whatif_knobs): one per knob the loaded pipeline has, labelled
`io · num_parallel_calls`. Every change goes through the document, as an inspector edit does, so undo,
the canvas and the inspector follow, and while a run goes the main window sends it to the run, which
applies it at the next step boundary. A drag is one change, sent on release; the wheel and the arrow
keys are gathered for a moment first, so a run is not rebuilt for every notch. When the document
changes elsewhere the rows show its values with their signals blocked (no edit echoes back); when
its blocks change (another pipeline, a stage added) the rows are made again. While a watched script
trains, only some stage parameters can change (`hold_fixed`): the other rows and the cache's place
are shown but held.
"""
from __future__ import annotations

from typing import Any, Collection, Optional

from PyQt5 import QtCore, QtWidgets

from core.spec.params import AUTOTUNE
from gui.document import MODEL, PipelineDocument, stage_id_of
from gui.whatif_knobs import (CACHE_KIND, Knob, cache_position, cache_positions, cache_stage_id, knobs_of,
                              structure_of, why_cache_never_fills)

SETTLE_MS = 300  # wheel notches and key presses within this are one change
FLOAT_STEPS_PER_UNIT = 10  # a float slider moves in tenths (of a millisecond)
CACHE_OFF = "off"
INTRO = "During a run, a change applies at its next step."
AHEAD_TIP = ("model.sync: window — launch steps without waiting for each and sync about every 50 ms, as GPU "
             "training loops do; off: read the loss after every step")
CACHE_TIP = "Insert a cache stage (in memory) at this place, move it, or remove it"


class KnobRow(QtWidgets.QWidget):
    """One knob: its label, a slider, the number, and "auto" where the parameter takes AUTOTUNE."""

    edited = QtCore.pyqtSignal(object)  # the value to set: a number, or AUTOTUNE

    def __init__(self, knob: Knob, parent=None):
        super().__init__(parent)
        self.knob = knob
        self._shown: Any = None
        self.tip = tip = f"{knob.param.help}\n{knob.param.describe_range()}"
        self.label = QtWidgets.QLabel(knob.label)
        self.label.setToolTip(tip)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setToolTip(tip)
        self.number = _number_box(knob)
        self.auto = QtWidgets.QCheckBox("auto") if knob.param.autotune else None
        self._settle = QtCore.QTimer(self)
        self._settle.setObjectName(f"pipescope-knob-{knob.label}")
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._commit_slider)
        self._lay_out()
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(self._commit_slider)
        self.number.valueChanged.connect(self._number_entered)
        if self.auto is not None:
            self.auto.setToolTip("AUTOTUNE: tf.data chooses the value as the run goes")
            self.auto.toggled.connect(self._auto_toggled)

    def _lay_out(self) -> None:
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setVerticalSpacing(0)
        grid.addWidget(self.label, 0, 0, 1, 3)
        grid.addWidget(self.slider, 1, 0)
        grid.addWidget(self.number, 1, 1)
        if self.auto is not None:
            grid.addWidget(self.auto, 1, 2)
        grid.setColumnStretch(0, 1)

    # ------------------------------------------------------------ from the document

    def show_value(self, value: Any) -> None:
        """Show the document's value without emitting anything."""
        self._shown = value
        is_auto = value == AUTOTUNE
        with QtCore.QSignalBlocker(self.slider), QtCore.QSignalBlocker(self.number):
            if self.auto is not None:
                with QtCore.QSignalBlocker(self.auto):
                    self.auto.setChecked(is_auto)
            if _is_number(value):
                self.number.setValue(value)
                self._place_slider(value)
        self.slider.setEnabled(not is_auto)
        self.number.setEnabled(not is_auto)

    def hold(self, why: Optional[str]) -> None:
        """Held (shown, not editable), saying `why`; None: editable."""
        self.setEnabled(why is None)
        self.label.setToolTip(self.tip if why is None else f"{why}\n{self.tip}")

    def _place_slider(self, value: float) -> None:
        low, high = self.knob.slider_span(value)
        self.slider.setRange(self._position(low), self._position(high))
        self.slider.setValue(self._position(value))

    # ------------------------------------------------------------ from the user

    def _slider_moved(self, position: int) -> None:
        with QtCore.QSignalBlocker(self.number):
            self.number.setValue(self._value_at(position))
        if not self.slider.isSliderDown():  # wheel, keys, a click on the groove: gathered, then sent
            self._settle.start()

    def _commit_slider(self) -> None:
        self._settle.stop()
        self._commit(self._value_at(self.slider.value()))

    def _number_entered(self, value) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self._place_slider(value)
        self._commit(value)

    def _auto_toggled(self, on: bool) -> None:
        self.slider.setEnabled(not on)
        self.number.setEnabled(not on)
        self._commit(AUTOTUNE if on else self.number.value())

    def _commit(self, value: Any) -> None:
        if value != self._shown:
            self._shown = value
            self.edited.emit(value)

    def _position(self, value: float) -> int:
        return round(value * FLOAT_STEPS_PER_UNIT) if self.knob.is_float else int(value)

    def _value_at(self, position: int):
        return position / FLOAT_STEPS_PER_UNIT if self.knob.is_float else position


class WhatIfPanel(QtWidgets.QWidget):
    def __init__(self, document: PipelineDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.rows: dict[str, KnobRow] = {}  # by label (`io · ms`)
        self._structure: Optional[tuple] = None
        self._changeable: Optional[Collection[str]] = None  # None: every knob can change
        self._held_intro = self._why_held = ""
        self.intro = intro = QtWidgets.QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setStyleSheet("color: #555;")
        self.rows_host = QtWidgets.QWidget()
        self.rows_layout = QtWidgets.QVBoxLayout(self.rows_host)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.ahead_check = QtWidgets.QCheckBox("model · launch ahead")
        self.ahead_check.setToolTip(AHEAD_TIP)
        self.ahead_check.toggled.connect(self._ahead_toggled)
        self.cache_combo = QtWidgets.QComboBox()
        self.cache_combo.setToolTip(CACHE_TIP)
        self.cache_combo.activated.connect(self._cache_chosen)
        cache_row = QtWidgets.QFormLayout()
        cache_row.addRow("cache", self.cache_combo)
        self.cache_note = QtWidgets.QLabel()  # why the cache placed saves nothing, when it does not
        self.cache_note.setWordWrap(True)
        self.cache_note.setStyleSheet("color: #8a5a00;")
        column = QtWidgets.QVBoxLayout(self)
        column.addWidget(intro)
        column.addWidget(self.rows_host)
        column.addWidget(self.ahead_check)
        column.addLayout(cache_row)
        column.addWidget(self.cache_note)
        column.addStretch(1)
        document.changed.connect(self.refresh)
        if document.data():  # made after a pipeline was loaded: show it now, not at its next change
            self.refresh()

    def row(self, label: str) -> KnobRow:
        return self.rows[label]

    def refresh(self) -> None:
        structure = structure_of(self.document)
        if structure != self._structure:
            self._structure = structure
            self._build_rows()
        for row in self.rows.values():
            row.show_value(self.document.block(row.knob.key).get(row.knob.param.name))
        self._show_launching_ahead()
        self._show_cache()

    def hold_fixed(self, changeable: Optional[Collection[str]], intro: str = "", why: str = "") -> None:
        """Only the stages' knobs of the parameters `changeable` can change (a watched script's while it trains):
        the other rows, the cache's place and launching ahead are held, each saying `why`, and `intro` heads the
        panel. None: everything can change again."""
        self._changeable, self._held_intro, self._why_held = changeable, intro, why
        self._show_held()

    def _show_held(self) -> None:
        holding = self._changeable is not None
        for row in self.rows.values():
            changeable = not holding or (stage_id_of(row.knob.key) is not None and
                                         row.knob.param.name in self._changeable)
            row.hold(None if changeable else self._why_held)
        for widget, tip in ((self.cache_combo, CACHE_TIP), (self.ahead_check, AHEAD_TIP)):
            widget.setEnabled(not holding)
            widget.setToolTip(f"{self._why_held}\n{tip}" if holding else tip)
        self.intro.setText(self._held_intro if holding else INTRO)

    def _build_rows(self) -> None:
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        for knob in knobs_of(self.document):
            row = KnobRow(knob)
            row.edited.connect(lambda value, knob=knob: self.document.set_value(knob.key, knob.param.name, value))
            self.rows_layout.addWidget(row)
            self.rows[knob.label] = row
        self._show_held()

    # ------------------------------------------------------------ how the model syncs

    def _show_launching_ahead(self) -> None:
        self.ahead_check.setVisible(any(param.name == "sync" for param in self.document.kind_of(MODEL).params))
        with QtCore.QSignalBlocker(self.ahead_check):
            self.ahead_check.setChecked(self.document.block(MODEL).get("sync") == "window")

    def _ahead_toggled(self, on: bool) -> None:
        self.document.set_value(MODEL, "sync", "window" if on else "every_step")

    # ------------------------------------------------------------ the cache

    def _show_cache(self) -> None:
        current = cache_position(self.document)
        with QtCore.QSignalBlocker(self.cache_combo):
            self.cache_combo.clear()
            self.cache_combo.addItem(CACHE_OFF, None)
            for index, text in cache_positions(self.document):
                self.cache_combo.addItem(text, index)
            self.cache_combo.setCurrentIndex(max(0, self.cache_combo.findData(current)) if current is not None else 0)
        note = why_cache_never_fills(self.document)
        self.cache_note.setText(note or "")
        self.cache_note.setVisible(bool(note))

    def place_cache(self, position: Optional[int]) -> None:
        """Put the cache stage at `position` (an index among the other stages), or remove it (None)."""
        cache_id = cache_stage_id(self.document)
        if position is None:
            if cache_id is not None:
                self.document.remove_stage(cache_id)
        elif cache_id is None:
            self.document.insert_stage(position, CACHE_KIND)
        elif position != cache_position(self.document):
            self.document.move_stage(cache_id, position)

    def _cache_chosen(self, index: int) -> None:
        self.place_cache(self.cache_combo.itemData(index))


def _number_box(knob: Knob) -> QtWidgets.QAbstractSpinBox:
    """The exact value, over the parameter's whole range (the slider covers the usual part of it)."""
    box = QtWidgets.QDoubleSpinBox() if knob.is_float else QtWidgets.QSpinBox()
    if knob.is_float:
        box.setDecimals(2)
        box.setSingleStep(1.0 / FLOAT_STEPS_PER_UNIT)
    low, _ = knob.slider_span()
    high = knob.param.max if knob.param.max is not None else 1_000_000
    cast = float if knob.is_float else int
    box.setRange(cast(low), cast(high))
    box.setKeyboardTracking(False)  # a typed number is sent once, on Enter or on leaving the field
    box.setToolTip(knob.param.describe_range())
    box.setMinimumWidth(64)
    return box


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
