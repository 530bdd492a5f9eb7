"""Render paygo.svg to paygo.png (256 px) with Qt: python resources/icons/render_icon.py SVG PNG."""

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

app = QGuiApplication(sys.argv[:1])
src, dst = sys.argv[1], sys.argv[2]
renderer = QSvgRenderer(src)
image = QImage(256, 256, QImage.Format.Format_ARGB32)
image.fill(Qt.GlobalColor.transparent)
painter = QPainter(image)
renderer.render(painter)
painter.end()
assert image.save(dst, "PNG")
