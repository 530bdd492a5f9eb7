"""A QR code on screen: segno draws it (``zcash.qr``), the label shows it with its quiet zone, dark on white
in every theme so any phone camera reads it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from paygo_desktop.zcash.qr import DEFAULT_BORDER, make_qr, qr_png

TARGET_PIXELS = 220


class QrView(QLabel):
    def __init__(self, name: str = "QR code", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedSize(TARGET_PIXELS + 12, TARGET_PIXELS + 12)
        self.data = ""

    def set_data(self, data: str) -> None:
        """Show ``data`` as a QR code (empty: nothing)."""
        self.data = data
        if not data:
            self.clear()
            return
        width, _height = make_qr(data).symbol_size(scale=1, border=DEFAULT_BORDER)
        scale = max(2, TARGET_PIXELS // int(width))  # whole pixels per module: crisp edges for the camera
        pixmap = QPixmap()
        pixmap.loadFromData(qr_png(data, scale=scale), "PNG")
        self.setPixmap(pixmap)
        self.setToolTip(data)
