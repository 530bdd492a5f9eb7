"""The session engine against a hostile provider (tests/sessions/hostile_provider.py): real engine, real
anvil, real store; the provider's quotes and receipts carry its real signature but say what the test wants.

Whatever it quotes or acknowledges, the app never signs more than the meter plus one tick of the catalog's
terms, every case ends with a clear message, and nothing waits for ever.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from paygo_desktop.metering.meter import NS_PER_SECOND
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sessions.plan import SessionError, StartOptions
from tests.sessions.conftest import World, run, until
from tests.sessions.hostile_provider import SERVICE_ID, Script, hostile_provider

USDC = 10**6
TICK_COST = 1000  # the catalog: 1,000 base units a second, a tick of 1 s, a grace of 5 s


def _signed(engine: Any, local_id: str) -> list[int]:
    return [cumulative for _, cumulative, _ in engine.history.vouchers(local_id)]


@pytest.mark.parametrize(
    "script, why",
    [
        (Script(quote_tick=3600), "tick of 3600 s where its catalog says 1 s"),
        (Script(quote_tick=0), "tick of 0 s"),
        (Script(quote_tick=-5), "tick of -5 s"),
        (Script(quote_grace=10**9), "grace of 1000000000 s where its catalog says 5 s"),
        (Script(quote_rate=2000), "quoted 0.002 USDC per second instead of the 0.001 USDC per second"),
    ],
)
def test_a_quote_that_differs_from_the_catalog_is_refused_after_one_catalog_tick(
    world: World, script: Script, why: str
) -> None:
    """Issue 18, items 1 and 3: a quoted hour-long tick had the app sign 50,000 units at once; a quoted
    tick of 0 left a handle that shutdown() waited on for ever."""
    with hostile_provider(world.env, script) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(hostile.url, SERVICE_ID)
            with pytest.raises(SessionError, match=why):
                await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await asyncio.wait_for(engine.shutdown(), 5)  # nothing left for it to wait on
            assert engine.live() == []
            [record] = engine.history.find()
            assert record.status == "failed" and "refused" in (record.stop_reason or "")
            assert _signed(engine, record.local_id) == [TICK_COST]  # the start's one catalog tick
            assert hostile.received == [TICK_COST] and hostile.stops == 1  # and the session is ended

        run(world.env, scenario)


def test_when_acknowledgements_stop_the_stop_signs_at_most_one_tick_past_the_last_one(world: World) -> None:
    """Issue 18, item 2: acknowledgements stopped at 1,000 units, and the stop signed 25,006 anyway."""
    script = Script(acks=["ack", "never"])
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(hostile.url, SERVICE_ID)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await world.advance(1)
            await until(lambda: live.acked == 2 * TICK_COST, what="the first voucher's ack")
            await world.advance(1)
            await until(lambda: live.signed == 3 * TICK_COST, what="the voucher never acknowledged")
            await world.advance(3)  # 5 s: before the deadline (2 s paid + 5 s grace), the user stops
            summary = await asyncio.wait_for(engine.stop(live.local_id), 15)
            assert summary.metered == 5 * TICK_COST and live.acked == 2 * TICK_COST
            assert max(_signed(engine, live.local_id)) <= live.acked + TICK_COST
            assert max(hostile.received) <= live.acked + TICK_COST
            assert summary.cost <= live.acked + TICK_COST
            assert "stopped acknowledging" in summary.message

        run(world.env, scenario)


def test_a_402_that_the_chain_contradicts_is_a_failure_not_a_normal_stop(world: World) -> None:
    with hostile_provider(world.env, Script(acks=["ack", "402"])) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(hostile.url, SERVICE_ID)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await world.advance(1)
            await until(lambda: live.acked == 2 * TICK_COST)
            await world.advance(1)
            summary = await asyncio.wait_for(engine.wait(live.local_id), 15)
            assert summary.status == "failed"
            assert "but the channel covers it on chain" in summary.message

        run(world.env, scenario)


@pytest.mark.parametrize(
    "receipt, problem", [("forged", "signature is not the provider's"), ("missing", "No receipt")]
)
def test_a_forged_or_missing_receipt_is_its_own_status(world: World, receipt: str, problem: str) -> None:
    script = Script(receipt=receipt)
    with hostile_provider(world.env, script, clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(hostile.url, SERVICE_ID)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await world.advance(2)
            await until(lambda: live.acked == 3 * TICK_COST)
            summary = await engine.stop(live.local_id)
            assert summary.status == "receipt_invalid" and not summary.receipt_ok
            assert problem in summary.message and summary.message.startswith(
                "Stopped without a valid receipt"
            )
            record = engine.history.get(live.local_id)
            assert record is not None and record.status == "receipt_invalid"

        run(world.env, scenario)


def test_an_honest_receipt_still_stops_cleanly(world: World) -> None:
    with hostile_provider(world.env, Script(), clock=lambda: world.clock.now / NS_PER_SECOND) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            plan = await engine.plan(hostile.url, SERVICE_ID)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await world.advance(2)
            await until(lambda: live.acked == 3 * TICK_COST)
            summary = await engine.stop(live.local_id)
            assert summary.status == "stopped" and summary.receipt_ok, summary.message
            assert isinstance(summary.receipt, m.Receipt) and summary.cost == 2 * TICK_COST

        run(world.env, scenario)


def test_a_provider_on_another_vault_is_named_by_its_vault(world: World) -> None:
    with hostile_provider(world.env, Script()) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            engine.chain.vault_address = "0x" + "be" * 20  # the app uses another vault on this chain
            with pytest.raises(SessionError) as refused:
                await engine.plan(hostile.url, SERVICE_ID)
            text = str(refused.value)
            assert f"through the vault {world.env.vault.address}" in text
            assert "0x" + "be" * 20 in text and "payments on chain" not in text

        run(world.env, scenario)


def test_quitting_while_a_start_hangs_ends_within_the_request_timeout(world: World) -> None:
    """The GUI's quit (and lock) take this path: shutdown() stops every live session, a starting one too."""
    with hostile_provider(world.env, Script(start_hangs=True)) as hostile:

        async def scenario() -> None:
            engine = world.engine(client_factory=lambda url: ProviderClient(url, timeout=1.0))
            plan = await engine.plan(hostile.url, SERVICE_ID)
            starting = asyncio.ensure_future(
                engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            )
            await until(lambda: bool(hostile.sessions), timeout=30, what="the start to reach the provider")
            await asyncio.wait_for(engine.shutdown(), 10)
            with pytest.raises(SessionError, match="did not answer the start"):
                await starting
            [record] = engine.history.find()
            assert record.status == "interrupted"  # settled with the provider at the next start

        run(world.env, scenario)


def test_quitting_while_the_stop_is_answered_a_byte_at_a_time_ends_within_the_request_timeout(
    world: World,
) -> None:
    """A provider that answers the stop one byte every 0.2 s, for ever, cannot hold quitting (the GUI's quit
    and lock take ``shutdown``) past the client's timeout. The stop may have settled there, so the session is
    left interrupted: recovery (the next start, or the next session on the channel) asks the provider what it
    holds, as it does for a session the app left running."""
    with hostile_provider(world.env, Script(receipt="dribble")) as hostile:

        async def scenario() -> None:
            engine = world.engine(client_factory=lambda url: ProviderClient(url, timeout=1.0))
            plan = await engine.plan(hostile.url, SERVICE_ID)
            live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            await until(lambda: live.acked > 0, timeout=30, what="the first acknowledgement")
            began = asyncio.get_running_loop().time()
            await asyncio.wait_for(engine.shutdown(), 10)  # before the bound: it waited for the provider
            assert asyncio.get_running_loop().time() - began < 5
            assert hostile.stops == 1
            [record] = engine.history.find()
            assert record.status == "interrupted", record.status
            assert [r.local_id for r in engine.history.unfinished()] == [live.local_id]  # looked at again
            assert max(_signed(engine, live.local_id)) <= live.acked + TICK_COST

        run(world.env, scenario)


def test_a_provider_that_misstates_its_tokens_decimals_gets_no_session(world: World) -> None:
    """Every amount of a session is read and typed in the provider's word on its token's decimals: the real
    test USDC said to have 9 made a budget typed as "1 USDC" 1,000 real USDC, and prices 1,000 times
    smaller than they are. The token's contract is asked instead; a provider that misstates it is refused
    before anything is signed or sent."""
    with hostile_provider(world.env, Script(asset_decimals=9)) as hostile:

        async def scenario() -> None:
            engine = world.engine()
            with pytest.raises(SessionError, match="has 9 decimals; the token's contract says 6") as refused:
                await engine.plan(hostile.url, SERVICE_ID)
            assert "no session is started" in str(refused.value)
            assert engine.history.find() == []

        run(world.env, scenario)

    with hostile_provider(world.env, Script()) as honest:  # the same token, described as it is

        async def scenario() -> None:
            plan = await world.engine().plan(honest.url, SERVICE_ID)
            assert plan.asset.decimals == 6 and plan.asset.symbol == "USDC"

        run(world.env, scenario)
