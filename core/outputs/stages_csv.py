"""stages.csv: the run's per-stage samples (core.spec.records.StageRecords), one line per stage per sample.

Columns: `t` (seconds from the run's start, as in steps.csv), `stage` (its id), `buffered`
(elements in its buffer), `produced` (elements it has produced so far, since the pipeline was
last built), `config_version`, `processing_ms` (tf.data's cumulative processing time; empty
when unknown) and `fused_with` (the id of the stage whose tf.data node this one was fused
into, whose figures these are; empty when none). Written in pieces as the run goes; a few
samples a second, so plain Python formatting is quick enough. Read back exactly, a last line
cut short by a kill left out.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
    path = Path(path)
    records = StageRecords()
    records.stage_ids.extend(stage_ids)
    lines = path.read_bytes().split(b"\n")
    if lines[0] + b"\n" != STAGES_CSV_HEADER:
        raise SpecError(f"{path}: not a stages.csv written by Pipescope (its first line is not the header)")
    for number, line in enumerate(lines[1:-1], start=2):  # the last piece has no newline: cut short, or empty
        try:
            t, stage, buffered, produced, version, processing, fused = line.decode().split(",")
            records.append(float(t), stage, int(buffered), int(produced), int(version),
                           float(processing) if processing else math.nan, fused or None)
        except ValueError:
            raise SpecError(f"{path}: line {number} is not a stage sample ({STAGES_CSV_HEADER.decode().strip()})") \
                from None
    return records
