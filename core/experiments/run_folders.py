"""Where the app records its runs: a folder per run under Pipescope's own cache, the latest few kept.

Every run the app starts streams its records into a new folder here (the stream is
core.outputs' business), so that a crash loses at most its last second and the run
can be opened again. Only folders this module named are ever deleted: the oldest
beyond `keep`, when a new one is made.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Optional

DEFAULT_RUNS_FOLDER = "~/.cache/pipescope/runs"
KEEP_FOLDERS = 20
_OURS = re.compile(r"^\d{8}-\d{6}(-\d+)?-")  # 20261125-164512-whatif, 20261125-164512-2-whatif
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RunFolders:
    def __init__(self, base=DEFAULT_RUNS_FOLDER, keep: int = KEEP_FOLDERS):
        self.base = Path(base).expanduser()
        self.keep = keep

    def new_folder(self, name: str, now: Optional[float] = None) -> Path:
        """A new, empty folder named by the time and the pipeline's name; the oldest beyond `keep` go."""
        self.base.mkdir(parents=True, exist_ok=True)
        self._drop_oldest(leave=self.keep - 1)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        safe_name = _UNSAFE.sub("_", name)[:60] or "run"
        folder, attempt = self.base / f"{stamp}-{safe_name}", 1
        while folder.exists():  # two runs in one second
            attempt += 1
            folder = self.base / f"{stamp}-{attempt}-{safe_name}"
        folder.mkdir()
        return folder

    def folders(self) -> list[Path]:
        """Ours, oldest first (their names start with the time they were made)."""
        if not self.base.is_dir():
            return []
        return sorted(path for path in self.base.iterdir() if path.is_dir() and _OURS.match(path.name))

    def _drop_oldest(self, leave: int) -> None:
        ours = self.folders()
        for folder in ours[: max(0, len(ours) - leave)]:
            shutil.rmtree(folder, ignore_errors=True)  # a folder in use elsewhere is not worth failing a run
