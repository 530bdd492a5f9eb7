"""The start dialog when a deposit into the channel is already on its way (an earlier start's, stored
and sent again, or still pending): it says so beside the channel and the deposit, counts it, and proposes
only what the budget needs beyond it."""

from __future__ import annotations

from typing import Any

from paygo_desktop.gui.sessions.start_dialog import StartSessionDialog
from paygo_desktop.sessions.plan import DepositOnItsWay, FundingOption
from paygo_desktop.sessions.start_choice import StartChoice
from paygo_desktop.sessions.terms import Funding
from tests.sessions.test_start_flow import plan

USDC = 10**6
LABEL = "Escrow channel with Test provider: not funded yet, a deposit of 1 USDC on its way"


def on_its_way(amount: int) -> FundingOption:
    deposit = DepositOnItsWay("0x" + "ab" * 32, amount)
    return FundingOption(Funding.ESCROW, LABEL, 0, needs_deposit=False, on_its_way=(deposit,))


def test_a_deposit_on_its_way_is_shown_counted_and_not_proposed_again(qtbot: Any) -> None:
    dialog = StartSessionDialog(StartChoice(plan(on_its_way(USDC))))
    qtbot.addWidget(dialog)
    dialog.show()
    [button] = dialog.funding_group.buttons()
    assert button.text() == LABEL
    assert dialog.budget.text() == "1" and dialog.deposit.text() == ""  # what the channel will hold
    assert dialog.deposit_hint.text() == (
        "The channel holds 0 USDC now, and a deposit of 1 USDC sent earlier is already on its way into it "
        "(it is not made again): 1 USDC once it is in. Unused funds can be withdrawn at any time."
    )
    assert dialog.start_button.isEnabled()
    dialog.budget.setText("1.5")  # beyond it: a deposit for the rest only
    assert not dialog.start_button.isEnabled()
    assert dialog.message.text() == "The budget is more than the channel will hold; add a larger deposit."
    dialog.deposit.setText("0.5")
    assert dialog.start_button.isEnabled()
    assert dialog.deposit_hint.text().endswith("1.5 USDC once it is in, with this deposit. Unused funds can "
                                               "be withdrawn at any time.")  # fmt: skip
    options = dialog.options()
    assert options.deposit == USDC // 2 and options.budget == 3 * USDC // 2
