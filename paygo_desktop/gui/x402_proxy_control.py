"""The local x402 proxy run by the app (``sessions.x402_proxy``), on the app's own loop (qasync).

Start it from Activity's x402 tab; its URL (with its secret) is shown there to copy. It pays from the
active account on the current network within the per-site limits, and:

* a site in **ask-first** mode opens ``X402AskDialog`` for each payment it is about to sign; the request
  waits for the answer, and Decline, closing the dialog or ``ASK_SECONDS`` without an answer decline it
  (the client gets 402 ``refused_declined``; nothing is signed or stored);
* a PayGo provider's request that one of the app's running sessions can serve goes through that session
  (``sessions.x402_sessions``), not paid per request.

The payer signs and does its SQL in worker threads (never on the GUI thread). Locking the wallet or quitting
stops the proxy (``close``: pending questions declined, the server given a few seconds, never a hang).
Nothing here imports the proxy's modules until it is first started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from paygo_desktop.gui.async_tasks import TaskRunner

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.x402_ask_dialog import X402AskDialog
    from paygo_desktop.sessions.live import LiveSession
    from paygo_desktop.sessions.x402_proxy import X402Proxy
    from paygo_desktop.x402.limits import Quote

log = logging.getLogger(__name__)

ASK_SECONDS = 60  # an unanswered question is declined after this
CLOSE_SECONDS = 6  # the most quitting waits for the proxy (its server gets 5)


class X402ProxyControl(QObject):
    changed = Signal()  # started, stopped, or a start that failed
    paid = Signal()  # a payment through the proxy was written or marked: the x402 list, spending, Activity
    message = Signal(str, bool)  # text, is_error: for the panel's message line

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        live: Callable[[], Iterable[LiveSession]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._live = live
        self._proxy: X402Proxy | None = None
        self.starting = False
        self.account: str | None = None  # what the running proxy pays from, and on which network
        self.network_name: str | None = None
        self.asking: list[X402AskDialog] = []  # the open questions (tests answer them)

    @property
    def running(self) -> bool:
        return self._proxy is not None

    @property
    def url(self) -> str | None:
        return None if self._proxy is None else self._proxy.url

    # ---- start and stop

    def start(self) -> None:
        if self.running or self.starting:
            return
        address = self.ctx.settings.active_account or next(
            (a.address for a in self.ctx.accounts.list()), None
        )
        if address is None:
            self.message.emit("Create or import a wallet first.", True)
            return
        self.starting = True
        self.changed.emit()
        self.runner.run(
            self._start(address), on_success=self._started, on_error=self._failed, name="x402-proxy"
        )

    async def _start(self, address: str) -> str:
        from paygo_desktop.sessions.x402_proxy import X402Proxy
        from paygo_desktop.sessions.x402_sessions import session_access
        from paygo_desktop.x402.payer import X402Payer

        ctx = self.ctx

        def prepare() -> tuple[Any, Any, Any]:  # the key, the network and the tokens: off the GUI thread
            network = ctx.network
            return ctx.wallet.local_account(address), network, ctx.known_tokens(network)

        account, network, tokens = await asyncio.to_thread(prepare)
        payer = X402Payer(
            ctx.store,
            account,
            network,
            tokens,
            confirm=self._ask,
            sessions=session_access(self._live),
            on_change=self.paid.emit,
        )
        proxy = X402Proxy(payer)
        url = await proxy.start()
        self._proxy, self.account, self.network_name = proxy, address, network.name
        return url

    def _started(self, _url: str) -> None:
        self.starting = False
        self.message.emit(
            f"The local x402 proxy pays from {self.account} on {self.network_name} within your limits per "
            "site, until you stop it or lock the wallet (switching account or network does not move it: "
            "stop and start it again).",
            False,
        )
        self.changed.emit()

    def _failed(self, text: str) -> None:
        self.starting = False
        self.message.emit(f"The local x402 proxy could not start: {text}", True)
        self.changed.emit()

    def stop(self) -> None:
        if self._proxy is None:
            return
        self.runner.run(self.close(), on_success=lambda _r: self.message.emit("The proxy is stopped.", False))

    async def close(self) -> None:
        """Stop answering: pending questions declined, the server stopped (bounded)."""
        proxy, self._proxy = self._proxy, None
        for dialog in list(self.asking):
            dialog.answer(False)
        if proxy is not None:
            try:
                await asyncio.wait_for(proxy.close(), CLOSE_SECONDS)
            except Exception:
                log.exception("stopping the local x402 proxy failed")
            self.changed.emit()

    # ---- ask-first

    async def _ask(self, quote: Quote) -> bool:
        """Open the question for ``quote`` and wait for the answer (declined on time-out or on close)."""
        from paygo_desktop.gui.x402_ask_dialog import X402AskDialog
        from paygo_desktop.money import Amount

        if self._proxy is None:
            return False
        owner = self.parent()
        dialog = X402AskDialog(quote, ASK_SECONDS, owner if isinstance(owner, QWidget) else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(pay: bool) -> None:  # the dialog closes (and is deleted) after this
            if dialog in self.asking:
                self.asking.remove(dialog)
            if not answer.done():
                answer.set_result(pay)

        dialog.answered.connect(answered)
        self.asking.append(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        amount = Amount(quote.asset, quote.amount)
        self.runner.run(
            self.ctx.fiat_board([quote.asset]),
            on_success=lambda board: (
                None if dialog not in self.asking else dialog.set_value(board.text(amount))
            ),
            name="x402-ask-value",
        )
        try:
            return await asyncio.wait_for(asyncio.shield(answer), ASK_SECONDS + 5)
        except TimeoutError:
            dialog.answer(False)
            return False
        finally:
            if dialog in self.asking:
                self.asking.remove(dialog)
            dialog.answer(
                False
            )  # the request went away meanwhile: the question goes too (no-op once answered)
