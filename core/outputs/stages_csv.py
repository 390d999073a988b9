"""stages.csv: the run's per-stage samples (core.spec.records.StageRecords), one line per stage per sample.

Columns: `t` (seconds from the run's start, as in steps.csv), `stage` (its id), `buffered`
(elements in its buffer), `produced` (elements it has produced so far, since the pipeline was
last built), `config_version`, `processing_ms` (tf.data's cumulative processing time; empty
when unknown) and `fused_with` (the id of the stage whose tf.data node this one was fused
into, whose figures these are; empty when none). Written in pieces as the run goes; a few
samples a second, so plain Python formatting is quick enough. Read back exactly, a last line
cut short by a kill left out (or, while the file grows, by `read_new_samples`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.outputs.csv_tail import CsvTail
from core.spec.params import SpecError
from core.spec.records import NOT_FUSED, StageRecords

STAGES_CSV_COLUMNS = ("t", "stage", "buffered", "produced", "config_version", "processing_ms", "fused_with")
STAGES_CSV_HEADER = (",".join(STAGES_CSV_COLUMNS) + "\n").encode()


def stages_csv_text(rows: np.ndarray, stage_ids: list[str]) -> bytes:
    """The lines for StageRecords rows; `stage_ids` maps their stage indices to ids."""
    lines = []
    for t, stage, buffered, produced, version, processing_ms, fused_with in rows.tolist():
        processing = "" if math.isnan(processing_ms) else repr(processing_ms)  # repr: read back exactly
        fused = "" if fused_with == NOT_FUSED else stage_ids[int(fused_with)]
        lines.append(f"{t:.9f},{stage_ids[int(stage)]},{int(buffered)},{int(produced)},{int(version)},"
                     f"{processing},{fused}\n")
    return "".join(lines).encode()


def read_stages_csv(path: Path, stage_ids: list[str]) -> StageRecords:
    """The samples in stages.csv, with `stage_ids` (from run.json) giving each id its recorded index."""
    records = StageRecords()
    records.stage_ids.extend(stage_ids)
    tail = stages_csv_tail(path)
    read_new_samples(tail, records)
    tail.require_header()
    return records


def stages_csv_tail(path: Path) -> CsvTail:
    return CsvTail(path, STAGES_CSV_HEADER)


def read_new_samples(tail: CsvTail, into: StageRecords) -> None:
    """Append to `into` the samples of the lines `tail` has not read yet (a new stage id takes the next
    index, as it did when the samples were recorded)."""
    text = tail.new_text()
    first_line = tail.lines - text.count(b"\n") + 1
    for number, line in enumerate(text.split(b"\n")[:-1], start=first_line):  # text ends with its newline
        try:
            t, stage, buffered, produced, version, processing, fused = line.decode().split(",")
            into.append(float(t), stage, int(buffered), int(produced), int(version),
                        float(processing) if processing else math.nan, fused or None)
        except ValueError:
            raise SpecError(f"{tail.path}: line {number} is not a stage sample "
                            f"({STAGES_CSV_HEADER.decode().strip()})") from None
