"""Stands in for PySide6.QtOpenGLWidgets in the PyInstaller bundle only (packaging/paygo-desktop.spec ships
it under that name and leaves the real binding out; the source run and the wheel use PySide6's own).

pyqtgraph subclasses QOpenGLWidget when it is imported (its OpenGL viewport and image widget) and checks
`isinstance(viewport, QOpenGLWidget)` when it paints a curve; the app never makes an OpenGL viewport, so a
plain class answers both, and making one fails at once instead of drawing nothing.
"""

from typing import Any


class QOpenGLWidget:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("QOpenGLWidget: Qt's OpenGL widgets are left out of this bundle")


def __getattr__(name: str) -> object:
    raise AttributeError(f"PySide6.QtOpenGLWidgets.{name}: Qt's OpenGL widgets are left out of this bundle")
