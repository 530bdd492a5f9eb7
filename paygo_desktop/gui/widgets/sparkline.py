"""A small bar sparkline drawn with QPainter (no chart library: the Home page must open fast)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BAR_COLOUR = "#3b82f6"


class Sparkline(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[int] = []
        self.setMinimumSize(QSize(160, 36))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: Sequence[int]) -> None:
        """Heights as integers (base units); only their ratios are drawn."""
        self.values = list(values)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 40)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.values:
            return
        top = max(self.values)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BAR_COLOUR))
        width = self.width() / len(self.values)
        height = self.height() - 2
        for i, value in enumerate(self.values):
            if value <= 0 or top <= 0:
                continue
            bar = max(1.0, height * value / top)  # ratio of integers, for pixels only
            painter.drawRect(QRectF(i * width + 1, self.height() - bar, max(1.0, width - 2), bar))
        painter.end()
