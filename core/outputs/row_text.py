"""Lines of text for many rows of numbers at once, rendered by numpy: steps.csv's rows, trace.json's events.

A million steps make 13 million numbers for steps.csv and more for trace.json. Python's
own formatting costs about a microsecond a number, which a run streaming its records
would spend on the GIL beside its stepping thread, and which made writing the files of a
long run take longer than the run. Here a line is a template of literal text and
fixed-point numbers (`"{step},{t_request:.9}\\n"`); `render` turns whole columns into
digit matrices with a few numpy operations, then drops each number's leading zeros with a
boolean mask, so the text of a thousand rows costs about as much as one Python format.

Numbers are written like `%.Nf` would (half-way cases may round the other way), with no
"-0": a value that rounds to zero is written as zero.
"""
from __future__ import annotations

from string import Formatter

import numpy as np

ZERO, POINT, MINUS = ord("0"), ord("."), ord("-")


class RowTemplate:
    """One line per row: literal text with `{name}` (a whole number) and `{name:.N}` (N decimals) slots.

    Braces meant literally are doubled, as in str.format: `'{{"ts":{ts:.1}}}'`.
    """

    def __init__(self, template: str):
        self.pieces: list = []  # literal bytes, or (column name, decimals)
        for literal, name, spec, _ in Formatter().parse(template):
            if literal:
                self.pieces.append(literal.encode())
            if name is not None:
                self.pieces.append((name, _decimals(spec)))

    def render(self, **columns: np.ndarray) -> bytes:
        """The lines for rows given as equally long columns (any numeric dtype), one per slot name."""
        count = len(next(iter(columns.values())))
        if count == 0:
            return b""
        chars, keep = [], []
        for piece in self.pieces:
            if isinstance(piece, bytes):
                literal = np.frombuffer(piece, dtype=np.uint8)
                chars.append(np.broadcast_to(literal, (count, len(literal))))
                keep.append(np.broadcast_to(True, (count, len(literal))))
            else:
                name, decimals = piece
                number_chars, number_keep = fixed_point_chars(columns[name], decimals)
                chars.append(number_chars)
                keep.append(number_keep)
        # Row-major: masking the whole matrix yields the rows' text one after another.
        return np.concatenate(chars, axis=1)[np.concatenate(keep, axis=1)].tobytes()


def _decimals(spec: str) -> int:
    if spec == "":
        return 0
    if not spec.startswith(".") or not spec[1:].isdigit():
        raise ValueError(f"row template: '{spec}' is not a number of decimals like '.4'")
    return int(spec[1:])


def fixed_point_chars(values: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """(characters, which of them to keep), each (rows, width): sign, digits, point, decimals."""
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 10.0 ** decimals).astype(np.int64)
    magnitude = np.abs(scaled)
    width = max(len(str(int(magnitude.max()))), decimals + 1)
    digits = np.empty((len(scaled), width), dtype=np.uint8)
    rest = magnitude
    for position in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        digits[:, position] = digit
    whole = width - decimals
    sign = np.full((len(scaled), 1), MINUS, dtype=np.uint8)
    point = np.full((len(scaled), 1 if decimals else 0), POINT, dtype=np.uint8)
    chars = np.concatenate((sign, digits[:, :whole] + ZERO, point, digits[:, whole:] + ZERO), axis=1)
    keep = np.ones(chars.shape, dtype=bool)
    keep[:, 0] = scaled < 0
    # Leading zeros of the whole part go; its last digit stays, so 0.5 is "0.5".
    keep[:, 1:whole] = np.logical_or.accumulate(digits[:, :whole - 1] != 0, axis=1)
    return chars, keep
