"""A one-line label whose text changes while the window is still (a clock, a balance, a running cost).

``QLabel.setText`` tells the layout the label may need another size, and the layout then measures and
places everything around it again: on the meter card, each second, the card and the page's scroll area,
word-wrapped labels shaped anew to learn their heights (most of a running session's CPU beyond the cost's
own repaint). Qt skips that when a widget's size is fixed (its minimum equals its maximum): the label is then
only repainted. ``SteadyLabel`` keeps its size fixed at what its texts have needed so far: a text that fits
repaints the label alone; one that needs more room grows it (one layout pass, the first time a field reads
"59 minutes" or a balance gains a digit); it never shrinks on its own, so a field does not jitter between
widths as its text changes. A new font or style (a theme switch, the style sheet's polish) sizes it afresh.

A steady label is as wide as its widest text, not as wide as its layout's cell: it suits a value that sits
at the start of its cell (left-aligned), not one meant to stretch or wrap.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QWidget

_REFIT = {QEvent.Type.FontChange, QEvent.Type.StyleChange}


class SteadyLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.refit(shrink=True)

    def setText(self, text: str) -> None:
        super().setText(text)  # fixed size: repaints the label, leaves the layout alone
        self.refit()

    def refit(self, shrink: bool = False) -> None:
        """Fix the size to what the text needs: grow when it does not fit; shrink only when asked (a new
        font or style changes every measure)."""
        have = self.minimumSize()
        if shrink:  # QLabel's size hint is never below its minimum size: measure without one
            self.setMinimumSize(0, 0)
        need = self.sizeHint()
        if need != have or self.maximumSize() != need:
            self.setFixedSize(need)

    # (not ``event()``: a Python override there would run for every paint of the label)
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in _REFIT:  # after Qt has applied the new font or style
            self.refit(shrink=True)

    def showEvent(self, event: QShowEvent) -> None:  # polished by now: the style sheet's padding counts
        super().showEvent(event)
        self.refit()
