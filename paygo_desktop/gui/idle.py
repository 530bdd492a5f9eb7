"""Notices user activity anywhere in the app and says when it has been idle for too long.

The idle arithmetic reads an injectable monotonic clock, so tests need not wait.
"""

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
    """``idle`` fires once per idle period longer than ``timeout_seconds()`` (0: never). While
    started it watches every event of the application (an application-wide event filter); stopped, it
    watches nothing, so the events of the lock screen and of start-up never pass through Python for it."""

    idle = Signal()

    def __init__(
        self,
        timeout_seconds: Callable[[], float],
        check_ms: int = 15_000,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self.last_activity = clock()
        self.enabled = False
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms)
        self.timer.timeout.connect(self.check)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self.note_activity()
        return False

    def note_activity(self) -> None:
        self.last_activity = self._clock()

    def seconds_until_idle(self) -> float | None:
        """Seconds left before the app counts as idle (0 when it is); None when it never does."""
        limit = self.timeout_seconds()
        if limit < 0:
            raise ValueError("the idle time cannot be negative")
        if limit == 0:
            return None
        return max(0.0, limit - (self._clock() - self.last_activity))

    def is_idle(self) -> bool:
        remaining = self.seconds_until_idle()
        return remaining is not None and remaining <= 0

    def start(self) -> None:
        self.note_activity()
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
        if self.enabled and self.is_idle():
            self.stop()
            self.idle.emit()
