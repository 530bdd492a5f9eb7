"""What changed, announced once, from one place (Anki's ``operation_did_execute``).

Whatever changes the app's data — a session event, a transaction that went through, a network switch —
hands its ``Changes`` to the window's ``ChangeAnnouncer``; a burst within one turn of the event loop is
merged and ``changed`` is emitted once. Every page listens to that one signal and reads again only when the
change touches what it shows (``Page.on_changes``), now if it is on screen, else when it is next shown.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from paygo_desktop.changes import NOTHING, Changes


class ChangeAnnouncer(QObject):
    changed = Signal(object)  # Changes

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = NOTHING
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._emit)

    def announce(self, changes: Changes) -> None:
        if not changes:
            return
        self._pending = self._pending | changes
        self._timer.start()

    def _emit(self) -> None:
        changes, self._pending = self._pending, NOTHING
        if changes:
            self.changed.emit(changes)
