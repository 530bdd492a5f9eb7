"""A small bar sparkline drawn with QPainter (no chart library: the Home page must open fast).

One slot per value along a drawn baseline, so a single busy day reads as one day out of thirty rather
than as one bar filling the widget; the two ends of the time axis are labelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

BAR_COLOUR = "#3b82f6"
LABEL_GAP = 2  # pixels between the baseline and the axis labels


class Sparkline(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[int] = []
        self.start_label = ""
        self.end_label = ""
        self.setMinimumSize(QSize(160, 52))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: Sequence[int], start_label: str = "", end_label: str = "") -> None:
        """Heights as integers (base units); only their ratios are drawn. The labels name the first and
        the last slot's time (e.g. "30 days ago", "today")."""
        self.values = list(values)
        self.start_label = start_label
        self.end_label = end_label
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 56)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.values:
            return
        painter = QPainter(self)
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        metrics = painter.fontMetrics()
        labelled = bool(self.start_label or self.end_label)
        label_height = metrics.height() + LABEL_GAP if labelled else 0
        baseline = self.height() - label_height - 1
        slot = self.width() / len(self.values)
        # the axis: a baseline and a faint mark for every slot, so empty days are visibly empty days
        painter.setPen(muted)
        painter.drawLine(0, baseline, self.width(), baseline)
        for i in range(len(self.values)):
            x = int(i * slot + slot / 2)
            painter.drawLine(x, baseline, x, baseline + 2)
        if labelled:
            text_top = baseline + LABEL_GAP
            painter.drawText(
                QRectF(0, text_top, self.width() / 2, metrics.height()),
                int(Qt.AlignmentFlag.AlignLeft),
                self.start_label,
            )
            painter.drawText(
                QRectF(self.width() / 2, text_top, self.width() / 2, metrics.height()),
                int(Qt.AlignmentFlag.AlignRight),
                self.end_label,
            )
        top = max(self.values)
        if top > 0:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(BAR_COLOUR))
            height = baseline - 2
            for i, value in enumerate(self.values):
                if value <= 0:
                    continue
                bar = max(1.0, height * value / top)  # ratio of integers, for pixels only
                painter.drawRect(QRectF(i * slot + 1, baseline - bar, max(1.0, slot - 2), bar))
        painter.end()
