"""An honest empty page: what this place is for, why it is empty, and what will appear here."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

TEXT_WIDTH = 560


class EmptyState(QWidget):
    def __init__(
        self, title: str, explanation: str, what_appears: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        self.setAccessibleName(f"{title}: empty")
        column = QVBoxLayout()
        column.setSpacing(10)
        self.title = QLabel(title)
        self.title.setObjectName("EmptyTitle")
        self.explanation = QLabel(explanation)
        self.what_appears = QLabel(what_appears)
        self.what_appears.setObjectName("Hint")
        for label in (self.title, self.explanation, self.what_appears):
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setFixedWidth(TEXT_WIDTH)
            label.setMinimumHeight(label.heightForWidth(TEXT_WIDTH))
            label.setAccessibleName(label.text())
            column.addWidget(label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addLayout(column)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
