"""What file dialogs remember in QSettings: the File ▸ Recent files menu and the last folder used."""
from __future__ import annotations

from pathlib import Path

from PyQt5 import QtCore, QtWidgets

MAX_RECENT = 8


class RecentFiles(QtCore.QObject):
    def __init__(self, settings: QtCore.QSettings, open_path, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.open_path = open_path
        self.menu = QtWidgets.QMenu("Recent &files")
        self._fill_menu()

    def paths(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def add(self, path: str) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue("recent_files", paths[:MAX_RECENT])
        self._fill_menu()

    def _fill_menu(self) -> None:
        self.menu.clear()
        for path in self.paths():
            action = self.menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, path=path: self.open_path(path))
        self.menu.setEnabled(bool(self.paths()))


class LastFolder:
    """The folder the last file dialog ended in, so the next one starts there."""

    def __init__(self, settings: QtCore.QSettings):
        self.settings = settings

    def path_for(self, file_name: str = "") -> str:
        folder = self.settings.value("last_folder", "") or ""
        return str(Path(folder) / file_name) if folder else file_name

    def remember(self, path: str) -> None:
        """The folder `path` is in (for a folder of run files: where it was made, beside its siblings)."""
        self.settings.setValue("last_folder", str(Path(path).parent))
