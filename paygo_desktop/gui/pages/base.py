"""What every page has: a title and a ``refresh()`` called when it is shown or the data changes."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class Page(QWidget):
    key = ""
    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(f"{self.title} page")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(24, 18, 24, 18)
        self.heading = QLabel(self.title)
        self.heading.setObjectName("PageTitle")
        self.heading.setAccessibleName(self.title)
        self.layout_.addWidget(self.heading)

    def refresh(self) -> None:
        """Reload what the page shows from the core; cheap, called on every visit."""
