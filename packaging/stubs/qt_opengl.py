"""Stands in for PySide6.QtOpenGL in the PyInstaller bundle only (packaging/paygo-desktop.spec ships it
under that name and leaves the real binding out; the source run and the wheel use PySide6's own).

pyqtgraph imports PySide6.QtOpenGL when it is imported (its curves and meshes keep OpenGL drawing code for
the `useOpenGL`/`enableExperimental` options) but touches it only when it draws with OpenGL, which the app
never asks for: its charts are pyqtgraph PlotWidgets drawn with QPainter. The binding is 8.9 MB of the
bundle. Any use of a name from this module fails at once, naming what is missing.
"""


def __getattr__(name: str) -> object:
    raise AttributeError(f"PySide6.QtOpenGL.{name}: Qt's OpenGL binding is left out of this bundle")
