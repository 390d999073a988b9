"""steps.csv: one row per step; the columns the contract first had keep their places, newer ones follow.

Written in pieces as a run goes (`steps_csv_text` for the rows since the last piece) and read
back by `read_steps_csv`, which ignores a last line cut short by a kill (or, while the file
grows, by `new_step_rows`). Times are written in nanoseconds (9 decimals, the clock's own
resolution), so the rows read back are the rows recorded and a summary rebuilt from the file
has the run's own figures.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from core.outputs.csv_tail import CsvTail
from core.outputs.row_text import RowTemplate
from core.spec.params import SpecError
from core.spec.records import (COLUMNS, CONFIG_VERSION, FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST,
                               derived)

STEPS_CSV_COLUMNS = ("step", "t_request", "t_ready", "t_done", "wait_ms", "compute_ms", "step_ms", "fill",
                     "config_version", "t_fetched", "input_ms", "transfer_ms", "between_ms")
STEPS_CSV_HEADER = (",".join(STEPS_CSV_COLUMNS) + "\n").encode()
_ROW = RowTemplate("{step},{t_request:.9},{t_ready:.9},{t_done:.9},{wait_ms:.4},{compute_ms:.4},{step_ms:.4},"
                   "{fill},{config_version},{t_fetched:.9},{input_ms:.4},{transfer_ms:.4},{between_ms:.4}\n")
# Where a record's column is in a line of steps.csv; batch_size is not in the file (see run_json).
_RECORD_COLUMN_AT = {T_REQUEST: 1, T_READY: 2, T_DONE: 3, FILL: 7, CONFIG_VERSION: 8, T_FETCHED: 9}
READ_CHUNK_BYTES = 8 << 20


def steps_csv_text(rows: np.ndarray, first_step: int, previous: np.ndarray | None = None) -> bytes:
    """The lines of steps `first_step`, `first_step + 1`, … for `rows`; `previous` is the row of the step
    before them (None for the first step), which their first step_ms and between_ms are measured from."""
    if len(rows) == 0:
        return b""
    with_previous = rows if previous is None else np.concatenate((previous[None, :], rows))
    timings = {name: values[len(with_previous) - len(rows):] for name, values in derived(with_previous).items()}
    return _ROW.render(step=np.arange(first_step, first_step + len(rows)), t_request=rows[:, T_REQUEST],
                       t_ready=rows[:, T_READY], t_done=rows[:, T_DONE], fill=rows[:, FILL],
                       config_version=rows[:, CONFIG_VERSION], t_fetched=rows[:, T_FETCHED], **timings)


def read_steps_csv(path: Path, into) -> None:
    """Fill `into` (an empty StepRecords) with the step rows of steps.csv at `path`, batch_size left 0.

    A last line without its newline is a row the run was writing when it was killed: it is left out.
    """
    tail = steps_csv_tail(path)
    for rows in new_step_rows(tail, first_step=0):
        into.extend(rows)
    tail.require_header()


def steps_csv_tail(path: Path) -> CsvTail:
    return CsvTail(path, STEPS_CSV_HEADER)


def new_step_rows(tail: CsvTail, first_step: int) -> Iterator[np.ndarray]:
    """The step rows of the lines `tail` has not read yet (steps `first_step`, …), a chunk at a time,
    batch_size left 0 (run.json has it)."""
    while text := tail.new_text(READ_CHUNK_BYTES):
        rows = _parse_lines(text, tail.path, first_step)
        first_step += len(rows)
        yield rows


def _parse_lines(text: bytes, path: Path, first_step: int) -> np.ndarray:
    # Parsed in C, with no Python object per number. Text that is not a number ends the parse early,
    # which NumPy says with a DeprecationWarning today and will say with a ValueError: both are a bad line.
    lines = text.count(b"\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(text.replace(b"\n", b","), sep=",") if text else np.empty(0)
    except (DeprecationWarning, ValueError):
        values = None
    if values is None or len(values) != lines * len(STEPS_CSV_COLUMNS):
        raise SpecError(f"{path}: line {first_step + 2 + _first_bad_line(text)} is not a step "
                        f"({len(STEPS_CSV_COLUMNS)} numbers: {STEPS_CSV_HEADER.decode().strip()})")
    table = values.reshape(lines, len(STEPS_CSV_COLUMNS))
    if lines and (table[0, 0] != first_step or table[-1, 0] != first_step + lines - 1):
        raise SpecError(f"{path}: steps are missing or out of order after step {first_step}")
    rows = np.zeros((lines, len(COLUMNS)))  # batch_size stays 0: run.json has it
    for column, at in _RECORD_COLUMN_AT.items():
        rows[:, column] = table[:, at]
    return rows


def _first_bad_line(text: bytes) -> int:
    """Index of the first line that is not 13 numbers (only looked for once the fast parse has failed)."""
    for index, line in enumerate(text.split(b"\n")):
        try:
            if len([float(value) for value in line.split(b",")]) != len(STEPS_CSV_COLUMNS):
                return index
        except ValueError:
            return index
    return 0
