"""The run that was going when the app last ended: remembered in QSettings, to offer it after a crash.

While a run records to its folder the folder is noted, with this process's id;
a clean end of the run (finished, stopped, failed — the app saw it end) removes
the note. A note found at start whose process is gone means the app died
mid-run: its folder holds what the run streamed, up to its last second.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PyQt5 import QtCore

FOLDER_KEY = "unfinished_run/folder"
PROCESS_KEY = "unfinished_run/pid"


class UnfinishedRun:
    def __init__(self, settings: QtCore.QSettings):
        self.settings = settings

    def note(self, folder) -> None:
        self.settings.setValue(FOLDER_KEY, str(folder))
        self.settings.setValue(PROCESS_KEY, os.getpid())
        self.settings.sync()  # on disk now: a crash comes without warning

    def clear(self) -> None:
        self.settings.remove(FOLDER_KEY)
        self.settings.remove(PROCESS_KEY)
        self.settings.sync()

    def left_by_a_crash(self) -> Optional[Path]:
        """The folder of a run whose app ended without seeing it end; None if there is none (or that
        app is still running: another window's run is not a crash)."""
        folder = self.settings.value(FOLDER_KEY)
        if not folder:
            return None
        if _process_alive(int(self.settings.value(PROCESS_KEY, 0) or 0)) or not Path(folder).is_dir():
            return None
        return Path(folder)


def _process_alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():  # our own id: a note from an earlier process that had the same id
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True
