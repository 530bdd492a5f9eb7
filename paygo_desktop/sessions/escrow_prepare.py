"""Preparing an escrow session: everything before the session's row, down to the ``EscrowPayer`` that
pays it.

Rules:

* The start's base is the provider's cursor, its signature checked: never below what it confirmed. Above
  what a settled receipt left the channel at (our voucher one tick ahead, kept against its receipt), the
  difference is booked to the session that signed it and the user is told (``reneged``).
* The cap is the user's budget, or the channel's coverage when it holds less; the session stops there.
* A session left on the channel is settled with its provider first; one that cannot be starts nothing.
* A deposit already on its way into the channel is waited for, not made twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from paygo_desktop.metering.signing_limit import SigningLimit
from paygo_desktop.money import Amount
from paygo_desktop.sessions.channels import channel_base, provider_cursor
from paygo_desktop.sessions.deposits_on_way import lost_text
from paygo_desktop.sessions.escrow_chain import EscrowChain
from paygo_desktop.sessions.escrow_payer import EscrowPayer
from paygo_desktop.sessions.plan import SessionError, SessionPlan, StartOptions
from paygo_desktop.sessions.recovery import reconcile
from paygo_desktop.sessions.reneged import book_if_reneged
from paygo_desktop.sessions.reports import RecoveryOutcome
from paygo_desktop.sessions.runtime import Runtime
from paygo_desktop.sessions.start_checks import catalog_terms, check_not_busy, check_rate
from paygo_desktop.sessions.terms import Funding


def _fmt(plan: SessionPlan, units: int) -> str:
    return Amount(plan.asset, units).format()


async def prepare_escrow(
    rt: Runtime,
    chain: EscrowChain,
    plan: SessionPlan,
    options: StartOptions,
    signer: Callable[[], Awaitable[Any]],
    progress: Callable[[str], None],
) -> EscrowPayer:
    """Everything before the session's row: the terms' bounds, leftovers on the channel settled, the
    rate checked again, the deposits on their way waited for, the deposit, the channel's state and the
    provider's (proven) cursor, the cap."""
    assert plan.escrow is not None
    escrow, client = plan.escrow, rt.client(plan.provider_url)
    catalog = catalog_terms(plan)
    key = await signer()
    for leftover in await rt.db(rt.history.open_on_channel, escrow.channel_id):
        report = await reconcile(rt, leftover, key)
        if report.outcome is RecoveryOutcome.UNKNOWN:
            raise SessionError(
                "An earlier session on this channel is not settled yet and its provider cannot be "
                "reached; nothing new was started."
            )
    await check_rate(plan, client)
    vault = chain.vault()
    # a deposit already on its way into the channel is waited for, not made twice; one the plan
    # counted on that did not go through starts nothing (a new start proposes a new deposit)
    option = plan.option(Funding.ESCROW)
    counted = option.on_its_way if option is not None else ()
    lost = await chain.wait_for_deposits(escrow.channel, counted, progress, asset=plan.asset)
    if lost:
        deposit, record = lost[0]
        raise SessionError(lost_text(deposit, record, plan.asset, plan.provider.name))
    if options.deposit:
        await check_not_busy(plan, client)
        await chain.deposit(key, escrow.channel, plan.asset, options.deposit, progress, options.deposit_fees)
    state = await chain.read(lambda: vault.channel_state(escrow.channel))
    held = await provider_cursor(client, escrow.channel, escrow.domain, key)
    base = channel_base(held, state.claimed)
    confirmed = await rt.db(rt.history.channel_cursor, escrow.channel_id)
    if confirmed > base:
        raise SessionError(
            f"{plan.provider.name} reports less for your channel than it confirmed before "
            f"({_fmt(plan, base)} < {_fmt(plan, confirmed)}). "
            "Not starting, so that nothing is paid twice."
        )
    if held is not None:  # above a settled total: our voucher one tick ahead, kept against its receipt
        await book_if_reneged(rt, plan, escrow.channel_id, held)
    room, tick_cost = state.coverage - base, plan.tick_cost()
    if room < tick_cost:
        raise SessionError(
            f"The channel with {plan.provider.name} holds {_fmt(plan, max(0, room))} for new sessions; "
            f"one tick costs {_fmt(plan, tick_cost)}. Deposit at least "
            f"{_fmt(plan, tick_cost - max(0, room))} more."
        )
    if room < options.budget:
        cap, cap_reason = room, "The channel's funds ran out; stopped."
    else:
        cap = options.budget
        cap_reason = f"Reached this session's budget of {_fmt(plan, cap)}; stopped."
    terms = plan.terms(
        account=rt.account,
        network=rt.network_key,
        funding=Funding.ESCROW,
        cap=cap,
        chain_id=rt.chain_id,
        channel_base=base,
    )
    return EscrowPayer(
        rt,
        plan,
        terms,
        client=client,
        vault=vault,
        escrow=escrow,
        signer=key,
        limit=SigningLimit(catalog, cap, prepaid=max(0, state.claimed - base)),
        cap_reason=cap_reason,
        # the provider takes a first voucher strictly above what it holds and what was claimed (after
        # a claimed voucher ahead, the claim is above the base), and at most one tick above that
        first=min(cap, max(tick_cost, state.claimed - base + 1)),
    )
