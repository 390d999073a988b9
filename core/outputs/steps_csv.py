"""steps.csv: one row per step; the columns the contract first had keep their places, newer ones follow."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.spec.records import CONFIG_VERSION, FILL, T_DONE, T_FETCHED, T_READY, T_REQUEST, derived


STEPS_CSV_COLUMNS = ("step", "t_request", "t_ready", "t_done", "wait_ms", "compute_ms", "step_ms", "fill",
                     "config_version", "t_fetched", "input_ms", "transfer_ms", "between_ms")


def write_steps_csv(path: Path, rows: np.ndarray) -> None:
    """One row per step; the columns the contract first had keep their places, newer ones follow."""
    timings = derived(rows)
    with open(path, "w") as out:
        out.write(",".join(STEPS_CSV_COLUMNS) + "\n")
        for i, row in enumerate(rows):
            out.write(
                f"{i},{row[T_REQUEST]:.6f},{row[T_READY]:.6f},{row[T_DONE]:.6f},"
                f"{timings['wait_ms'][i]:.4f},{timings['compute_ms'][i]:.4f},{timings['step_ms'][i]:.4f},"
                f"{int(row[FILL])},{int(row[CONFIG_VERSION])},{row[T_FETCHED]:.6f},"
                f"{timings['input_ms'][i]:.4f},{timings['transfer_ms'][i]:.4f},{timings['between_ms'][i]:.4f}\n"
            )
