"""The Escrow page's small dialogs: send, receive, a new deposit, and an amount for a channel action.

The dialogs that lead to a transaction ask the core for a plan (``EscrowService.plan_*``) when the user
presses Review; a refusal (a typo in the address, not enough funds, more than the channel holds) is shown
in the dialog, which stays open. A plan that passes is emitted with ``planned`` and goes to the
transaction dialog (``gui/widgets/transaction_flow.py``), which shows the fee and sends it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.qr_view import QrView
from paygo_desktop.money import Amount, Asset

if TYPE_CHECKING:
    from paygo_desktop.chain.transactions import TxRequest

Plan = list[Any]  # TxRequests, in the order they are to be sent


class PlanningDialog(QDialog):
    """A form whose Review button asks the core for a plan and emits it, or shows why it cannot be."""

    planned = Signal(object)

    def __init__(self, title: str, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(460)
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.message = InlineMessage(self, f"{title}: message")
        self.layout_.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.review_button = QPushButton("Review")
        self.review_button.setObjectName("Primary")
        self.review_button.setDefault(True)
        self.review_button.setToolTip("See the network fee before anything is sent")
        self.review_button.clicked.connect(self.review)
        self.cancel_button.setAccessibleName("Cancel")
        self.review_button.setAccessibleName("Review")
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.review_button)
        self.layout_.addLayout(buttons)

    def collect(self) -> Plan | Awaitable[Plan]:
        """The plan for what the form says; raise a UserFacingError for input that cannot be used."""
        raise NotImplementedError

    def review(self) -> None:
        if not self.review_button.isEnabled():
            return
        self.message.clear_message()
        try:
            work = self.collect()
        except UserFacingError as exc:
            self.message.error(str(exc))
            return
        if not inspect.isawaitable(work):
            self._done(work)
            return
        self.review_button.setEnabled(False)
        self.review_button.setText("Checking…")

        def failed(message: str) -> None:
            self.review_button.setEnabled(True)
            self.review_button.setText("Review")
            self.message.error(message)

        self.runner.run(work, on_success=self._done, on_error=failed, name="escrow-plan")

    def _done(self, plan: list[TxRequest]) -> None:
        self.review_button.setEnabled(True)
        self.review_button.setText("Review")
        self.planned.emit(plan)
        self.accept()


def _amount_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setAccessibleName(name)
    field.setPlaceholderText("0.00")
    return field


class SendDialog(PlanningDialog):
    def __init__(
        self,
        runner: TaskRunner,
        balances: Sequence[Amount],
        plan_send: Callable[[Amount, str], Awaitable[Plan]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Send", runner, parent)
        self._plan_send = plan_send
        self.asset = QComboBox()
        self.asset.setAccessibleName("Asset to send")
        self.assets = [balance.asset for balance in balances]  # by index: no Python objects in QVariants
        for balance in balances:
            self.asset.addItem(f"{balance.asset.symbol} (you hold {balance.format()})")
        self.amount = _amount_field("Amount to send")
        self.recipient = QLineEdit()
        self.recipient.setAccessibleName("Recipient address")
        self.recipient.setPlaceholderText("0x… (40 hexadecimal characters)")
        self.form.addRow("Asset", self.asset)
        self.form.addRow("Amount", self.amount)
        self.form.addRow("To", self.recipient)
        note = QLabel("Check the address: a transfer cannot be undone. ENS names are not supported.")
        note.setObjectName("Hint")
        note.setWordWrap(True)
        self.form.addRow(note)

    def collect(self) -> Awaitable[Plan]:
        from paygo_desktop.escrow.requests import parse_recipient

        asset = self.assets[self.asset.currentIndex()]
        amount = Amount.parse(self.amount.text(), asset)
        to = parse_recipient(self.recipient.text())  # a typo is shown at once, before any network call
        return self._plan_send(amount, to)


class AmountDialog(PlanningDialog):
    """One amount of a channel's asset: a top-up, or a withdrawal request."""

    def __init__(
        self,
        title: str,
        runner: TaskRunner,
        asset: Asset,
        explanation: str,
        plan: Callable[[Amount], Plan | Awaitable[Plan]],
        *,
        maximum: Amount | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, runner, parent)
        self.asset = asset
        self._plan = plan
        text = QLabel(explanation)
        text.setWordWrap(True)
        self.layout_.insertWidget(0, text)
        row = QHBoxLayout()
        self.amount = _amount_field(f"Amount in {asset.symbol}")
        row.addWidget(self.amount, 1)
        symbol = QLabel(asset.symbol)
        symbol.setTextFormat(Qt.TextFormat.PlainText)  # a token's own word for itself
        row.addWidget(symbol)
        if maximum is not None:
            self.max_button = QPushButton(f"All ({maximum.format()})")
            self.max_button.setAccessibleName("Use the whole amount")
            self.maximum = maximum
            self.max_button.clicked.connect(self._use_maximum)
            row.addWidget(self.max_button)
        self.form.addRow("Amount", row)

    def _use_maximum(self, _checked: bool = False) -> None:
        self.amount.setText(self.maximum.format(symbol=False, grouping=False))

    def collect(self) -> Plan | Awaitable[Plan]:
        return self._plan(Amount.parse(self.amount.text(), self.asset))


class NewDepositDialog(PlanningDialog):
    """A first deposit with a provider: which provider, which asset, how much."""

    def __init__(
        self,
        runner: TaskRunner,
        assets: Sequence[Asset],
        plan_deposit: Callable[[str, str, Amount], Awaitable[Plan]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("New escrow deposit", runner, parent)
        self._plan_deposit = plan_deposit
        text = QLabel(
            "Escrow holds money for one provider in the PayGo vault. Sessions with that provider are "
            "paid from it, second by second; what they do not use you can withdraw."
        )
        text.setWordWrap(True)
        self.layout_.insertWidget(0, text)
        self.provider = QComboBox()
        self.provider.setEditable(True)
        self.provider.setAccessibleName("Provider address")
        self.provider.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = self.provider.lineEdit()
        if line is not None:
            line.setPlaceholderText("Choose a provider or paste its payment address (0x…)")
        self.asset = QComboBox()
        self.asset.setAccessibleName("Asset to deposit")
        self.assets = list(assets)
        for asset in assets:
            self.asset.addItem(asset.symbol)
        self.amount = _amount_field("Amount to deposit")
        self.form.addRow("Provider", self.provider)
        self.form.addRow("Asset", self.asset)
        self.form.addRow("Amount", self.amount)

    def add_provider(self, name: str, address: str) -> None:
        """A provider the app knows of (from its catalog URLs), offered in the list."""
        if self.provider.findData(address) < 0:
            self.provider.addItem(f"{name} — {address}", address)
            if self.provider.count() == 1:
                self.provider.setCurrentIndex(0)

    def provider_address(self) -> tuple[str, str]:
        """(address text, provider name or "")."""
        text = self.provider.currentText().strip()
        index = self.provider.currentIndex()
        if index >= 0 and self.provider.itemText(index) == text:
            name = text.split(" — ", 1)[0]
            return str(self.provider.itemData(index)), name
        return text, ""

    def collect(self) -> Awaitable[Plan]:
        asset = self.assets[self.asset.currentIndex()]
        amount = Amount.parse(self.amount.text(), asset)
        address, name = self.provider_address()
        return self._plan_deposit(address, name, amount)


class ReceiveDialog(QDialog):
    """The account's address as text and as a QR code, with a copy button."""

    def __init__(self, address: str, network_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.address = address
        self.setWindowTitle("Receive")
        self.setAccessibleName("Receive")
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"To receive ETH or tokens on {network_name}, give the sender this address. Funds sent on "
            "another network do not arrive here."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.qr = QrView(f"QR code of {address}")
        self.qr.set_data(address)
        layout.addWidget(self.qr)
        self.address_label = QLabel(address)
        self.address_label.setAccessibleName("Your address")
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.address_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.address_label.setStyleSheet("font-family: monospace;")
        layout.addWidget(self.address_label)
        row = QHBoxLayout()
        row.addStretch(1)
        self.copied = InlineMessage(self, "Copy confirmation")
        row.addWidget(self.copied)
        self.copy_button = QPushButton("Copy address")
        self.copy_button.clicked.connect(self.copy)
        close = QPushButton("Close")
        close.setAccessibleName("Close")
        self.copy_button.setAccessibleName("Copy address")
        close.clicked.connect(self.accept)
        row.addWidget(self.copy_button)
        row.addWidget(close)
        layout.addLayout(row)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.address)
        self.copied.ok("Copied.")
