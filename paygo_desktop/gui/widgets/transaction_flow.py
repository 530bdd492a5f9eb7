"""The transaction dialog: what will happen, what it may cost, the password if needed, then its progress.

Every screen that sends a transaction uses this one dialog. It draws a ``chain.tx_flow.TxFlow`` (the
Qt-free state machine) and drives it through the ``TaskRunner``, so nothing blocks the GUI thread.

Use it like this::

    from paygo_desktop.gui.widgets.transaction_flow import TransactionDialog

    dialog = TransactionDialog.for_requests(
        runner,          # the window's TaskRunner
        wallet,          # the Wallet (asked to unlock here if it is locked)
        manager,         # a chain.transactions.TransactionManager, e.g. EscrowService.transactions
        sender,          # the account's address
        [request, ...],  # TxRequests, sent one after the other (an approval, then a deposit)
        title="Deposit into escrow",
        explorer=network.explorer_tx_url,  # optional: links to the network's block explorer
        parent=self,
    )
    dialog.flow_finished.connect(on_finished)  # a FlowState: .phase "done", "failed" or "cancelled"; .records
    dialog.open()  # window-modal; never exec(): the asyncio loop must keep running

For each transaction the dialog shows its description, the gas limit and the fee (likely and at most, in
ETH), and a Send button; a password field appears when the wallet is locked. Once sent it shows pending →
in a block (confirmations counted) → done, with the explorer link where the network has one, and Speed up
and Cancel buttons while the transaction waits. Closing the dialog early never loses a transaction: it is
in the store, and the Escrow page keeps watching it (``TxFlow.resume`` picks it up after a restart too).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.chain.transactions import TransactionManager, TxRequest
from paygo_desktop.chain.tx_flow import FlowState, TxFlow
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.money import ETH, Amount

if TYPE_CHECKING:
    from paygo_desktop.wallet import Wallet


class ChainService(Protocol):
    """What a page's chain service (escrow.service, jobs.service) gives a transaction dialog."""

    transactions: TransactionManager
    account: str

    def explorer_url(self, tx_hash: str) -> str | None: ...


POLL_MS = 1000


def format_wei(wei: int) -> str:
    """ETH with up to 9 decimals; a fee that small shows as “less than 0.000000001 ETH”, never as 0."""
    text = Amount(ETH, wei).format(max_decimals=9)
    if wei > 0 and text == "0 ETH":
        return "less than 0.000000001 ETH"
    return text


def phase_text(state: FlowState) -> str:
    if state.phase == "quoting":
        return "Estimating the network fee…"
    if state.phase == "review":
        return "Check the details, then send."
    if state.phase == "sending":
        return "Signing and sending…"
    if state.phase == "pending":
        return "Sent. Waiting for the network to put it in a block…"
    if state.phase == "mined":
        return (
            f"In a block: {state.confirmations} of {state.required_confirmations} confirmations. "
            "Waiting for more blocks…"
        )
    if state.phase == "done":
        if state.steps > 1:
            return f"Done: all {state.steps} transactions are confirmed."
        return "Done: the transaction is confirmed."
    if state.phase == "cancelled":
        return "Cancelled."
    return "Not sent." if state.record is None else "The transaction failed."


class TransactionDialog(QDialog):
    flow_finished = Signal(object)  # the final FlowState

    def __init__(
        self,
        flow: TxFlow,
        runner: TaskRunner,
        wallet: Wallet,
        *,
        title: str = "Send a transaction",
        poll_ms: int = POLL_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.runner = runner
        self.wallet = wallet
        self._busy = False
        self._emitted = False
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(520)

        layout = QVBoxLayout(self)
        self.step_label = QLabel()
        self.step_label.setObjectName("Hint")
        self.step_label.setAccessibleName("Step")
        self.description = QLabel()
        self.description.setTextFormat(Qt.TextFormat.PlainText)  # it names tokens others named
        self.description.setWordWrap(True)
        self.description.setAccessibleName("What will happen")
        layout.addWidget(self.step_label)
        layout.addWidget(self.description)

        self._build_review(layout)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Progress")
        self.link = QLabel()
        self.link.setOpenExternalLinks(True)
        self.link.setAccessibleName("Block explorer link")
        self.tx_hash = QLabel()
        self.tx_hash.setObjectName("Hint")
        self.tx_hash.setAccessibleName("Transaction hash")
        self.tx_hash.setWordWrap(True)
        self.message = InlineMessage(self, "Transaction message")
        for widget in (self.status, self.tx_hash, self.link, self.message):
            layout.addWidget(widget)

        self._build_buttons(layout)

        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.poll)
        self.finished.connect(self._stop)
        self.redraw()
        if flow.state.phase == "quoting":
            QTimer.singleShot(0, self.prepare)
        elif flow.state.phase in ("pending", "mined"):
            self.timer.start()

    def _build_review(self, layout: QVBoxLayout) -> None:
        """What is reviewed before Send: the ETH sent, the fee and gas, and the password if locked."""
        form = QFormLayout()
        self.amount_label = QLabel()
        self.amount_label.setAccessibleName("ETH sent with it")
        self.fee_label = QLabel()
        self.fee_label.setAccessibleName("Network fee")
        self.fee_label.setWordWrap(True)
        self.gas_label = QLabel()
        self.gas_label.setAccessibleName("Gas limit")
        form.addRow("ETH sent", self.amount_label)
        form.addRow("Network fee", self.fee_label)
        form.addRow("Gas limit", self.gas_label)
        layout.addLayout(form)
        self.password_row = QWidget()
        password_layout = QVBoxLayout(self.password_row)
        password_layout.setContentsMargins(0, 0, 0, 0)
        password_hint = QLabel("The wallet is locked. Enter its password to sign this transaction.")
        password_hint.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Wallet password")
        self.password.returnPressed.connect(self.send)
        password_layout.addWidget(password_hint)
        password_layout.addWidget(self.password)
        layout.addWidget(self.password_row)

    def _build_buttons(self, layout: QVBoxLayout) -> None:
        """Speed up, Cancel transaction, Try again, Close and Send."""
        buttons = QHBoxLayout()
        self.speed_up_button = QPushButton("Speed up")
        self.speed_up_button.setToolTip("Send it again with a higher fee, so it is picked sooner")
        self.cancel_tx_button = QPushButton("Cancel transaction")
        self.cancel_tx_button.setToolTip(
            "Replace it with an empty transfer to yourself at a higher fee; only that fee is paid"
        )
        self.retry_button = QPushButton("Try again")
        self.close_button = QPushButton("Close")
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("Primary")
        self.send_button.setDefault(True)
        self.speed_up_button.clicked.connect(self.speed_up)
        self.cancel_tx_button.clicked.connect(self.cancel_transaction)
        self.retry_button.clicked.connect(self.prepare)
        self.close_button.clicked.connect(self.reject)
        self.send_button.clicked.connect(self.send)
        for button in (
            self.speed_up_button,
            self.cancel_tx_button,
            self.retry_button,
            self.close_button,
            self.send_button,
        ):
            button.setAccessibleName(button.text())
        for button in (self.speed_up_button, self.cancel_tx_button, self.retry_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.send_button)
        layout.addLayout(buttons)

    @classmethod
    def for_requests(
        cls,
        runner: TaskRunner,
        wallet: Wallet,
        manager: TransactionManager,
        sender: str,
        requests: Sequence[TxRequest],
        *,
        title: str = "Send a transaction",
        explorer: Callable[[str], str | None] | None = None,
        parent: QWidget | None = None,
        poll_ms: int = POLL_MS,
    ) -> TransactionDialog:
        flow = TxFlow(manager, sender, requests, explorer=explorer or (lambda _h: None))
        return cls(flow, runner, wallet, title=title, parent=parent, poll_ms=poll_ms)

    @classmethod
    def for_service(
        cls,
        runner: TaskRunner,
        wallet: Wallet,
        service: ChainService,
        requests: Sequence[TxRequest],
        *,
        title: str,
        parent: QWidget | None = None,
        poll_ms: int | None = None,
    ) -> TransactionDialog:
        """The dialog for a page's chain service (escrow, jobs): its transactions, account and explorer."""
        return cls.for_requests(
            runner,
            wallet,
            service.transactions,
            service.account,
            requests,
            title=title,
            explorer=service.explorer_url,
            parent=parent,
            poll_ms=poll_ms or POLL_MS,
        )

    # -- drawing -----------------------------------------------------------------------------------------
    @property
    def state(self) -> FlowState:
        return self.flow.state

    def redraw(self) -> None:
        state = self.state
        request = state.request
        self.step_label.setText(f"Transaction {state.step + 1} of {state.steps}" if state.steps > 1 else "")
        self.step_label.setVisible(state.steps > 1)
        self.description.setText(request.description if request else "")
        self.amount_label.setText(format_wei(request.value) if request else "")
        quote = state.quote
        if quote is not None:
            self.fee_label.setText(
                f"about {format_wei(quote.likely_fee)}, at most {format_wei(quote.max_fee)}"
            )
            self.gas_label.setText(f"{quote.gas_limit:,}")
        elif state.phase == "quoting":
            self.fee_label.setText("estimating…")
            self.gas_label.setText("…")
        elif state.record is not None:
            sent = state.record
            self.fee_label.setText(f"at most {format_wei(sent.gas_limit * sent.max_fee_per_gas)}")
            self.gas_label.setText(f"{sent.gas_limit:,}")
        self.status.setText(phase_text(state))
        record = state.record
        self.tx_hash.setText(f"Transaction {record.tx_hash}" if record else "")
        self.tx_hash.setVisible(record is not None)
        url = state.explorer_url
        self.link.setText(f'<a href="{html.escape(url)}">View it in the block explorer</a>' if url else "")
        self.link.setVisible(bool(url))
        if state.message and state.phase in ("pending", "mined", "done", "cancelled"):
            self.message.ok(state.message)
        elif state.message:
            self.message.error(state.message)
        else:
            self.message.clear_message()
        reviewing = state.phase == "review"
        locked = bool(self.wallet.is_locked)
        self.password_row.setVisible(locked and state.phase in ("review", "pending"))
        self.send_button.setVisible(state.phase in ("quoting", "review", "sending"))
        self.send_button.setEnabled(reviewing and not self._busy)
        self.send_button.setText("Send" if state.steps == 1 else f"Send transaction {state.step + 1}")
        self.speed_up_button.setVisible(state.can_replace)
        self.cancel_tx_button.setVisible(state.can_replace)
        self.speed_up_button.setEnabled(not self._busy)
        self.cancel_tx_button.setEnabled(not self._busy)
        self.retry_button.setVisible(state.phase == "failed" and state.record is None)
        self.close_button.setText(
            "Close" if state.is_final or state.phase in ("pending", "mined") else "Cancel"
        )
        self.close_button.setToolTip(
            "It keeps going without this window; the Escrow page shows its progress"
            if state.phase in ("pending", "mined")
            else ""
        )

    # -- actions -------------------------------------------------------------------------------------------
    def _run(self, work: Any, done: Callable[[Any], None], name: str) -> None:
        self._busy = True
        self.redraw()

        def finished(result: Any) -> None:
            self._busy = False
            done(result)
            self._after()

        def failed(message: str) -> None:
            self._busy = False
            self.redraw()
            self.message.error(message)

        self.runner.run(work, on_success=finished, on_error=failed, name=name)

    def _after(self) -> None:
        state = self.state
        self.redraw()
        if state.phase in ("pending", "mined"):
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()
        if state.phase == "quoting":
            self.prepare()  # the next step of the flow
        if state.is_final and not self._emitted:
            self._emitted = True
            self.flow_finished.emit(state)

    def prepare(self) -> None:
        if self.state.phase not in ("quoting", "failed") or self._busy:
            return
        self._run(self.flow.prepare(), lambda _s: None, "tx-quote")

    def _signer(self) -> Any:
        wallet, sender = self.wallet, self.flow.sender

        def sign(tx: dict[str, Any]) -> bytes:
            return bytes(wallet.local_account(sender).sign_transaction(tx).raw_transaction)

        return sign

    def _with_unlocked(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the wallet is unlocked, asking for the password here if it is locked."""
        if not self.wallet.is_locked:
            then()
            return
        password = self.password.text()
        if not password:
            self.password_row.show()
            self.message.error("Enter the wallet's password to sign.")
            self.password.setFocus()
            return
        self.password.clear()

        def unlocked(_r: Any) -> None:
            then()

        self._run(lambda: self.wallet.unlock(password), unlocked, "tx-unlock")

    def send(self) -> None:
        if self.state.phase != "review" or self._busy:
            return
        self._with_unlocked(lambda: self._run(self.flow.send(self._signer()), lambda _s: None, "tx-send"))

    def poll(self) -> None:
        if self._busy or self.state.phase not in ("pending", "mined"):
            return
        self._run(self.flow.poll(), lambda _s: None, "tx-poll")

    def speed_up(self) -> None:
        if self.state.can_replace and not self._busy:
            self._with_unlocked(
                lambda: self._run(self.flow.speed_up(self._signer()), lambda _s: None, "tx-speed-up")
            )

    def cancel_transaction(self) -> None:
        if self.state.can_replace and not self._busy:
            self._with_unlocked(
                lambda: self._run(self.flow.cancel(self._signer()), lambda _s: None, "tx-cancel")
            )

    def _stop(self) -> None:
        self.timer.stop()
        self.flow.abandon_remaining()
