"""A label for a number that changes many times a second (the live meter's cost).

``QLabel.setText`` re-measures the label and makes its layout lay out the whole card again, on every
change: at 25 changes a second that was 0.4 % of a core for one meter card. ``LiveNumber.setText`` only
repaints the label itself; the text is drawn from this widget's own copy. What a screen reader reads
(QLabel's own text) follows at most once a second, and at once when the new text does not fit the label;
being a ``SteadyLabel``, the label keeps its size through those texts (no layout pass) and grows only for
a text that needs more room. It paints its own
background (the style sheet's, ``QLabel#BigNumber``), so Qt does not repaint the card beneath it on every
change either (about 0.4 % of a core more). What it paints with (the background brush, the text colour, the
alignment) is looked up once and again only when the palette, the style or the state changes (a theme
switch), not 20 times a second through the style (about 0.3 % of a core).

A change repaints only the characters that changed, not the whole label: filling and flushing all of it 20
times a second was most of the card's cost (when the label was as wide as the card), while a running cost
changes in its last few digits. With a monospaced font (the
theme's) each character sits in a cell of the font's whole-pixel advance, and is drawn from a pixmap made
once per look (``Glyphs``): laying the text out and finding its glyphs again on every change cost more than
drawing it. A repaint draws the cells its rectangle touches, in order, over a fresh background, exactly as a
full paint draws them, so a partial repaint leaves the same pixels a full one would. With another font (a
fallback without fixed pitch) the text is drawn as text, and a change repaints the union of the old and the
new text's box.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontInfo,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QStyle, QWidget

from paygo_desktop.gui.widgets.steady_label import SteadyLabel

SETTLE_SECONDS = 1.0
INK_MARGIN = 2  # pixels either side of a character's cell: bold and antialiased glyphs reach past it


class Glyphs:
    """The characters of one look (font, colour, pixel ratio), each drawn once into a transparent pixmap
    as wide as its cell plus ``INK_MARGIN`` either side; ``cell`` is the font's advance in whole pixels."""

    def __init__(self, font: QFont, colour: QColor, ratio: float) -> None:
        metrics = QFontMetrics(font)
        self.font = font
        self.colour = colour
        self.ratio = ratio
        self.cell = max(1, metrics.horizontalAdvance("0"))
        self.height = metrics.height()
        self.ascent = metrics.ascent()
        self._pixmaps: dict[str, QPixmap] = {}

    def __getitem__(self, char: str) -> QPixmap:
        pixmap = self._pixmaps.get(char)
        if pixmap is None:
            pixmap = self._pixmaps[char] = self._draw(char)
        return pixmap

    def _draw(self, char: str) -> QPixmap:
        width = self.cell + 2 * INK_MARGIN
        pixmap = QPixmap(QSize(width, self.height) * self.ratio)
        pixmap.setDevicePixelRatio(self.ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setFont(self.font)
        painter.setPen(self.colour)
        painter.drawText(QPoint(INK_MARGIN, self.ascent), char)
        painter.end()
        return pixmap


class LiveNumber(SteadyLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self._live = ""
        self._settled_at = 0.0
        self._paint_with: tuple[QBrush, QColor, int] | None = None  # background, text colour, alignment
        self._glyphs: Glyphs | None = None  # a monospaced font's cells and their pixmaps
        self._boxes: dict[int, tuple[int, int, int]] = {}  # text length -> where it is drawn (_cells_at)
        self._cell = 1  # a monospaced character's width in whole pixels, once its glyphs are made
        self._monospaced: bool | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills every pixel itself

    def setText(self, text: str) -> None:
        old = self._live
        if text == old:
            return
        now = time.monotonic()
        if now - self._settled_at >= SETTLE_SECONDS or (len(text) > len(old) and not self._fits(text)):
            self._settled_at = now
            self._live = text
            super().setText(text)  # read out loud; repaints all of it; grows the label if it must
            return
        self._live = text
        self.update(*self.changed_box(old, text))

    def _fits(self, text: str) -> bool:
        """Whether ``text`` fits the label as laid out now (a longer number may need the layout at once)."""
        return self.contentsRect().contains(self._text_box(text))

    def changed_box(self, old: str, new: str) -> tuple[int, int, int, int]:
        """Where ``new`` differs from ``old`` on screen (x, y, width, height): the cells of the characters
        that changed. On every change, so in plain integers: no rectangles made and read through Qt."""
        if old and old != new and len(old) == len(new) and self._is_monospaced():
            first, last = 0, len(new) - 1
            while old[first] == new[first]:
                first += 1
            while old[last] == new[last]:
                last -= 1
            left, top, height = self._cells_at(len(new))
            cell = self._cell
            return left + first * cell, top, (last + 1 - first) * cell + 2 * INK_MARGIN, height
        box = self._text_box(new)
        if old:
            box = box.united(self._text_box(old))
        return box.x(), box.y(), box.width(), box.height()

    def _text_box(self, text: str) -> QRect:
        """Where ``text`` is drawn, ink margins included (monospaced: its cells, aligned as the label is)."""
        if not self._is_monospaced():
            return self.fontMetrics().boundingRect(self.contentsRect(), self._alignment(), text)
        left, top, height = self._cells_at(len(text))
        return QRect(left, top, len(text) * self._cell + 2 * INK_MARGIN, height)

    def _cells_at(self, length: int) -> tuple[int, int, int]:
        """Where a text of ``length`` characters is drawn (monospaced): the left of its first character's
        ink (INK_MARGIN before its cell), its top and its height."""
        at = self._boxes.get(length)
        if at is None:
            glyphs = self._glyphs_now()
            size = QSize(length * glyphs.cell, glyphs.height)
            cells = QStyle.alignedRect(self.layoutDirection(), self.alignment(), size, self.contentsRect())
            at = self._boxes[length] = (cells.left() - INK_MARGIN, cells.top(), cells.height())
        return at

    def _is_monospaced(self) -> bool:
        if self._monospaced is None:
            self._monospaced = QFontInfo(self.font()).fixedPitch()
        return self._monospaced

    def _glyphs_now(self) -> Glyphs:
        if self._glyphs is None:
            colour = self.palette().color(self.foregroundRole())
            self._glyphs = Glyphs(self.font(), colour, self.devicePixelRatioF())
            self._cell = self._glyphs.cell
        return self._glyphs

    def _alignment(self) -> int:
        return int(self.alignment().value)

    def text(self) -> str:
        return self._live

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        super().setAlignment(alignment)
        self._forget_looks()

    def _forget_looks(self) -> None:
        self._paint_with = None
        self._glyphs = None
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
        area = event.rect()
        painter = QPainter(self)  # takes the widget's font; Qt clips it to what is repainted
        painter.fillRect(area, background)
        text = self._live
        if self._is_monospaced():
            glyphs = self._glyphs_now()
            left, top, _height = self._cells_at(len(text))
            cell = glyphs.cell
            first = max(0, (area.left() - left - 2 * INK_MARGIN) // cell)  # cells whose ink reaches ``area``
            last = min(len(text), (area.right() - left) // cell + 1)
            for i in range(first, last):
                painter.drawPixmap(left + i * cell, top, glyphs[text[i]])
        else:
            painter.setPen(colour)
            painter.drawText(self.contentsRect(), alignment, text)
        painter.end()  # before Qt ends the paint, not whenever Python frees the painter


_LOOKS = {
    QEvent.Type.PaletteChange,
    QEvent.Type.StyleChange,
    QEvent.Type.FontChange,
    QEvent.Type.EnabledChange,
    QEvent.Type.DevicePixelRatioChange,
}
