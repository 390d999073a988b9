"""A CSV file of a run folder read from where the last read ended: steps.csv and stages.csv.

`report` reads a finished file once; the app, watching a script, reads a file the script's
process is still writing, a few times a second. Either way `new_text()` gives only complete
lines: a last line without its newline is being written (or was cut short by a kill), and is
left for the next read. A header not yet complete is being written too: nothing is read until
it is; `require_header()` is for a file that is not growing any more.
"""
from __future__ import annotations

from pathlib import Path

from core.spec.params import SpecError


class CsvTail:
    def __init__(self, path, header: bytes):
        self.path = Path(path)
        self.header = header
        self.offset = 0  # just after the last complete line read; 0 until the header has been read
        self.lines = 0  # complete lines read so far, the header included

    def new_text(self, most: int = -1) -> bytes:
        """The complete lines written since the last read (from about `most` bytes, when given)."""
        with open(self.path, "rb") as source:
            if self.offset == 0 and not self._read_header(source):
                return b""
            source.seek(self.offset)
            text = source.read(most)
        text = text[: text.rfind(b"\n") + 1]
        self.offset += len(text)
        self.lines += text.count(b"\n")
        return text

    def require_header(self) -> None:
        """For a file that has stopped growing: a SpecError unless its header was there."""
        if self.offset == 0:
            raise self._not_ours()

    def _read_header(self, source) -> bool:
        header = source.readline()
        if header == self.header:
            self.offset, self.lines = len(header), 1
            return True
        if header.endswith(b"\n") or not self.header.startswith(header):
            raise self._not_ours()
        return False  # still being written

    def _not_ours(self) -> SpecError:
        return SpecError(f"{self.path}: not a {self.path.name} written by Pipescope (its first line is not the header)")
