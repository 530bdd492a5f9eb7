"""A small "working…" indicator: an indeterminate progress bar with a caption."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class BusyIndicator(QWidget):
    def __init__(self, text: str = "Working…", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(120)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Busy")
        self.label = QLabel(text)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addStretch(1)
        self.setAccessibleName("Busy indicator")
        self.hide()

    def start(self, text: str | None = None) -> None:
        if text:
            self.label.setText(text)
        self.show()

    def stop(self) -> None:
        self.hide()
