"""An inline message line: errors in red, confirmations in the accent colour, hidden when empty.

Plain text always: a message often carries another machine's words (a provider's error, a revert reason, a
server's refusal), and a QLabel left to guess renders anything that looks like HTML as HTML (a fake "✔
Refund sent" in the accent colour, a link)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


class InlineMessage(QLabel):
    def __init__(self, parent: QWidget | None = None, name: str = "Message") -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.hide()

    def error(self, text: str) -> None:
        self._show(text, "ErrorText")

    def ok(self, text: str) -> None:
        self._show(text, "OkText")

    def clear_message(self) -> None:
        self.setText("")
        self.hide()

    def _show(self, text: str, kind: str) -> None:
        self.setObjectName(kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.setVisible(bool(text))
