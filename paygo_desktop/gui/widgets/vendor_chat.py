"""The Vendor page's Consultations tab: the vendor answers a consultation's chat room from the app, as
``paygo-desktop provider chat`` does from a terminal (``vendor.chat.relay``): each question shows as
``[c1] <text>``; an answer goes to the conversation chosen (the one heard from last by default).

The room is the running sandbox's (its address and vendor secret read from ``chat-vendor.json`` in a worker
thread), or one the vendor names with its secret. The relay runs on the event loop; its lines reach the
widgets through a signal.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner

MAX_LINES = 500
_CONVERSATION = re.compile(r"^\[(c\d{1,9})\] ")


class VendorChatPanel(QWidget):
    heard = Signal(str)  # a line from the room (vendor.chat.shown)

    def __init__(self, ctx: AppContext, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.answers: asyncio.Queue[str] | None = None  # lines for the room, while connected
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        hint = QLabel(
            "Answer your consultations' chat room from here. The sandbox's room is found by itself; for "
            "your own, enter its vendor address and secret."
        )
        hint.setWordWrap(True)
        hint.setObjectName("Hint")
        layout.addWidget(hint)
        row = QHBoxLayout()
        self.url = QLineEdit()
        self.url.setAccessibleName("Chat room's vendor address")
        self.url.setPlaceholderText("ws://127.0.0.1:9003/vendor (empty: the running sandbox's)")
        self.secret = QLineEdit()
        self.secret.setAccessibleName("Chat room's vendor secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("its secret")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setAccessibleName("Connect to the chat room")
        self.connect_button.clicked.connect(self.connect_room)
        row.addWidget(self.url, 2)
        row.addWidget(self.secret, 1)
        row.addWidget(self.connect_button)
        layout.addLayout(row)
        self.status = QLabel("Not connected.")
        self.status.setObjectName("Hint")
        self.status.setAccessibleName("Chat room status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.messages = QListWidget()
        self.messages.setAccessibleName("Consultation messages")
        self.messages.setWordWrap(True)
        layout.addWidget(self.messages, 1)
        answer = QHBoxLayout()
        self.conversation = QComboBox()
        self.conversation.setAccessibleName("Answer to")
        self.input = QLineEdit()
        self.input.setAccessibleName("Your answer")
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send the answer")
        self.send_button.clicked.connect(self.send)
        answer.addWidget(self.conversation)
        answer.addWidget(self.input, 1)
        answer.addWidget(self.send_button)
        layout.addLayout(answer)
        self.heard.connect(self._show)
        self._set_connected(False)

    def lines(self) -> list[str]:
        return [self.messages.item(i).text() for i in range(self.messages.count())]

    def _set_connected(self, connected: bool) -> None:
        self.connect_button.setEnabled(not connected)
        for widget in (self.conversation, self.input, self.send_button):
            widget.setEnabled(connected)

    def connect_room(self) -> None:
        url, secret = self.url.text().strip(), self.secret.text()
        if url and not secret:
            self.status.setText("Enter the room's vendor secret.")
            return
        self.connect_button.setEnabled(False)
        if url:
            self._relay(url, secret)
            return
        from paygo_desktop.sandbox.chat_access import read_chat_access

        def found(result: object) -> None:
            access: Any = result
            if access is None:
                self.connect_button.setEnabled(True)
                self.status.setText("No sandbox consultation here: start the sandbox, or enter a room.")
                return
            self._relay(access.url, access.secret)

        def failed(message: str) -> None:
            self.connect_button.setEnabled(True)
            self.status.setText(message)

        sandbox_dir = self.ctx.data_dir.sandbox_dir
        self.runner.run(
            read_chat_access, sandbox_dir, on_success=found, on_error=failed, name="vendor-chat-room"
        )

    def _relay(self, url: str, secret: str) -> None:
        from paygo_desktop.vendor.chat import relay

        self.status.setText(f"Connecting to {url}…")
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.answers = queue

        async def lines() -> Any:
            while True:
                yield await queue.get()

        def ended(result: object) -> None:
            self._closed(f"The chat room closed ({result}).")

        self.runner.run(
            relay(url, secret, lines(), self.heard.emit),
            on_success=ended,
            on_error=self._closed,
            name="vendor-chat",
        )

    def _closed(self, why: str) -> None:
        self.answers = None
        self._set_connected(False)
        self.status.setText(why)

    def _show(self, line: str) -> None:
        if line.startswith("connected to"):
            self.status.setText("Connected: questions appear below.")
            self._set_connected(True)
            return
        match = _CONVERSATION.match(line)
        if match is not None and not line.endswith("] left"):
            name = match.group(1)
            if self.conversation.findText(name) < 0:
                self.conversation.addItem(name)
            self.conversation.setCurrentText(name)
        self.messages.addItem(line)
        while self.messages.count() > MAX_LINES:
            self.messages.takeItem(0)
        self.messages.scrollToBottom()

    def send(self) -> None:
        text, name = self.input.text().strip(), self.conversation.currentText()
        if not text or not name or self.answers is None:
            return
        self.answers.put_nowait(f"@{name} {text}")
        self.messages.addItem(f"[{name}] you: {text}")
        self.input.clear()
