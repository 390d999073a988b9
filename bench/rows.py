"""A benchmark's figures as rows: each script's `--rows FILE` writes them, bench/all.py gathers
them into BENCHMARKS.md. No TensorFlow here, so scripts that only start processes stay light."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional


def add_rows_argument(parser) -> None:
    parser.add_argument("--rows", type=Path, metavar="FILE", help="also write the figures as rows for bench/all.py")


def row(section: str, figure: str, value: str, target: str = "", met: Optional[bool] = None) -> dict:
    """One line of BENCHMARKS.md: what was measured, its value as said, the target and whether it is met."""
    return {"section": section, "figure": figure, "value": value, "target": target, "met": met}


def write_rows(path: Optional[Path], rows: list[dict]) -> None:
    if path is not None:
        Path(path).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
