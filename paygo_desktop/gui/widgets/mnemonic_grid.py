"""Recovery words shown numbered in a grid, four to a row."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

COLUMNS = 4


class MnemonicGrid(QWidget):
    def __init__(self, words: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Recovery words")
        self.grid = QGridLayout(self)
        self.grid.setSpacing(8)
        self.labels: list[QLabel] = []
        self.set_words(words)

    def set_words(self, words: list[str]) -> None:
        for label in self.labels:
            self.grid.removeWidget(label)
            label.deleteLater()
        self.labels = []
        for i, word in enumerate(words):
            label = QLabel(f"{i + 1:>2}. {word}")
            label.setObjectName("MnemonicWord")
            label.setAccessibleName(f"Word {i + 1}: {word}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.grid.addWidget(label, i // COLUMNS, i % COLUMNS)
            self.labels.append(label)

    @property
    def words(self) -> list[str]:
        return [label.text().split(". ", 1)[1] for label in self.labels]
