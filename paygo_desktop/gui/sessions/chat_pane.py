"""The in-app chat of a consultation a session delivers: the conversation so far, a line to write in, and
a status line that says at once when access ends ("The session ended; the chat is closed.").

The chat runs in ``sessions.consultation.ChatClient`` (started through the pane's task runner, on the
event loop) over the session's local proxy; each message reaches the widgets through a signal.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.sessions.consultation import MAX_TEXT, ChatClient, ChatLine

MAX_LINES = 500  # the conversation kept on screen


class ChatPane(QFrame):
    opened = Signal()
    line_arrived = Signal(object)  # ChatLine
    ended = Signal(str)  # why, in words

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Consultation chat")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        self.status = QLabel("Connecting to the consultation…")
        self.status.setObjectName("Hint")
        self.status.setAccessibleName("Chat status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.messages = QListWidget()
        self.messages.setAccessibleName("Chat messages")
        self.messages.setWordWrap(True)
        self.messages.setMinimumHeight(140)
        self.messages.setMinimumWidth(260)
        layout.addWidget(self.messages)
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setAccessibleName("Your message")
        self.input.setPlaceholderText("Write to the consultant…")
        self.input.setMaxLength(MAX_TEXT)
        self.input.returnPressed.connect(self.send)
        row.addWidget(self.input, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send the message")
        self.send_button.clicked.connect(self.send)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self._set_writable(False)
        self.client = ChatClient(self.line_arrived.emit, self.ended.emit, self.opened.emit)
        self.opened.connect(self._opened)
        self.line_arrived.connect(self._show)
        self.ended.connect(self._ended)
        self.closed = False

    def follow(self, runner: TaskRunner, url: str) -> None:
        """Chat at ``url`` (the session's local proxy) until it closes."""
        runner.run(self.client.run(url), name="session-chat")

    def lines(self) -> list[str]:
        return [self.messages.item(i).text() for i in range(self.messages.count())]

    def send(self) -> None:
        line = self.client.send(self.input.text())
        if line is not None:
            self.input.clear()
            self._show(line)

    def _set_writable(self, writable: bool) -> None:
        self.input.setEnabled(writable)
        self.send_button.setEnabled(writable)

    def _opened(self) -> None:
        if not self.closed:
            self.status.setText("Connected: the consultant sees what you write here.")
            self._set_writable(True)
            self.input.setFocus()

    def _show(self, line: ChatLine) -> None:
        self.messages.addItem(f"{line.sender}: {line.text}")
        item = self.messages.item(self.messages.count() - 1)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        while self.messages.count() > MAX_LINES:
            self.messages.takeItem(0)
        self.messages.scrollToBottom()

    def _ended(self, why: str) -> None:
        self.closed = True
        self.status.setText(why)
        self._set_writable(False)
