"""Notices user activity anywhere in the app and says when it has been idle for too long."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    """``idle`` fires once per idle period longer than ``timeout_seconds()``. While started it watches every
    event of the application (an application-wide event filter); stopped, it watches nothing, so the
    events of the lock screen and of start-up never pass through Python for it."""

    idle = Signal()

    def __init__(
        self, timeout_seconds: Callable[[], float], check_ms: int = 15_000, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.timeout_seconds = timeout_seconds
        self.last_activity = time.monotonic()
        self.enabled = False
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms)
        self.timer.timeout.connect(self.check)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self.last_activity = time.monotonic()
        return False

    def start(self) -> None:
        self.last_activity = time.monotonic()
        app = QCoreApplication.instance()
        if app is not None and not self.enabled:
            app.installEventFilter(self)
        self.enabled = True
        self.timer.start()

    def stop(self) -> None:
        app = QCoreApplication.instance()
        if app is not None and self.enabled:
            app.removeEventFilter(self)
        self.enabled = False
        self.timer.stop()

    def check(self) -> None:
        limit = self.timeout_seconds()
        if not self.enabled or limit <= 0:
            return
        if time.monotonic() - self.last_activity >= limit:
            self.stop()
            self.idle.emit()
