"""A QR code of a piece of text (an address, a payment URI), drawn with segno, black on white."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from paygo_desktop.zcash.qr import qr_png


class QrCode(QLabel):
    def __init__(self, text: str = "", *, scale: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = scale
        self.text_value = ""
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: white;")  # the quiet zone stays white in the dark theme too
        if text:
            self.set_text(text)

    def set_text(self, text: str) -> None:
        self.text_value = text
        pixmap = QPixmap()
        pixmap.loadFromData(qr_png(text, scale=self.scale), "PNG")
        self.setPixmap(pixmap)
        self.setAccessibleName(f"QR code of {text}")
        self.setToolTip(text)
