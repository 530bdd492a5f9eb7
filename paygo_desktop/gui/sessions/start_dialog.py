"""The dialog before a session starts: the rate, how to pay, a budget cap, and what that cap buys.

It only gathers the user's choice (``StartOptions``); the session engine does the work. Amounts are typed
in whole units of the asset ("2.5") and kept as integer base units: the budget in the asset of the chosen way
to pay (ZEC for a Zcash permission), the deposit always in the escrow channel's asset.

Paying from a Zcash permission, the user may let the escrow channel take over when the permission runs out:
the budget may then go beyond what the permission has left, the time beyond it is paid from the channel at
the service's own rate, and a deposit for that part can be made before the session starts.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.format import duration_words
from paygo_desktop.gui.sessions.meter_view import rate_text
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.money import Amount, AmountError
from paygo_desktop.sessions.holdings import holding_problem
from paygo_desktop.sessions.plan import SessionPlan, StartOptions

DEFAULT_BUDGET_SECONDS = 3600  # the budget offered at first: one hour at this rate


class StartSessionDialog(QDialog):
    def __init__(self, plan: SessionPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle(f"Start {plan.service.name}")
        self.setAccessibleName("Start a session")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)

        title = QLabel(f"{plan.service.name} — {plan.provider.name}")
        title.setObjectName("CardTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(title)
        per_hour = Amount(plan.asset, plan.price.per_hour()).format(max_decimals=6)
        rate = QLabel(
            f"{rate_text(plan.asset, plan.price)} ({per_hour} per hour). You sign a payment every "
            f"{plan.tick_seconds} seconds, one step ahead; the provider can never take more than you signed."
        )
        rate.setWordWrap(True)
        rate.setTextFormat(Qt.TextFormat.PlainText)
        rate.setAccessibleName("Rate")
        layout.addWidget(rate)

        form = QFormLayout()
        self.funding_group = QButtonGroup(self)
        funding_box = QVBoxLayout()
        for index, option in enumerate(plan.options):
            button = QRadioButton(option.label)
            button.setAccessibleName(option.label)
            self.funding_group.addButton(button, index)
            funding_box.addWidget(button)
        if plan.options:
            self.funding_group.button(0).setChecked(True)
        form.addRow("Pay from", funding_box)

        self.deposit = QLineEdit()
        self.deposit.setAccessibleName("Deposit to add")
        self.deposit.setPlaceholderText(f"0 {plan.asset.symbol}")
        self.deposit_hint = QLabel()
        self.deposit_hint.setObjectName("Hint")
        self.deposit_hint.setWordWrap(True)
        form.addRow(f"Deposit ({plan.asset.symbol})", self.deposit)
        form.addRow("", self.deposit_hint)

        self.budget = QLineEdit()
        self.budget.setAccessibleName("Budget for this session")
        self.budget_label = QLabel(f"Budget ({plan.asset.symbol})")
        form.addRow(self.budget_label, self.budget)
        self.buys = QLabel()
        self.buys.setAccessibleName("What the budget buys")
        form.addRow("", self.buys)
        self.fallback = QCheckBox("When the permission runs out, continue from the escrow channel")
        self.fallback.setAccessibleName("Fall back to the escrow channel")
        form.addRow("", self.fallback)
        self.fallback_hint = QLabel()
        self.fallback_hint.setObjectName("Hint")
        self.fallback_hint.setWordWrap(True)
        self.fallback_hint.setAccessibleName("What the escrow channel pays")
        form.addRow("", self.fallback_hint)
        layout.addLayout(form)

        self.message = InlineMessage(self, "Start problem")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start session", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("Primary")
        self.start_button.setAccessibleName("Start session")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.budget.setText(self._text(self._default_budget()))
        self.budget.textChanged.connect(self._update)
        self.deposit.textChanged.connect(self._update)
        self.funding_group.idToggled.connect(self._funding_changed)
        self.fallback.toggled.connect(self._fallback_changed)
        self._funding_changed()

    # -- state ---------------------------------------------------------------------------------------
    def asset(self) -> Any:
        """The asset of the chosen way to pay: a Zcash permission bills in ZEC at its own rate."""
        option = self.selected_option()
        return (option.asset if option is not None and option.asset is not None else None) or self.plan.asset

    def price(self) -> Any:
        option = self.selected_option()
        return (option.price if option is not None and option.price is not None else None) or self.plan.price

    def _text(self, units: int) -> str:
        return Amount(self.asset(), units).format(symbol=False, grouping=False)

    def _default_budget(self) -> int:
        budget = self.price().cost_seconds(DEFAULT_BUDGET_SECONDS)
        option = self.selected_option()
        if option is not None and option.available and not option.needs_deposit:
            budget = min(budget, option.available)
        return max(budget, 1)

    def selected_option(self) -> Any:
        index = self.funding_group.checkedId()
        return self.plan.options[index] if 0 <= index < len(self.plan.options) else None

    def escrow_option(self) -> Any:
        return self.plan.option("escrow")

    def falls_back(self) -> bool:
        """A Zcash permission pays, and the escrow channel takes over when it runs out."""
        option = self.selected_option()
        return (
            option is not None
            and option.kind == "zcash"
            and self.fallback.isChecked()
            and (self.escrow_option() is not None)
        )

    def _funding_changed(self, *_args: object) -> None:
        option = self.selected_option()
        escrow = option is not None and option.kind == "escrow"
        self.budget_label.setText(f"Budget ({self.asset().symbol})")
        self.budget.blockSignals(True)
        self.budget.setText(self._text(self._default_budget()))
        self.budget.blockSignals(False)
        zcash = option is not None and option.kind == "zcash"
        self.fallback.setVisible(zcash and self.escrow_option() is not None)
        self.fallback.blockSignals(True)
        self.fallback.setChecked(zcash and bool(option.allow_fallback))
        self.fallback.blockSignals(False)
        self.deposit.setEnabled(escrow or self.falls_back())
        if zcash:
            self.deposit.blockSignals(True)
            self.deposit.clear()  # a deposit proposed for the escrow option is not this one's
            self.deposit.blockSignals(False)
            self._propose_fallback_deposit()
        if escrow and option.needs_deposit and not self.deposit.text().strip():
            budget = self._amount(self.budget.text())
            shortfall = (budget or self._default_budget()) - (option.available or 0)
            if shortfall > 0:
                self.deposit.setText(self._deposit_text(shortfall))
        self._update()

    def _fallback_changed(self, *_args: object) -> None:
        self.deposit.setEnabled(self.falls_back())
        self._propose_fallback_deposit()
        self._update()

    def _propose_fallback_deposit(self) -> None:
        """With the fallback and no deposit typed: propose what the channel lacks for the part beyond the
        permission."""
        escrow = self.escrow_option()
        if not self.falls_back() or escrow is None or self.deposit.text().strip():
            return
        shortfall = self.escrow_part(self._amount(self.budget.text()) or 0) - (escrow.available or 0)
        if shortfall > 0:
            self.deposit.setText(self._deposit_text(shortfall))

    def _deposit_text(self, units: int) -> str:
        return Amount(self.plan.asset, units).format(symbol=False, grouping=False)

    def _amount(self, text: str) -> int | None:
        try:
            return Amount.parse(text, self.asset()).units if text.strip() else 0
        except AmountError:
            return None

    def _deposit_amount(self) -> int | None:
        """The deposit, in the escrow channel's asset (0 when the deposit box does not apply)."""
        if not self.deposit.isEnabled():
            return 0
        text = self.deposit.text()
        try:
            return Amount.parse(text, self.plan.asset).units if text.strip() else 0
        except AmountError:
            return None

    def escrow_part(self, budget: int) -> int:
        """With the fallback: what the escrow channel pays for the time the budget buys beyond what the
        permission has left, at the service's own rate (0 when the permission covers it all)."""
        option = self.selected_option()
        if option is None or option.available is None:
            return 0
        beyond = self.price().seconds_for(max(0, budget - option.available))
        return self.plan.price.cost_seconds(beyond)

    def _update(self) -> None:
        option = self.selected_option()
        budget = self._amount(self.budget.text())
        deposit = self._deposit_amount()
        problem = self.problem(option, budget, deposit)
        if budget:
            self.buys.setText(f"{duration_words(self.price().seconds_for(budget))} at this rate")
        else:
            self.buys.setText("")
        if (option is not None and option.kind == "escrow") or self.falls_back():
            escrow = self.escrow_option()
            available = (escrow.available or 0) if escrow is not None else 0
            after = available + (deposit or 0)
            symbol = self.plan.asset.symbol
            self.deposit_hint.setText(
                f"The channel holds {self._deposit_text(available)} {symbol} now; "
                f"{self._deposit_text(after)} {symbol} after the deposit. Unused funds can be "
                "withdrawn at any time."
            )
        else:
            self.deposit_hint.setText("")
        self.fallback_hint.setVisible(self.falls_back())
        if self.falls_back() and option is not None:
            part = self.escrow_part(budget or 0)
            left = Amount(self.asset(), option.available or 0).format()
            if part:
                self.fallback_hint.setText(
                    f"The permission pays the first {left}; the rest of the budget, "
                    f"{Amount(self.plan.asset, part).format()} at "
                    f"{rate_text(self.plan.asset, self.plan.price)}, comes from the escrow channel."
                )
            else:
                self.fallback_hint.setText(
                    f"The permission has {left} left, enough for this budget. Raise the budget to keep "
                    "going on the escrow channel when it runs out."
                )
        self.start_button.setEnabled(problem is None)
        if problem and (self.budget.text().strip() or self.deposit.text().strip()):
            self.message.error(problem)
        else:
            self.message.clear_message()

    def problem(self, option: Any, budget: int | None, deposit: int | None) -> str | None:
        symbol = self.asset().symbol
        if option is None:
            return "This provider offers no way to pay that this wallet can use."
        if budget is None:
            return f"The budget is not an amount of {symbol}."
        if deposit is None:
            return f"The deposit is not an amount of {symbol}."
        if budget <= 0:
            return "Set a budget above zero."
        if self.price().seconds_for(budget) < self.plan.tick_seconds:
            return f"That budget buys less than one {self.plan.tick_seconds}-second step."
        holding = holding_problem(self.plan.asset, self.escrow_option(), deposit, self.plan.provider.name)
        if holding is not None and (option.kind == "escrow" or self.falls_back()):
            return holding
        if self.falls_back():
            escrow = self.escrow_option()
            room = (escrow.available or 0) + deposit if escrow is not None else 0
            if self.escrow_part(budget) > room:
                return (
                    "The part of the budget beyond the permission is more than the escrow channel will "
                    "hold; add a larger deposit."
                )
            return None
        if option.available is not None and budget > option.available + deposit:
            if option.kind == "escrow":
                return "The budget is more than the channel will hold; add a larger deposit."
            return (
                "The budget is more than the permission has left. Lower it, or let the escrow channel "
                "continue when the permission runs out."
                if self.escrow_option() is not None
                else "The budget is more than the permission has left."
            )
        return None

    def _accept(self) -> None:
        if self.start_button.isEnabled():
            self.accept()

    def options(self) -> StartOptions:
        option = self.selected_option()
        assert option is not None
        budget = self._amount(self.budget.text()) or 0
        deposit = self._deposit_amount() or 0
        return StartOptions(
            funding=option.kind,
            budget=budget,
            deposit=deposit,
            permission_id=option.permission_id,
            allow_fallback=self.falls_back(),
        )
