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
    """Ask Qt not to load the system's OpenGL or EGL; values the user set are kept.

    Qt's X11 GLX integration and its Wayland EGL buffer integration load the system's
    driver, and Mesa's brings its libLLVM, which clashes with the LLVM inside TensorFlow:
    the process segfaults once TensorFlow loads (on Run). The app draws with QPainter
    (pyqtgraph without OpenGL), so it loses nothing. Must run before the QApplication.
    """
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "wayland")  # Qt 5 would try X11 and abort
    os.environ.setdefault("QT_XCB_GL_INTEGRATION", "none")
    if "QT_WAYLAND_CLIENT_BUFFER_INTEGRATION" not in os.environ:
        # No integration of that name exists, so Wayland windows use shared memory. Qt warns
        # about the name on every start, hence its Wayland warnings off unless the user set rules.
        os.environ["QT_WAYLAND_CLIENT_BUFFER_INTEGRATION"] = "none"
        os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.wayland.warning=false")


def ensure_qapp(offscreen: bool = False):
    """The running QApplication, or a new one; `offscreen` renders without a display."""
    if offscreen:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    keep_system_opengl_out()
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = os.path.join(tempfile.gettempdir(), f"runtime-{os.getuid()}")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = runtime  # Qt warns on every start without one
    from PyQt5 import QtWidgets  # deferred: has_display() and the CLI's checks run without loading Qt

    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("Pipescope")
        app.setOrganizationName("Pipescope")
    return app
