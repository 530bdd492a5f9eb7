"""A provider that goes back on a settled receipt (tests/sessions/hostile_provider.py, on anvil): a session
settles at the meter with a final voucher below the voucher signed one tick ahead; the provider keeps the
earlier voucher (our own signature, claimable on chain) and later reports it as its cursor, or asks a Close
for it.

The books follow what the provider can claim (the difference booked to the session that signed the voucher,
its receipt marked broken, the user told, the provider's record noting it), once; and the app never signs a
Close above the channel's settled total.
"""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.errors import UserFacingError
from paygo_desktop.metering.meter import NS_PER_SECOND
from paygo_desktop.sessions.plan import StartOptions
from paygo_desktop.sessions.status import EventKind, SessionEvent, SessionStatus
from paygo_desktop.store.provider_notes import RENEGED, ProviderNotes
from tests.sessions.conftest import World, run, until
from tests.sessions.hostile_provider import SERVICE_ID, Script, hostile_provider

USDC = 10**6
RATE, TICK = 1000, 5  # base units a second; a tick of 5 s: 5,000 signed ahead


async def _settled_below_a_tick_ahead(world: World, engine: Any, url: str) -> Any:
    """Session 1: vouchers for 5,000 and 10,000 (one tick ahead), then stopped after 6 s: settled at its
    final voucher for 6,000, the receipt ok."""
    plan = await engine.plan(url, SERVICE_ID)
    one = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
    await world.advance(TICK)
    await until(lambda: one.acked == 2 * TICK * RATE)
    await world.advance(1)
    summary = await engine.stop(one.local_id)
    assert summary.receipt_ok and summary.cost == 6 * RATE
    return one


def _books(engine: Any) -> int:
    """What the app's books say the ended sessions on the channel cost, and what their spending records sum
    to (a running one's are its acknowledged vouchers, not yet a cost)."""
    records = [r for r in engine.history.find() if not r.is_open]
    costs = sum(r.cost for r in records)
    assert sum(engine.history.spent(r.local_id) for r in records) == costs
    return costs


def test_a_provider_that_reports_the_voucher_its_receipt_settled_below_is_booked_and_told(
    world: World,
) -> None:
    script = Script(rate=RATE, tick=TICK, grace=5, cursor="reneging")
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            events: list[SessionEvent] = []
            engine.subscribe(events.append)
            one = await _settled_below_a_tick_ahead(world, engine, hostile.url)
            assert _books(engine) == 6 * RATE and max(hostile.signatures) == 10 * RATE

            # the next start: the provider reports our voucher for 10,000 (signed one tick ahead) as its
            # cursor, going back on its receipt's 6,000; it can claim 10,000 on chain whatever we do
            plan = await engine.plan(hostile.url, SERVICE_ID)
            two = await engine.start(plan, StartOptions("escrow", budget=USDC))
            assert two.terms.channel_base == 10 * RATE
            assert _books(engine) == 10 * RATE == max(hostile.signatures) - TICK * RATE  # before its vouchers
            first = engine.history.get(one.local_id)
            assert first.cost == 10 * RATE and first.receipt_ok is False
            assert first.status is SessionStatus.RECEIPT_INVALID
            assert "went back on this receipt" in (first.stop_reason or "")
            [told] = [e for e in events if e.kind is EventKind.RECEIPT_BROKEN]
            assert told.local_id == one.local_id and told.changes.spending
            assert "went back on its signed receipt" in told.message
            assert "booked the 0.004 USDC to that session (now 0.01 USDC)" in told.message
            [note] = [n for n in ProviderNotes(world.store).all() if n.verdict == RENEGED]
            assert note.ref == one.local_id and (note.meter_amount, note.provider_amount) == (6_000, 10_000)
            # booked once: the voucher the provider holds is recorded again, as session 1's newest confirmed
            assert [(c, ok) for _, c, ok in engine.history.vouchers(one.local_id)] == [
                (5_000, True),
                (10_000, True),
                (6_000, True),
                (10_000, True),
            ]

            await world.advance(2)
            s2 = await engine.stop(two.local_id)
            assert s2.receipt_ok and s2.cost == 2 * RATE
            assert _books(engine) == 12 * RATE  # the provider's receipt: the channel's total is 12,000

            # it does it again: our voucher for 15,000 (session 2's, one tick ahead) as its cursor
            plan = await engine.plan(hostile.url, SERVICE_ID)
            three = await engine.start(plan, StartOptions("escrow", budget=USDC))
            assert three.terms.channel_base == 15 * RATE
            assert engine.history.get(two.local_id).cost == 5 * RATE
            assert _books(engine) == 15 * RATE
            await engine.stop(three.local_id)

        run(world.env, scenario)


def test_an_honest_cursor_at_the_settled_final_voucher_books_nothing_more(world: World) -> None:
    """The provider that reports what its receipt settled at (the usual case): nothing is rebooked."""
    script = Script(rate=RATE, tick=TICK, grace=5)
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            events: list[SessionEvent] = []
            engine.subscribe(events.append)
            one = await _settled_below_a_tick_ahead(world, engine, hostile.url)
            channel = one.terms.channel_id
            assert engine.history.rebook_superseded(channel, 6 * RATE, "x") is None  # the settled total
            assert engine.history.rebook_superseded(channel, 7 * RATE, "x") is None  # never signed here
            assert _books(engine) == 6 * RATE
            assert not [e for e in events if e.kind is EventKind.RECEIPT_BROKEN]

        run(world.env, scenario)


def test_a_settlement_gone_back_on_is_booked_once(world: World) -> None:
    """Asked twice (a start that fails after booking, before the new session's first voucher is confirmed,
    then a start again), the difference is booked once: the voucher the provider holds is the channel's
    newest confirmed one in the books after the first time."""
    script = Script(rate=RATE, tick=TICK, grace=5)
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            one = await _settled_below_a_tick_ahead(world, engine, hostile.url)
            channel = one.terms.channel_id
            rebooked = engine.history.rebook_superseded(channel, 10 * RATE, "It went back.")
            assert rebooked is not None and (rebooked.settled, rebooked.held, rebooked.extra) == (
                6_000,
                10_000,
                4_000,
            )
            assert rebooked.record.cost == 10 * RATE and rebooked.record.stop_reason.endswith("It went back.")
            assert (
                engine.history.channel_cursor(channel) == engine.history.channel_committed(channel) == 10_000
            )
            assert engine.history.rebook_superseded(channel, 10 * RATE, "It went back.") is None
            assert _books(engine) == 10 * RATE

        run(world.env, scenario)


def test_a_close_above_the_settled_total_is_refused_and_one_at_it_is_planned(world: World) -> None:
    """The provider's Close for the voucher its receipt settled below: the app would sign its own voucher
    for it. Refused (nothing signed or sent); a Close at the receipt's total is planned as usual."""
    script = Script(rate=RATE, tick=TICK, grace=5, close_at="highest")
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            one = await _settled_below_a_tick_ahead(world, engine, hostile.url)
            sent_before = engine.chain.transaction_manager().repository.recent(10)
            with pytest.raises(UserFacingError, match="more than the channel's settled total") as refused:
                await engine.close_request(one.local_id)
            assert "0.01 USDC" in str(refused.value) and "(0.006 USDC:" in str(refused.value)
            assert engine.chain.transaction_manager().repository.recent(10) == sent_before

            hostile.script.close_at = "held"
            request = await engine.close_request(one.local_id)
            assert request.kind == "escrow-close"
            assert "its total on the channel: 0.006 USDC" in request.description

        run(world.env, scenario)
