"""Call… on the Services page for a per-request service: one paid request with x402 (``x402.one_off``).

The dialog shows the price per request; "Pay and call" is the confirmation, and the price shown is the most
that is paid (the site's own limits apply as well, ``paygo-desktop x402 policy``). The request, its
signing and its database work run in a worker thread; the answer (status, what was paid, the start of the
body as plain text) comes back through the task's signal. When the provider also sells the service by time
(its 402's ``paygo-session`` hint), the answer says so, with both prices and from how many calls a minute a
session costs less; with such a session running in the app, the call goes through it, unpaid."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import X402_PAID, Changes
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

SHOWN_BYTES = 64 * 1024


class X402CallDialog(QDialog):
    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        entry: Any,
        parent: QWidget | None = None,
        live_sessions: Callable[[], list[Any]] = list,
        announce: Callable[[Changes], None] = lambda _changes: None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.entry = entry
        self.live_sessions = live_sessions
        self.announce = announce  # the page's: a payment made here is read again by the views showing it
        self.setWindowTitle(f"Call {entry.service.name}")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        price = QLabel(f"{entry.rate.format()} per request, paid with x402 from your wallet")
        price.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("Price", price)
        provider = QLabel(str(entry.provider_name))
        provider.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("Provider", provider)
        self.path = QLineEdit()
        self.path.setPlaceholderText("path and query below the service, e.g. weather?city=Oslo")
        self.path.setAccessibleName("Path below the service")
        form.addRow("Request", self.path)
        layout.addLayout(form)
        self.message = InlineMessage(self, "Call message")
        layout.addWidget(self.message)
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setAccessibleName("The service's answer")
        layout.addWidget(self.answer, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.call_button = QPushButton(f"Pay {entry.rate.format()} and call")
        self.call_button.setObjectName("Primary")
        buttons.addButton(self.call_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.call_button.clicked.connect(self.call)
        self.resize(620, 460)

    def call(self) -> None:
        from paygo_desktop.sessions.x402_sessions import snapshot
        from paygo_desktop.x402.one_off import OneOffCall, call_paid

        call = OneOffCall(
            self.entry.provider_url, self.entry.service.id, self.entry.rate, self.path.text().strip()
        )
        ctx = self.ctx
        sessions = snapshot(self.live_sessions())  # read here, on the loop's thread that changes them

        async def work() -> Any:  # on the loop (quitting ends it); the key and the SQL in worker threads
            import asyncio

            from paygo_desktop.errors import UserFacingError

            def first_account() -> str | None:  # SQL
                return next((a.address for a in ctx.accounts.list()), None)

            network = ctx.network
            address = ctx.settings.active_account or await asyncio.to_thread(first_account)
            if address is None:
                raise UserFacingError("Create or import a wallet first.")
            account = await asyncio.to_thread(ctx.wallet.local_account, address)
            tokens = await asyncio.to_thread(ctx.known_tokens, network)
            return await call_paid(call, ctx.store, account, network, tokens, sessions, self._paid)

        self.call_button.setEnabled(False)
        self.runner.run(work(), on_success=self._answered, on_error=self._failed, name="x402-call")

    def _paid(self) -> None:  # on the loop (the GUI thread): the payer wrote or marked a payment
        self.announce(X402_PAID)

    def _answered(self, answer: Any) -> None:
        self.call_button.setEnabled(True)
        if answer.payment is not None:
            paid = f"Paid {self.entry.rate.format()} ({answer.payment.status})."
        elif answer.via_session and answer.offer is not None:
            paid = (
                f"Served through your running session on {answer.offer.name}: nothing was paid per "
                "request (the session's meter pays for its time)."
            )
        else:
            paid = "Nothing was paid."
        said = f"{paid} The service answered {answer.status}."
        if answer.hint:  # the provider also sells it by time (its 402's paygo-session hint)
            said += f"\n{answer.hint}"
        if 200 <= answer.status < 300:
            self.message.ok(said)
        else:
            self.message.error(said)
        self.answer.setPlainText(answer.body[:SHOWN_BYTES].decode("utf-8", errors="replace"))

    def _failed(self, message: str) -> None:
        self.call_button.setEnabled(True)
        self.message.error(message)
