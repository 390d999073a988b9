"""One place that creates the QApplication (offscreen when asked or when there is no display)."""
from __future__ import annotations

import os
import sys
import tempfile


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"


def keep_system_opengl_out() -> None:
    """Ask Qt not to load the system's OpenGL; a value the user set is kept.

    On X11, Qt's GLX integration loads Mesa's driver and with it Mesa's libLLVM, which
    clashes with the LLVM inside TensorFlow: the process segfaults once TensorFlow
    loads (on Run). The app draws with QPainter only (pyqtgraph without OpenGL), so
    it loses nothing. Must run before the QApplication exists.
    """
    os.environ.setdefault("QT_XCB_GL_INTEGRATION", "none")


def ensure_qapp(offscreen: bool = False):
    """The running QApplication, or a new one; `offscreen` renders without a display."""
    if offscreen:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    keep_system_opengl_out()
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = os.path.join(tempfile.gettempdir(), f"runtime-{os.getuid()}")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = runtime  # Qt warns on every start without one
    from PyQt5 import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("Pipescope")
        app.setOrganizationName("Pipescope")
    return app
