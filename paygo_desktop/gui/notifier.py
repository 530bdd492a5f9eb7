"""Notifications the user should see even when the window is in the background.

``Notifier.notify(title, text)`` shows a tray message where the desktop has a system tray, and always emits
``notified`` so that the window can show the same words in its status bar (offscreen and trayless desktops
have no tray). Every notification is also logged, without secrets: callers pass plain sentences.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

log = logging.getLogger(__name__)

TRAY_MESSAGE_MS = 8000


class Notifier(QObject):
    notified = Signal(str, str)  # title, text

    def __init__(self, icon: QIcon | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon or QIcon(), self)
            self.tray.setToolTip("PayGo Desktop")
            self.tray.show()

    def notify(self, title: str, text: str) -> None:
        log.info("notification: %s — %s", title, text)
        self.history.append((title, text))
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, TRAY_MESSAGE_MS)
        self.notified.emit(title, text)

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
