"""Notifications for the user (renewal reminders): one small interface, ``notify(title, text)``.

The composition root hands a ``Notifier`` to the views. The real one is a tray notification
(``QSystemTrayIcon``); where there is no system tray (offscreen, some Linux desktops) it shows the notice in
a banner at the top of the window instead. Tests pass their own object with a ``notify`` method and look
at what it was told.
"""

from __future__ import annotations

import html
import logging
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSystemTrayIcon, QWidget

log = logging.getLogger(__name__)

TRAY_MESSAGE_MS = 15_000
MAX_BANNER_LINES = 3


class Notifier(Protocol):
    def notify(self, title: str, text: str) -> None: ...


class NoticeBanner(QFrame):
    """A strip at the top of the window with the latest notices (plain text) and a button to dismiss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setAccessibleName("Notices")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Notice")
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setAccessibleName("Dismiss the notices")
        self.dismiss.clicked.connect(self.clear)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.lines: list[str] = []
        self.hide()

    def show_notice(self, title: str, text: str) -> None:
        self.lines = [*self.lines, f"{title}: {text}"][-MAX_BANNER_LINES:]
        self.label.setText("\n".join(self.lines))
        self.show()

    def clear(self) -> None:
        self.lines = []
        self.label.clear()
        self.hide()


class BannerNotifier:
    def __init__(self, banner: NoticeBanner) -> None:
        self.banner = banner

    def notify(self, title: str, text: str) -> None:
        self.banner.show_notice(title, text)


class TrayNotifier:
    """A tray notification; the banner when the system has no tray or it cannot show messages."""

    def __init__(self, icon: QIcon, fallback: Notifier, parent: QWidget | None = None) -> None:
        self.fallback = fallback
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self.tray = QSystemTrayIcon(icon, parent)
            self.tray.setToolTip("PayGo Desktop")
            self.tray.show()

    def notify(self, title: str, text: str) -> None:
        log.info("notice: %s", title)
        if self.tray is None or not self.tray.isVisible():
            self.fallback.notify(title, text)
            return
        # some notification servers render markup in the body, and a failed session's text quotes its
        # provider: escaped, it reads as written
        shown = html.escape(text, quote=False)
        self.tray.showMessage(title, shown, QSystemTrayIcon.MessageIcon.Information, TRAY_MESSAGE_MS)


def make_notifier(banner: NoticeBanner, icon: QIcon, parent: QWidget | None = None) -> Notifier:
    """The app's notifier: the tray where there is one, the window's banner otherwise."""
    return TrayNotifier(icon, BannerNotifier(banner), parent)
