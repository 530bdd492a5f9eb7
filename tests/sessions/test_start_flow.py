"""The start flow as a state machine, without Qt: the navmap from the plan to a running session, the
deposit's review on the way, every way it stops short, and the start dialog's arithmetic (``StartChoice``):
defaults, proposals, hints and the problems that keep Start disabled."""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.metering.meter import Meter, Price
from paygo_desktop.money import ZEC, Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.plan import DepositOnItsWay, FundingOption, SessionPlan
from paygo_desktop.sessions.start_choice import StartChoice
from paygo_desktop.sessions.start_flow import FlowError, StartFlow, Step
from paygo_desktop.sessions.terms import Funding

USDC = Asset("USDC", 6, "0x" + "cc" * 20)
RATE, TICK = 1000, 5  # base units of USDC a second
PERMISSION = 36_000  # zatoshi left: one hour at 36,000 zat an hour


def plan(*options: FundingOption) -> SessionPlan:
    service = m.Service.model_construct(
        id="feed", name="Feed", category="data", type=m.ServiceType.data,
        rate=m.Rate(amount=RATE, asset="USDC", unit=m.RateUnit.per_second), tick_seconds=TICK,
        grace_seconds=5, is_active=True,
    )  # fmt: skip
    provider = m.ProviderInfo.model_construct(name="Test provider", pay_to="0x" + "77" * 20)
    return SessionPlan("http://p.test", provider, service, USDC, options)


def escrow(available: int) -> FundingOption:
    return FundingOption(Funding.ESCROW, "Escrow channel", available, needs_deposit=available < RATE * TICK)


def zcash(available: int = PERMISSION, allow_fallback: bool = False) -> FundingOption:
    return FundingOption(
        Funding.ZCASH, "Zcash permission zp_1", available, needs_deposit=False, permission_id="zp_1",
        asset=ZEC, price=Price(36_000, "per_hour"), allow_fallback=allow_fallback,
    )  # fmt: skip


def running(flow: StartFlow) -> LiveSession:
    terms = flow.plan.terms(account="0x" + "11" * 20, network="test", funding=Funding.ESCROW, cap=50_000)
    return LiveSession("s-1", terms, Meter(terms.price, terms.cap, TICK, clock=lambda: 0))


def test_a_first_session_goes_through_the_deposit_review_then_starts() -> None:
    flow = StartFlow("http://p.test", "feed")
    assert flow.step is Step.PLANNING and flow.message == "Asking the provider for its terms…"
    assert flow.planned(plan(escrow(0))) is Step.CHOOSING and flow.message == ""
    choice = flow.choice
    assert choice is not None
    view = choice.view()  # no channel yet: an hour's budget, and the deposit it needs, proposed
    assert view.budget_text == "3.6" and view.deposit_text == "3.6" and view.buys_seconds == 3600
    assert view.deposit_enabled and not view.fallback_visible and view.problem is None
    choice.set_budget("0.05")
    assert choice.view().buys_seconds == 50
    assert flow.chosen() is Step.DEPOSIT_REVIEW and flow.message == "Preparing the deposit…"
    assert flow.options.deposit == 3_600_000 and flow.options.budget == 50_000
    flow.deposit_prepared(["approve", "fund"])
    assert flow.step is Step.DEPOSIT_REVIEW
    assert flow.message == "Review the deposit: nothing is sent before you press Send."
    assert flow.deposited("done") is Step.STARTING and flow.message == "Starting the session…"
    assert flow.options.deposit == 0 and flow.options.budget == 50_000  # the deposit is made: not again
    assert flow.started(running(flow)) is Step.RUNNING
    assert flow.message == "Feed is running. Stop it at any time." and not flow.is_error
    with pytest.raises(FlowError):
        flow.failed("too late")


def test_enough_in_the_channel_starts_without_a_deposit() -> None:
    flow = StartFlow("http://p.test", "feed")
    flow.planned(plan(escrow(10**7)))
    assert flow.choice is not None and flow.choice.view().deposit_text == ""
    assert flow.chosen() is Step.STARTING and flow.message == "Starting the session…"
    assert flow.options.deposit == 0 and flow.options.budget == 3_600_000


@pytest.mark.parametrize(
    ("how", "step", "message", "error"),
    [
        (lambda f: f.deposited("failed", "reverted"), Step.FAILED,
         "Not started: the deposit did not go through. reverted", True),
        (lambda f: f.review_closed("pending"), Step.CANCELLED,
         "The deposit is on its way; the Escrow page follows it. Start the session again: it counts the "
         "deposit and waits for it, nothing is deposited twice.", False),
        (lambda f: f.review_closed("review"), Step.CANCELLED, "Not started: no deposit was sent.", False),
        (lambda f: f.failed("The node does not answer."), Step.FAILED, "The node does not answer.", True),
    ],
)  # fmt: skip
def test_a_deposit_that_does_not_go_through_starts_nothing(
    how: Any, step: Step, message: str, error: bool
) -> None:
    flow = StartFlow("http://p.test", "feed")
    flow.planned(plan(escrow(0)))
    flow.chosen()
    flow.deposit_prepared(["fund"])
    assert how(flow) is step and flow.message == message and flow.is_error is error
    assert flow.live is None
    with pytest.raises(FlowError):
        flow.started(running(flow))


def test_a_failed_plan_or_deposit_preparation_says_why_and_steps_keep_their_order() -> None:
    flow = StartFlow("http://p.test", "feed")
    with pytest.raises(FlowError):
        flow.chosen()
    assert flow.failed("“Feed” is not available at the moment.") is Step.FAILED and flow.is_error
    assert flow.message == "“Feed” is not available at the moment."
    preparing = StartFlow("http://p.test", "feed")
    preparing.planned(plan(escrow(0)))
    preparing.chosen()
    assert preparing.failed("A deposit must be above zero.") is Step.FAILED
    assert preparing.message == "Not started: A deposit must be above zero."
    cancelled = StartFlow("http://p.test", "feed")
    cancelled.planned(plan(escrow(0)))
    assert cancelled.cancelled() is Step.CANCELLED and cancelled.message == ""


def test_the_budget_and_deposit_problems_keep_start_disabled() -> None:
    choice = StartChoice(plan(escrow(10_000)))
    for budget, deposit, problem in (
        ("lots", "", "The budget is not an amount of USDC."),
        ("0.004", "", "That budget buys less than one 5-second step."),
        ("0", "", "Set a budget above zero."),
        ("0.05", "", "The budget is more than the channel will hold; add a larger deposit."),
        ("0.05", "x", "The deposit is not an amount of USDC."),
        ("0.05", "0.04", None),
    ):
        choice.set_budget(budget)
        choice.set_deposit(deposit)
        view = choice.view()
        assert view.problem == problem and view.show_problem is (problem is not None)
    assert choice.options().deposit == 40_000 and choice.options().budget == 50_000
    choice.set_budget("")
    choice.set_deposit("")
    assert choice.view().problem == "Set a budget above zero." and not choice.view().show_problem


def test_a_zcash_permission_and_the_escrow_channel_taking_over() -> None:
    choice = StartChoice(plan(escrow(0), zcash()))
    choice.select(1)
    view = choice.view()
    assert view.budget_label == "Budget (ZEC)" and view.budget_text == "0.00036"
    assert view.fallback_visible and not view.fallback_checked and not view.deposit_enabled
    choice.set_budget("0.00037")  # beyond what the permission has left
    assert choice.view().problem == (
        "The budget is more than the permission has left. Lower it, or let the escrow channel continue "
        "when the permission runs out."
    )
    choice.set_fallback(True)  # the 100 s beyond it from the channel, which holds nothing yet
    view = choice.view()
    assert view.deposit_enabled and view.deposit_text == "0.1" and view.problem is None
    assert view.fallback_hint == (
        "The permission pays the first 0.00036 ZEC; the rest of the budget, 0.1 USDC at 0.001 USDC per "
        "second, comes from the escrow channel."
    )
    choice.set_deposit("0.01")
    assert choice.view().problem == (
        "The part of the budget beyond the permission is more than the escrow channel will hold; add a "
        "larger deposit."
    )
    choice.set_deposit("0.1")
    options = choice.options()
    assert options.funding is Funding.ZCASH and options.allow_fallback and options.permission_id == "zp_1"
    assert options.budget == 37_000 and options.deposit == 100_000
    choice.select(0)  # back to escrow: the Zcash option's fallback and deposit do not follow
    assert not choice.view().fallback_visible and choice.options().funding is Funding.ESCROW
    standing = StartChoice(plan(escrow(0), zcash(allow_fallback=True)))
    standing.select(1)
    assert standing.view().fallback_checked  # the choice made on the Zcash page stands


def test_a_deposit_on_its_way_counts_toward_the_channel_and_only_the_rest_is_proposed() -> None:
    arriving = (DepositOnItsWay("0x" + "ab" * 32, 2_000),)  # less than one tick: a deposit is still needed
    option = FundingOption(Funding.ESCROW, "Escrow channel", 1_000, needs_deposit=True, on_its_way=arriving)
    assert option.arriving == 2_000 and option.in_sight == 3_000
    view = StartChoice(plan(option)).view()
    assert view.budget_text == "3.6" and view.deposit_text == "3.597"  # the hour, less what is coming
    assert view.deposit_hint == (
        "The channel holds 0.001 USDC now, and a deposit of 0.002 USDC sent earlier is already on its way "
        "into it (it is not made again): 3.6 USDC once it is in, with this deposit. Unused funds can be "
        "withdrawn at any time."
    )
    landed = FundingOption(  # an earlier run's deposit sent again and already in the channel's state
        Funding.ESCROW, "Escrow channel", 10**6, needs_deposit=False,
        on_its_way=(DepositOnItsWay("0x" + "cd" * 32, 10**6, landed=True, resent=True),),
    )  # fmt: skip
    assert landed.arriving == 0 and landed.in_sight == 10**6  # not counted twice
    assert StartChoice(plan(landed)).view().budget_text == "1"
