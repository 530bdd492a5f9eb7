"""The lock screen: a password field and Unlock. Unlocking runs in a thread; the window stays responsive.

It may be shown before the store has opened (``MainWindow.show_first_screen_while_opening``): an unlock
asked for then waits for it (``opened``) in its task, and goes on, or ends with the store's error in words.
Meanwhile it says "Opening your wallet…", and "Checking the password…" once the store is open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.resources import app_icon_path
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.wallet import Wallet

OPENING_TEXT = "Opening your wallet…"
CHECKING_TEXT = "Checking the password…"


class LockScreen(QWidget):
    unlocked = Signal()
    _checking = Signal()  # the store is open: the unlock's task now checks the password

    def __init__(
        self,
        runner: TaskRunner,
        wallet: Callable[[], Wallet],
        parent: QWidget | None = None,
        *,
        opened: Callable[[], Awaitable[None]] | None = None,
        opening: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._wallet = wallet
        self._opened = opened  # waits until the store behind this screen has opened
        self._opening = opening  # whether it is still opening
        self._checking.connect(self._show_checking)
        self.setAccessibleName("Lock screen")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("Card")
        card.setFixedWidth(380)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        icon = QLabel()
        path = app_icon_path()
        if path:
            icon.setPixmap(
                QPixmap(str(path)).scaled(
                    56, 56, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        icon.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        title = QLabel("PayGo Desktop is locked")
        title.setObjectName("PageTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        hint = QLabel("Enter your wallet password to continue.")
        hint.setObjectName("Hint")
        hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password")
        self.password.setAccessibleName("Password")
        self.password.returnPressed.connect(self.submit)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("Primary")
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.submit)
        self.message = InlineMessage(name="Unlock message")
        self.busy = BusyIndicator(CHECKING_TEXT)
        for w in (icon, title, hint, self.password, self.unlock_button, self.message, self.busy):
            layout.addWidget(w)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def reset(self) -> None:
        self.password.clear()
        self.message.clear_message()
        self.busy.stop()
        self._set_enabled(True)
        self.password.setFocus()

    def _set_enabled(self, enabled: bool) -> None:
        self.password.setEnabled(enabled)
        self.unlock_button.setEnabled(enabled)

    def submit(self) -> None:
        password = self.password.text()
        if not password:
            self.message.error("Enter your password.")
            return
        self.message.clear_message()
        self._set_enabled(False)
        waits = self._opening is not None and self._opening()
        self.busy.start(OPENING_TEXT if waits else CHECKING_TEXT)
        self._runner.run(
            self._unlock(password, waits), on_success=self._done, on_error=self._failed, name="unlock"
        )

    async def _unlock(self, password: str, waits: bool) -> None:
        import asyncio

        if self._opened is not None:
            await self._opened()  # the store may still be opening behind this screen
        if waits:
            self._checking.emit()
        await asyncio.to_thread(self._wallet().unlock, password)

    def _show_checking(self) -> None:
        if self.busy.isVisible():
            self.busy.start(CHECKING_TEXT)

    def _done(self, _result: object) -> None:
        self.busy.stop()
        self._set_enabled(True)
        self.password.clear()
        self.unlocked.emit()

    def _failed(self, message: str) -> None:
        self.busy.stop()
        self._set_enabled(True)
        self.password.clear()
        self.message.error(message)
        self.password.setFocus()
