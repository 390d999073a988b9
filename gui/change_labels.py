"""What-if changes said briefly: the labels on the plots' change markers and the segments table's headers.

A run describes each change as parts joined by ", " (core.spec.diff.describe_change): `PATH=VALUE`
for a value set, `stages: + cache (after batch)` for a stage added, removed or moved. On a plot or
a column header there is room for a few words, so the `stages` prefix and JSON quotes go and a long
text is cut; the full description stays in the tooltip.
"""
from __future__ import annotations

import re

# A part starts with a path and then `=` or `: `; a list value (`stages=["a", "b"]`) holds ", " too.
_PART_BOUNDARY = re.compile(r", (?=[\w.\[\]-]+(?:=|: ))")
_STAGE_PREFIXES = ("stages.", "stages: ")


def change_parts(description: str) -> list[str]:
    """A change's description split back into the parts core joined: `PATH=VALUE` or `stages: …` each."""
    return _PART_BOUNDARY.split(description)


def short_change(description: str, limit: int = 30) -> str:
    """`stages.io.num_parallel_calls=3` → `io.num_parallel_calls=3`; cut to `limit` characters."""
    text = ", ".join(_short_part(part) for part in change_parts(description))
    return text if len(text) <= limit else text[: limit - 1].rstrip(", ") + "…"


def _short_part(part: str) -> str:
    for prefix in _STAGE_PREFIXES:
        if part.startswith(prefix):
            part = part[len(prefix):]
            break
    return part.replace('"', "")
