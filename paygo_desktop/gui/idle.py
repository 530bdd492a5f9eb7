"""Notices user activity anywhere in the app and says when it has been idle for too long.

It watches the app's top-level windows (``QWindow``), where every key press, click, mouse move, wheel turn
and touch from the system arrives first, rather than the whole application: an application-wide event
filter would run Python for every event of every object (each timer tick and each repaint of the live
meter: 0.2–0.3 % of a core for one card on screen, benchmarks/meter_repaint.py); a window sees a handful.
A window that opens later is watched from when it takes the focus, or from the next check at the latest.
The idle arithmetic reads an injectable monotonic clock, so tests need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QWindow

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    """``idle`` fires once per idle period longer than ``timeout_seconds()`` (0: never). While
    started it watches the input of every top-level window; stopped, it watches nothing, so the events of
    the lock screen and of start-up never pass through Python for it."""

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
        self._watched: list[QWindow] = []

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
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication) and not self.enabled:
            app.focusWindowChanged.connect(self._watch)
        self.enabled = True
        self._watch_all()
        self.timer.start()

    def stop(self) -> None:
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication) and self.enabled:
            app.focusWindowChanged.disconnect(self._watch)
        for window in QGuiApplication.topLevelWindows():
            window.removeEventFilter(self)
        self._watched = []
        self.enabled = False
        self.timer.stop()

    def _watch_all(self) -> None:
        for window in QGuiApplication.topLevelWindows():
            self._watch(window)

    def _watch(self, window: QWindow | None) -> None:
        if window is None or not self.enabled or any(w is window for w in self._watched):
            return
        window.installEventFilter(self)
        window.destroyed.connect(self._forget)
        self._watched.append(window)

    def _forget(self, gone: QObject) -> None:
        self._watched = [w for w in self._watched if w is not gone]

    def check(self) -> None:
        self._watch_all()  # a window that opened without taking the focus
        if self.enabled and self.is_idle():
            self.stop()
            self.idle.emit()
