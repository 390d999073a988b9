"""Lines of text for many rows of numbers at once, rendered by numpy: steps.csv's rows, trace.json's events.

A million steps make 13 million numbers for steps.csv and more for trace.json. Python's
own formatting costs about a microsecond a number, which a run streaming its records
would spend holding the GIL beside its stepping thread, and which made writing the files
of a long run take longer than the run. Here a line is a template of literal text and
fixed-point numbers (`"{step},{t_request:.9}\\n"`); `render` lays the rows out as one
character matrix (literal text copied in whole columns, each number's digits by a few
vectorised divisions), then drops the unused leading positions of each number with a
boolean mask. For JSON, where whitespace before a value is allowed, `pad=True` turns
them into spaces instead, which saves the mask (the larger part of the cost).

Numbers are written like `%.Nf` would (half-way cases may round the other way), with no
"-0": a value that rounds to zero is written as zero.
"""
from __future__ import annotations

from string import Formatter

import numpy as np

ZERO, POINT, MINUS, SPACE = (ord(char) for char in "0.- ")


class RowTemplate:
    """One line per row: literal text with `{name}` (a whole number) and `{name:.N}` (N decimals) slots.

    Braces meant literally are doubled, as in str.format: `'{{"ts":{ts:.1}}}'`.
    """

    def __init__(self, template: str, pad: bool = False):
        self.pad = pad
        self.pieces: list = []  # literal bytes, or (column name, decimals)
        for literal, name, spec, _ in Formatter().parse(template):
            if literal:
                self.pieces.append(np.frombuffer(literal.encode(), dtype=np.uint8))
            if name is not None:
                self.pieces.append((name, _decimals(spec)))

    def render(self, **columns: np.ndarray) -> bytes:
        """The lines for rows given as equally long columns (any numeric dtype), one per slot name."""
        count = len(next(iter(columns.values())))
        if count == 0:
            return b""
        fields = [piece if isinstance(piece, np.ndarray) else _Number(columns[piece[0]], piece[1])
                  for piece in self.pieces]
        chars = np.empty((count, sum(len(field) for field in fields)), dtype=np.uint8)
        keep = None if self.pad else np.ones(chars.shape, dtype=bool)
        start = 0
        for field in fields:
            end = start + len(field)
            if isinstance(field, np.ndarray):
                chars[:, start:end] = field
            else:
                field.write(chars[:, start:end], None if keep is None else keep[:, start:end])
            start = end
        # Row-major: the whole matrix is the rows' text one after another.
        return chars.tobytes() if keep is None else chars[keep].tobytes()


def _decimals(spec: str) -> int:
    if spec == "":
        return 0
    if not spec.startswith(".") or not spec[1:].isdigit():
        raise ValueError(f"row template: '{spec}' is not a number of decimals like '.4'")
    return int(spec[1:])


class _Number:
    """A column of numbers as fixed-point text: [room for a sign] whole digits [. decimals], right-aligned."""

    def __init__(self, values: np.ndarray, decimals: int):
        self.scaled = np.rint(np.asarray(values, dtype=np.float64) * 10.0 ** decimals).astype(np.int64)
        self.negative = self.scaled < 0
        self.magnitude = np.abs(self.scaled)
        self.decimals = decimals
        self.sign_room = int(self.negative.any())  # a column for the sign only where some value has one
        self.whole = max(1, len(str(int(self.magnitude.max()))) - decimals)

    def __len__(self) -> int:
        return self.sign_room + self.whole + (1 + self.decimals if self.decimals else 0)

    def write(self, chars: np.ndarray, keep) -> None:
        """Fill `chars` (rows, len(self)); unused leading positions are dropped from `keep`, or spaces without it."""
        whole_at = self.sign_room
        rest = self.magnitude
        digit_columns = list(range(whole_at, whole_at + self.whole))
        if self.decimals:
            chars[:, whole_at + self.whole] = POINT
            digit_columns += range(whole_at + self.whole + 1, len(self))
        for column in reversed(digit_columns):
            rest, digit = np.divmod(rest, 10)
            chars[:, column] = digit + ZERO
        # The whole part's leading zeros are unused; its last digit stays, so 0.5 is "0.5".
        used = np.ones((len(chars), whole_at + self.whole), dtype=bool)
        used[:, whole_at:-1] = np.logical_or.accumulate(chars[:, whole_at:whole_at + self.whole - 1] != ZERO, axis=1)
        used[:, :whole_at] = False
        if self.sign_room:
            self._place_signs(chars, used)
        if keep is not None:
            keep[:, :used.shape[1]] = used
        else:
            chars[:, :used.shape[1]][~used] = SPACE

    def _place_signs(self, chars: np.ndarray, used: np.ndarray) -> None:
        """A minus just before each negative number's first digit."""
        rows = np.flatnonzero(self.negative)
        before_first_digit = used[rows].argmax(axis=1) - 1
        chars[rows, before_first_digit] = MINUS
        used[rows, before_first_digit] = True
