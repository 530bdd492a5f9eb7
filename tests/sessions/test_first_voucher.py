"""The engine's first voucher against the provider's start rule: strictly above what the provider holds and
what was claimed, at most one tick above (issue 24, item 4), on the real provider and anvil."""

from __future__ import annotations

from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.plan import StartOptions
from tests.sessions.conftest import World, run, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK = 1000, 5
TICK_COST = RATE * TICK
USDC = 10**6


def test_after_a_whole_tick_claimed_ahead_the_next_session_starts_above_the_claim(world: World) -> None:
    """Stopped right at a tick boundary after the provider claimed the voucher ahead: the cursor plus one
    tick is exactly what was claimed, so the first voucher of the next session goes one unit beyond it."""
    env = world.env

    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        first = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: first.acked == 2 * TICK_COST, what="the voucher ahead")
        async with world.client() as client:
            await client.claim_now(world.provider.key)  # 10,000 claimed while 5 s are used
        one = await engine.stop(first.local_id)
        assert one.cost == TICK_COST and one.receipt_ok

        second = await engine.start(plan, StartOptions("escrow", budget=USDC))
        assert second.status == "running"
        assert second.signed == TICK_COST + 1  # the claimed tick is credited; one unit beyond the claim
        await world.advance(TICK)
        await until(lambda: second.acked == 2 * TICK_COST, what="the second session's next voucher")
        await world.advance(2)
        two = await engine.stop(second.local_id)
        assert isinstance(two.receipt, m.Receipt) and two.receipt_ok
        assert two.cost == two.metered == 7 * RATE
        async with world.client() as client:
            await client.claim_now(world.provider.key)
        channel = await env.vault.channel_state(bytes.fromhex((second.terms.channel_id or "")[2:]))
        assert channel.claimed == one.cost + two.cost  # 5 s + 7 s, to the base unit

    run(env, scenario)
