"""What every page has: a title, what it shows, and ``refresh()``, called when what it shows changed.

A page reads its data when it is first shown, and again only when a change it shows is announced
(``on_changes``: at once while it is on screen, else at its next visit) or, for a page that shows the
outside world (the chain, a provider), once its figures are older than ``stale_after`` seconds. Showing a
page does not re-read everything.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from paygo_desktop.changes import NOTHING, Changes

if TYPE_CHECKING:
    from paygo_desktop.gui.changes import ChangeAnnouncer


class Page(QWidget):
    key = ""
    title = ""
    shows: ClassVar[Changes] = NOTHING  # the parts of the app's data this page shows
    stale_after: ClassVar[float | None] = None  # seconds after which a visit reads the outside world again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(f"{self.title} page")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(24, 18, 24, 18)
        self.heading = QLabel(self.title)
        self.heading.setObjectName("PageTitle")
        self.heading.setAccessibleName(self.title)
        self.layout_.addWidget(self.heading)
        self._stale = True
        self._read_at: float | None = None
        self.announcer: ChangeAnnouncer | None = None  # the window's; set when the page is added to it

    def announce(self, changes: Changes) -> None:
        """This page changed the app's data (a purchase, a transaction): the window says so once."""
        if self.announcer is not None:
            self.announcer.announce(changes)

    def refresh(self) -> None:
        """Read what the page shows from the core again (slow work in the background)."""

    async def release(self) -> None:
        """Close what the page holds open (a chain connection) before the app quits."""

    def shown(self) -> None:
        """The page is now the current one: read again what changed since it last did, nothing else."""
        too_old = (
            self.stale_after is not None
            and self._read_at is not None
            and time.monotonic() - self._read_at > self.stale_after
        )
        if self._stale or too_old:
            self.reread()

    def on_changes(self, changes: Changes) -> None:
        """A change was announced: read again now if it touches what this page shows and the page is on
        screen; a hidden page reads at its next visit."""
        if not changes.touches(self.shows):
            return
        if self.isVisible():
            self.reread()
        else:
            self._stale = True

    def reread(self) -> None:
        self._stale = False
        self._read_at = time.monotonic()
        self.refresh()
