"""The first screen shown while the store opens behind it (``app._Startup``): the lock screen if the database
lists a wallet (``store.wallet_probe``), else the first-run wizard, before the store has opened (SQLAlchemy's
import is most of that time). ``MainWindow.attach(ctx)`` or ``show_load_error`` follows and ends the wait;
an unlock or the wizard's end asked for before then waits for the store in its task (``opened``), never on
the GUI thread."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from paygo_desktop.errors import UserFacingError

if TYPE_CHECKING:
    from paygo_desktop.gui.main_window import MainWindow


class FirstScreenWhileOpening:
    def __init__(self, window: MainWindow) -> None:
        self._window = window
        # None once the store has opened, else its error's message
        self._opened: asyncio.Future[str | None] = asyncio.get_event_loop().create_future()

    def show(self, wallet_listed: bool) -> None:
        window = self._window
        if not wallet_listed:
            window.show_onboarding()
            return
        window._build_lock_screen()
        window.lock_screen.reset()
        window.root.setCurrentWidget(window.lock_screen)
        window._set_mode("locked")
        window.lock_screen.password.setFocus()

    def opening(self) -> bool:
        """Whether the store behind the first screen is still opening."""
        return not self._opened.done()

    async def opened(self) -> None:
        """Wait until the store behind the first screen has opened; its error, in words, if it could not."""
        if self._window.is_loaded:
            return
        failure = await asyncio.shield(self._opened)  # a cancelled unlock leaves the wait for the others
        if failure is not None:
            raise UserFacingError(failure)

    def store_opened(self) -> None:
        if not self._opened.done():
            self._opened.set_result(None)  # an unlock (or the wizard's end) waiting for the store goes on

    def store_failed(self, message: str) -> None:
        if not self._opened.done():
            self._opened.set_result(message)  # an unlock (or the wizard's end) waiting ends with this
