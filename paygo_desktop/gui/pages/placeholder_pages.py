"""Pages whose features are still to come. Each says plainly what it will hold; none shows made-up data."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.empty_state import EmptyState


class EmptyPage(Page):
    empty_title = ""
    explanation = ""
    what_appears = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_state = EmptyState(self.empty_title, self.explanation, self.what_appears)
        self.layout_.addWidget(self.empty_state, 1)
