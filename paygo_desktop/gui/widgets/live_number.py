"""A label for a number that changes many times a second (the live meter's cost).

``QLabel.setText`` re-measures the label and makes its layout lay out the whole card again, on every
change: at 25 changes a second that was 0.4 % of a core for one meter card. ``LiveNumber.setText`` only
repaints the label itself; the text is drawn from this widget's own copy. What a screen reader reads
(QLabel's own text) and the layout's measure follow at most once a second, and at once when the number
of characters changes (the font is monospaced, so the width follows the length). It paints its own
background (the style sheet's, ``QLabel#BigNumber``), so Qt does not repaint the card beneath it on every
change either (about 0.4 % of a core more). What it paints with (the background brush, the text colour, the
alignment) is looked up once and again only when the palette, the style or the state changes (a theme
switch), not 25 times a second through the style (about 0.3 % of a core).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QWidget

SETTLE_SECONDS = 1.0


class LiveNumber(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._live = ""
        self._settled_at = 0.0
        self._paint_with: tuple[QBrush, QColor, int] | None = None  # background, text colour, alignment
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

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        super().setAlignment(alignment)
        self._paint_with = None

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in _LOOKS:
            self._paint_with = None
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._paint_with is None:
            palette = self.palette()  # the style sheet's background and colour set these roles
            colour = palette.color(self.foregroundRole())
            self._paint_with = (palette.window(), colour, int(self.alignment().value))
        background, colour, alignment = self._paint_with
        painter = QPainter(self)  # takes the widget's font
        painter.fillRect(event.rect(), background)
        painter.setPen(colour)
        painter.drawText(self.contentsRect(), alignment, self._live)
        painter.end()  # before Qt ends the paint, not whenever Python frees the painter


_LOOKS = {
    QEvent.Type.PaletteChange,
    QEvent.Type.StyleChange,
    QEvent.Type.FontChange,
    QEvent.Type.EnabledChange,
}
