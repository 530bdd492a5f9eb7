"""The app's lapsed check of x402 payments (``x402.lapsed_sweep``), run in the background: when the app
opens (after unlocking, and whenever the node answers again) and when the x402 payments are shown or
refreshed. One at a time: asked while one runs, it is not started twice.

What it changed goes out as ``changed`` (a ``Changes``), for the window's announcer: the x402 list, and
Activity's spending and log when a payment was found settled and booked. A node away or slow, or any
other failure, changes nothing and shows nothing (logged): the payments keep counting at their most until
the next check. The core module (web3 behind it) is imported in a worker thread, never on the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from paygo_desktop.gui.async_tasks import TaskRunner

if TYPE_CHECKING:
    from paygo_desktop.changes import Changes

log = logging.getLogger(__name__)


class X402LapsedCheck(QObject):
    changed = Signal(object)  # Changes: what the check marked (nothing emitted when it marked nothing)
    done = Signal()  # a check ended, however

    def __init__(
        self,
        ctx: Any,
        runner: TaskRunner,
        parent: QObject | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._clock = clock
        self.running = False

    def run(self) -> None:
        """Ask the chain about every site's lapsed payments, unless a check is under way."""
        if self.running:
            return
        self.running = True
        ctx, now = self.ctx, int(self._clock())

        async def work() -> Changes:  # SQL, the import and the node: off the GUI thread
            import asyncio

            from paygo_desktop.gui.warm_up import import_module

            sweep = await asyncio.to_thread(import_module, "paygo_desktop.x402.lapsed_sweep")
            store, network = await asyncio.to_thread(lambda: (ctx.store, ctx.network))
            check = await sweep.settle_every_lapsed(store, network, now)
            changes: Changes = sweep.changes_of(check)
            return changes

        task = self.runner.run(work(), on_success=self._found, on_error=self._failed, name="x402-lapsed")
        task.finished.connect(self._ended)

    def _found(self, changes: Changes) -> None:
        if changes:
            self.changed.emit(changes)

    def _failed(self, message: str) -> None:
        log.info("the lapsed x402 payments were not checked: %s", message)  # logged in full by the runner

    def _ended(self) -> None:
        self.running = False
        self.done.emit()
