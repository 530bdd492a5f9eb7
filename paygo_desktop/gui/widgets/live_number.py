"""A label for a number that changes many times a second (the live meter's cost).

``QLabel.setText`` re-measures the label and makes its layout lay out the whole card again, on every
change: at 25 changes a second that was 0.4 % of a core for one meter card. ``LiveNumber.setText`` only
repaints the label itself; the text is drawn from this widget's own copy. What a screen reader reads
(QLabel's own text) and the layout's measure follow at most once a second, and at once when the new text
does not fit the label as it is laid out. It paints its own
background (the style sheet's, ``QLabel#BigNumber``), so Qt does not repaint the card beneath it on every
change either (about 0.4 % of a core more). What it paints with (the background brush, the text colour, the
alignment) is looked up once and again only when the palette, the style or the state changes (a theme
switch), not 20 times a second through the style (about 0.3 % of a core).

A change repaints only the characters that changed, not the whole label: the label is as wide as the card
(and taller than its text when the card has room), so filling and flushing all of it 20 times a second was
most of the card's cost, while a running cost changes in its last few digits. With a monospaced font the
characters that differ between the old and the new text are found by position; otherwise (a fallback
font), or when the length changes, the union of the old and the new text's box is repainted.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QFontInfo, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

SETTLE_SECONDS = 1.0
INK_MARGIN = 2  # pixels either side of a character's cell: bold and antialiased glyphs reach past it


class LiveNumber(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._live = ""
        self._settled_at = 0.0
        self._paint_with: tuple[QBrush, QColor, int] | None = None  # background, text colour, alignment
        self._boxes: dict[int, QRect] = {}  # text length -> where such a text is drawn (monospaced font)
        self._monospaced: bool | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills every pixel itself

    def setText(self, text: str) -> None:
        if text == self._live:
            return
        now = time.monotonic()
        longer = len(text) > len(self._live)
        if now - self._settled_at >= SETTLE_SECONDS or (longer and not self._fits(text)):
            self._settled_at = now
            self._live = text
            super().setText(text)  # measured and read out loud; repaints all of it
            return
        old, self._live = self._live, text
        self.update(self.changed_box(old, text))

    def _fits(self, text: str) -> bool:
        """Whether ``text`` fits the label as laid out now (a longer number may need the layout at once)."""
        return self.contentsRect().contains(self._text_box(text))

    def changed_box(self, old: str, new: str) -> QRect:
        """Where ``new`` differs from ``old`` on screen: the cells of the characters that changed."""
        box = self._text_box(new)
        if not old:
            return box
        if len(old) != len(new) or not self._is_monospaced():
            return box.united(self._text_box(old))
        first = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
        last = max(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
        cell = box.width() / len(new)
        left = box.left() + int(first * cell) - INK_MARGIN
        right = box.left() + int((last + 1) * cell + 0.999) + INK_MARGIN
        return QRect(left, box.top(), right - left, box.height())

    def _text_box(self, text: str) -> QRect:
        if not self._is_monospaced():
            return self.fontMetrics().boundingRect(self.contentsRect(), self._alignment(), text)
        box = self._boxes.get(len(text))
        if box is None:
            box = self.fontMetrics().boundingRect(self.contentsRect(), self._alignment(), text)
            self._boxes[len(text)] = box
        return box

    def _is_monospaced(self) -> bool:
        if self._monospaced is None:
            self._monospaced = QFontInfo(self.font()).fixedPitch()
        return self._monospaced

    def _alignment(self) -> int:
        return int(self.alignment().value)

    def text(self) -> str:
        return self._live

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        super().setAlignment(alignment)
        self._forget_looks()

    def _forget_looks(self) -> None:
        self._paint_with = None
        self._boxes.clear()
        self._monospaced = None

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._boxes.clear()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in _LOOKS:
            self._forget_looks()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._paint_with is None:
            palette = self.palette()  # the style sheet's background and colour set these roles
            colour = palette.color(self.foregroundRole())
            self._paint_with = (palette.window(), colour, self._alignment())
        background, colour, alignment = self._paint_with
        painter = QPainter(self)  # takes the widget's font
        painter.fillRect(event.rect(), background)
        painter.setPen(colour)
        painter.setClipRect(event.rect())  # glyphs outside the changed cells are not drawn again
        painter.drawText(self.contentsRect(), alignment, self._live)
        painter.end()  # before Qt ends the paint, not whenever Python frees the painter


_LOOKS = {
    QEvent.Type.PaletteChange,
    QEvent.Type.StyleChange,
    QEvent.Type.FontChange,
    QEvent.Type.EnabledChange,
}
