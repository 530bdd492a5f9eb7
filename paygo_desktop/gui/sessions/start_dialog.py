"""The dialog before a session starts: the rate, how to pay, a budget cap, and what that cap buys.

It draws the core's ``StartChoice`` and forwards each edit to it; what it shows — defaults, proposals,
hints, why Start is disabled — is decided there. Pressing Start accepts the dialog; the start flow
(``sessions.start_flow``) takes it from there.
"""

from __future__ import annotations

from collections.abc import Callable
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
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.money import Amount
from paygo_desktop.sessions.plan import FundingOption, StartOptions
from paygo_desktop.sessions.start_choice import StartChoice


def _hint() -> QLabel:
    label = QLabel()
    label.setObjectName("Hint")
    label.setWordWrap(True)
    return label


class StartSessionDialog(QDialog):
    def __init__(self, choice: StartChoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = choice
        self.plan = choice.plan
        self.setWindowTitle(f"Start {self.plan.service.name}")
        self.setAccessibleName("Start a session")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self._build_header(layout)
        layout.addLayout(self._build_form())
        self.message = InlineMessage(self, "Start problem")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start session", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("Primary")
        self.start_button.setAccessibleName("Start session")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.redraw()
        self.budget.textChanged.connect(lambda text: self._edited(self.choice.set_budget, text))
        self.deposit.textChanged.connect(lambda text: self._edited(self.choice.set_deposit, text))
        self.funding_group.idToggled.connect(self._funding_toggled)
        self.fallback.toggled.connect(lambda checked: self._edited(self.choice.set_fallback, checked))

    def _build_header(self, layout: QVBoxLayout) -> None:
        plan = self.plan
        title = QLabel(f"{plan.service.name} — {plan.provider.name}")
        title.setObjectName("CardTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(title)
        per_hour = Amount(plan.asset, plan.price.per_hour()).format(max_decimals=6)
        rate = QLabel(
            f"{plan.rate_text()} ({per_hour} per hour). You sign a payment every {plan.tick_seconds} "
            "seconds, one step ahead; the provider can never take more than you signed."
        )
        rate.setWordWrap(True)
        rate.setTextFormat(Qt.TextFormat.PlainText)
        rate.setAccessibleName("Rate")
        layout.addWidget(rate)

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.funding_group = QButtonGroup(self)
        funding_box = QVBoxLayout()
        for index, option in enumerate(self.plan.options):
            button = QRadioButton(option.label)
            button.setAccessibleName(option.label)
            button.setChecked(index == self.choice.index)
            self.funding_group.addButton(button, index)
            funding_box.addWidget(button)
        form.addRow("Pay from", funding_box)
        symbol = self.plan.asset.symbol
        self.deposit = QLineEdit()
        self.deposit.setAccessibleName("Deposit to add")
        self.deposit.setPlaceholderText(f"0 {symbol}")
        self.deposit_hint = _hint()
        form.addRow(f"Deposit ({symbol})", self.deposit)
        form.addRow("", self.deposit_hint)
        self.budget = QLineEdit()
        self.budget.setAccessibleName("Budget for this session")
        self.budget_label = QLabel()
        form.addRow(self.budget_label, self.budget)
        self.buys = QLabel()
        self.buys.setAccessibleName("What the budget buys")
        form.addRow("", self.buys)
        self.fallback = QCheckBox("When the permission runs out, continue from the escrow channel")
        self.fallback.setAccessibleName("Fall back to the escrow channel")
        form.addRow("", self.fallback)
        self.fallback_hint = _hint()
        self.fallback_hint.setAccessibleName("What the escrow channel pays")
        form.addRow("", self.fallback_hint)
        return form

    # -- the user's edits, forwarded; then the choice is drawn again -----------------------------------
    def _edited(self, forward: Callable[[Any], None], value: object) -> None:
        forward(value)
        self.redraw()

    def _funding_toggled(self, index: int, checked: bool) -> None:
        if checked:
            self._edited(self.choice.select, index)

    def redraw(self) -> None:
        view = self.choice.view()
        for edit, text in ((self.budget, view.budget_text), (self.deposit, view.deposit_text)):
            if edit.text() != text:  # a proposal of the choice's, never the user's own typing
                edit.blockSignals(True)
                edit.setText(text)
                edit.blockSignals(False)
        self.budget_label.setText(view.budget_label)
        self.deposit.setEnabled(view.deposit_enabled)
        self.deposit_hint.setText(view.deposit_hint)
        self.fallback.setVisible(view.fallback_visible)
        self.fallback.blockSignals(True)
        self.fallback.setChecked(view.fallback_checked)
        self.fallback.blockSignals(False)
        self.fallback_hint.setVisible(view.fallback_hint is not None)
        self.fallback_hint.setText(view.fallback_hint or "")
        self.buys.setText(f"{duration_words(view.buys_seconds)} at this rate" if view.buys_seconds else "")
        self.start_button.setEnabled(view.problem is None)
        if view.show_problem and view.problem:
            self.message.error(view.problem)
        else:
            self.message.clear_message()

    # -- what the flow reads ---------------------------------------------------------------------------
    def selected_option(self) -> FundingOption | None:
        return self.choice.selected()

    def _accept(self) -> None:
        if self.start_button.isEnabled():
            self.accept()

    def options(self) -> StartOptions:
        return self.choice.options()
