"""A label for a number that changes many times a second (the live meter's cost).

``QLabel.setText`` re-measures the label and makes its layout lay out the whole card again, on every
change: at 25 changes a second that was 0.4 % of a core for one meter card. ``LiveNumber.setText`` only
repaints the label itself; the text is drawn from this widget's own copy. What a screen reader reads
(QLabel's own text) and the layout's measure follow at most once a second, and at once when the number
of characters changes (the font is monospaced, so the width follows the length). It paints its own
background (the style sheet's, ``QLabel#BigNumber``), so Qt does not repaint the card beneath it on every
change either (about 0.4 % of a core more).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QWidget

SETTLE_SECONDS = 1.0


class LiveNumber(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._live = ""
        self._settled_at = 0.0
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills every pixel itself

    def setText(self, text: str) -> None:
        if text == self._live:
            return
        now = time.monotonic()
        if len(text) != len(self._live) or now - self._settled_at >= SETTLE_SECONDS:
            self._settled_at = now
            super().setText(text)  # measured and read out loud; repaints too
        self._live = text
        self.update()

    def text(self) -> str:
        return self._live

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().window())  # the style sheet's background sets this role
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment().value),
            self.palette(),
            self.isEnabled(),
            self._live,
            self.foregroundRole(),
        )
        painter.end()  # before Qt ends the paint, not whenever Python frees the painter
