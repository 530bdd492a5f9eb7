"""Escrow sessions end to end, on injected clocks moved together: the engine against the reference provider
and anvil. Amounts are checked to the base unit against the meter, the vouchers and the signed receipt."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, verify_receipt
from paygo_desktop.sessions.escrow_payer import EscrowPayer
from paygo_desktop.sessions.history import HistoryFilter
from paygo_desktop.sessions.plan import SessionError, StartOptions
from paygo_desktop.sessions.status import SessionEvent
from tests.sessions.conftest import World, run, run_provider, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK, GRACE = 1000, 5, 5
TICK_COST = RATE * TICK
USDC = 10**6


def test_start_vouchers_stop_receipt_and_the_providers_claim_on_chain(world: World) -> None:
    env = world.env
    events: list[SessionEvent] = []

    async def scenario() -> None:
        engine = world.engine()
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        escrow = plan.option("escrow")
        assert escrow is not None and escrow.needs_deposit and escrow.available == 0
        assert plan.seconds_for(USDC) == 1000 and plan.tick_cost() == TICK_COST
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=2 * USDC))
        assert live.status == "running" and live.signed == live.acked == TICK_COST
        assert live.access is not None and live.remote_id is not None
        for k in range(2, 5):  # each tick boundary: a voucher paying through the end of the next tick
            await world.advance(TICK)
            await until(lambda k=k: live.acked == k * TICK_COST, what=f"voucher {k}")
            assert live.signed == live.acked == k * TICK_COST
        await world.advance(2)  # 17 s in
        assert live.meter.cost() == 17 * RATE
        summary = await engine.stop(live.local_id)
        receipt = summary.receipt
        assert isinstance(receipt, m.Receipt) and summary.receipt_ok
        assert verify_receipt(receipt, plan.provider)
        # the vouchers paid one tick ahead; the final voucher sent with stop settles at exactly the meter:
        # the number shown, the vouchers and the receipt agree to the base unit
        assert receipt.amount == receipt.final_cumulative == summary.cost == 17 * RATE
        assert summary.metered == live.meter.cost() == 17 * RATE and summary.paid_ahead == 0
        assert live.signed == 4 * TICK_COST  # the highest voucher signed, now superseded by the receipt
        assert receipt.seconds == summary.seconds == 17
        assert "matches the meter to the base unit" in summary.message
        assert live.status == "stopped" and engine.live() == []

        record = engine.history.get(live.local_id)
        assert record is not None and record.status == "stopped" and record.receipt_ok is True
        assert record.cost == 17 * RATE and record.seconds == 17 and record.signed == 4 * TICK_COST
        assert engine.history.spent(live.local_id) == record.cost
        vouchers = engine.history.vouchers(live.local_id)
        assert [v[1] for v in vouchers] == [TICK_COST * k for k in range(1, 5)] + [17 * RATE]
        assert all(v[2] for v in vouchers)
        assert engine.history.channel_cursor(live.terms.channel_id or "") == 17 * RATE
        assert engine.history.channel_committed(live.terms.channel_id or "") == 17 * RATE  # the Escrow page's

        async with ProviderClient(world.provider.url) as client:
            channel = await client.get_channel(live.terms.channel_id or "")
            assert channel.last_voucher is not None and channel.last_voucher.cumulative_amount == 17 * RATE
            claim = await client.claim_now(world.provider.key)
            assert claim.tx_hash is not None
        channel_state = await env.vault.channel_state(bytes.fromhex(live.terms.channel_id[2:]))
        assert channel_state.claimed == 17 * RATE  # what the meter showed, not the voucher one tick ahead
        assert await engine.refresh_claimed(live.local_id) == 17 * RATE == live.claimed

    run(env, scenario)
    kinds = [e.kind for e in events if e.kind != "transaction"]  # the deposit's steps come first
    assert kinds[0] == "started" and kinds.count("voucher") == 3 and kinds.count("acked") == 3
    assert "stopped" in kinds and kinds[-1] == "claimed" and "low_funds" not in kinds


def test_a_late_loop_is_caught_up_by_a_final_voucher_for_exactly_the_metered_cost(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        world.advance_now(7.5)  # the loop has no chance to run before the stop (and it is within the grace)
        summary = await engine.stop(live.local_id)
        receipt = summary.receipt
        assert isinstance(receipt, m.Receipt) and summary.receipt_ok, summary.message
        exact = 7_500  # 1000 × 7.5
        assert live.meter.cost() == summary.metered == summary.cost == exact
        assert receipt.amount == receipt.final_cumulative == live.signed == exact
        assert receipt.seconds == summary.seconds == 7
        assert [v[1] for v in engine.history.vouchers(live.local_id)] == [TICK_COST, exact]

    run(world.env, scenario)


def test_a_provider_that_counts_more_than_the_meter_bills_the_voucher_held_and_the_summary_says_so(
    world: World,
) -> None:
    """The provider refuses a final voucher that pays for fewer seconds than it counted (beyond its
    tolerance); the app stops without it, is billed the voucher one tick ahead (never more than was
    signed), and tells the user, whose receipt check flags the provider's count."""

    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK_COST, what="voucher 2")
        world.advance_now(0.5)  # the meter: 5.5 s
        world.provider.clock.advance(4)  # the provider: 9.5 s, paid through 10 s
        summary = await engine.stop(live.local_id)
        receipt = summary.receipt
        assert isinstance(receipt, m.Receipt) and not summary.receipt_ok
        assert "it counts 9 s where the meter counted 5 s" in summary.message
        assert summary.metered == 5_500 and summary.cost == receipt.amount == 2 * TICK_COST
        assert summary.paid_ahead == 2 * TICK_COST - 5_500
        assert "did not settle at the meter" in summary.message and "paid ahead" in summary.message
        vouchers = engine.history.vouchers(live.local_id)
        assert vouchers[-1][1:] == (5_500, False)  # the refused final voucher stays unconfirmed
        assert engine.history.channel_cursor(live.terms.channel_id or "") == 2 * TICK_COST
        assert engine.history.channel_committed(live.terms.channel_id or "") == 2 * TICK_COST

    run(world.env, scenario)


def test_an_app_killed_after_sending_its_final_voucher_recovers_the_settled_receipt(world: World) -> None:
    """The stop with the final voucher reached the provider, but the app died before the answer: at the
    next start recovery finds the receipt settled at that voucher and books exactly the metered cost."""

    async def scenario() -> None:
        crashed = world.engine()
        plan = await crashed.plan(world.provider.url, SVC)
        live = await crashed.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK_COST, what="voucher 2")
        world.advance_now(1.25)  # 6.25 s: the meter says 6,250
        handle = crashed._runs[live.local_id]
        payer = handle.payer
        assert isinstance(payer, EscrowPayer)
        frozen: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        payer.finish = lambda _ending: frozen  # type: ignore[method-assign]  # the process dies in the stop
        assert handle.loop_task is not None
        handle.loop_task.cancel()
        await until(lambda: live.status == "stopping", what="the stop under way")
        await payer._stop_remote(6_250, settle=True)  # what finish() sends; its answer is lost

        engine = world.engine()  # the next start, on the same store
        [report] = await engine.recover()
        assert report.outcome == "settled" and report.cost == 6_250
        record = engine.history.get(live.local_id)
        assert record is not None and record.status == "recovered" and record.receipt_ok is True
        assert record.cost == 6_250 and engine.history.spent(live.local_id) == 6_250
        assert engine.history.channel_cursor(live.terms.channel_id or "") == 6_250
        # the next session starts from the settled total
        nxt = await engine.start(plan, StartOptions("escrow", budget=USDC))
        started = engine.history.get(nxt.local_id)
        assert started is not None and started.terms.channel_base == 6_250
        await engine.stop(nxt.local_id)
        assert handle.drive_task is not None
        handle.drive_task.cancel()  # the dead process's leftovers, for a clean loop and shutdown
        del crashed._runs[live.local_id]

    run(world.env, scenario)


def test_a_deposit_for_the_transaction_dialog_asks_for_an_allowance_only_when_it_is_short(
    world: World,
) -> None:
    """The start dialog's deposit is sent through the shared transaction dialog: approve (exactly the
    deposit) when the token's allowance is short, then fund the app's channel with that provider."""

    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        vault = engine.chain.vault()
        await world.env.vault.approve_token(world.env.payer, world.env.usdc, 0)
        steps = await engine.chain.deposit_requests(plan, 2 * USDC)
        assert [s.kind for s in steps] == ["approve", "escrow-fund"]
        assert steps[0].to == world.env.usdc and steps[0].description.startswith("Allow the PayGo vault")
        channel = await engine.chain.channel_for(plan.provider, plan.asset)
        assert steps[1].to == vault.address and steps[1].value == 0
        assert steps[1].description == "Deposit 2 USDC into the escrow channel with Test provider"
        expected = vault.contract.encode_abi("fund", args=[channel.as_tuple(), 2 * USDC])
        assert "0x" + steps[1].data.hex() == expected  # fund(the app's channel with this provider, 2 USDC)
        await world.env.vault.approve_token(world.env.payer, world.env.usdc, 2 * USDC)
        assert [s.kind for s in await engine.chain.deposit_requests(plan, 2 * USDC)] == ["escrow-fund"]
        with pytest.raises(SessionError, match="above zero"):
            await engine.chain.deposit_requests(plan, 0)
        # never into a look-alike: a channel in the payer's name whose vouchers another key signs
        assert plan.escrow is not None
        other = replace(channel, signer=world.env.stranger.address)
        lookalike = replace(plan, escrow=replace(plan.escrow, channel=other))
        with pytest.raises(SessionError, match="not one this account alone signs for"):
            await engine.chain.deposit_requests(lookalike, 2 * USDC)

    run(world.env, scenario)


def test_budget_cap_stops_by_itself_after_one_low_funds_warning(world: World) -> None:
    events: list[SessionEvent] = []

    async def scenario() -> None:
        engine = world.engine()
        engine.subscribe(events.append)
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=12_000, deposit=USDC))
        await world.advance(TICK)
        assert not live.meter.is_low()
        await world.advance(TICK)  # 10 s: 10 000 of 12 000 spent, under 20% left
        await until(lambda: any(e.kind == "low_funds" for e in events), what="low funds")
        await world.advance(1)
        await world.advance(1)  # 12 s: the cap
        summary = await asyncio.wait_for(engine.wait(live.local_id), 10)
        assert summary.status == "stopped" and "budget" in summary.message
        assert summary.cost == summary.metered == live.signed == 12_000 and summary.receipt_ok
        assert isinstance(summary.receipt, m.Receipt) and summary.receipt.amount == 12_000
        assert engine.history.spent(live.local_id) == 12_000

    run(world.env, scenario)
    assert [e.kind for e in events].count("low_funds") == 1


def test_a_channel_holding_less_than_the_budget_caps_the_session(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=8_000))
        assert live.terms.cap == 8_000
        await world.advance(TICK)
        await world.advance(3)
        summary = await asyncio.wait_for(engine.wait(live.local_id), 10)
        assert "funds ran out" in summary.message and summary.cost == 8_000

    run(world.env, scenario)


def test_too_little_escrow_is_refused_with_what_to_deposit(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        with pytest.raises(SessionError, match="Deposit at least"):
            await engine.start(plan, StartOptions("escrow", budget=USDC))
        assert engine.history.find() == []

    run(world.env, scenario)


def test_a_rate_changed_after_the_plan_is_refused_before_anything_is_paid(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        async with ProviderClient(world.provider.url) as client:
            service = await client.get_service(SVC)
            fields = m.ServiceFields(
                name=service.name,
                description=service.description,
                category=service.category,
                type=service.type,
                rate=m.Rate(amount=2 * RATE, asset="USDC", unit=m.RateUnit.per_second),
                tick_seconds=service.tick_seconds,
                grace_seconds=service.grace_seconds,
            )
            await client.update_service(world.provider.key, SVC, fields)
            with pytest.raises(SessionError, match="changed the rate"):
                await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
            sessions = await client.my_sessions(world.env.payer)
            assert sessions.items == []  # nothing reached the provider
        assert engine.history.find() == [] and engine.live() == []

    run(world.env, scenario)


def test_one_session_per_channel_and_the_next_continues_where_the_last_ended(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        first = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        with pytest.raises(SessionError, match="already running on your channel"):
            await engine.start(plan, StartOptions("escrow", budget=USDC))
        await world.advance(3)
        one = await engine.stop(first.local_id)
        second = await engine.start(plan, StartOptions("escrow", budget=USDC))
        record = engine.history.get(second.local_id)
        # the first session settled at its meter (3 s), below its voucher one tick ahead: the second
        # starts from there, so the second paid ahead is not paid twice
        assert one.cost == one.metered == 3 * RATE
        assert record is not None and record.terms.channel_base == one.cost
        await world.advance(TICK)
        await until(lambda: second.acked == 2 * TICK_COST)
        two = await engine.stop(second.local_id)
        assert isinstance(two.receipt, m.Receipt) and two.receipt_ok
        assert two.cost == two.metered == TICK_COST
        assert two.receipt.final_cumulative == one.cost + two.cost == 3 * RATE + TICK_COST
        channel = await world.client().get_channel(first.terms.channel_id or "")
        assert channel.last_voucher is not None
        assert channel.last_voucher.cumulative_amount == 3 * RATE + TICK_COST
        sessions = engine.history.find(HistoryFilter(provider=world.provider.url))
        assert [s.local_id for s in sessions] == [second.local_id, first.local_id]

    run(world.env, scenario)


def test_sessions_with_two_providers_run_at_the_same_time(world: World) -> None:
    env = world.env
    with run_provider(env, world.tmp_path, key=env.provider2) as other:
        world.providers.append(other)

        async def scenario() -> None:
            engine = world.engine()
            a = await engine.start(
                await engine.plan(world.provider.url, SVC), StartOptions("escrow", budget=USDC, deposit=USDC)
            )
            b = await engine.start(
                await engine.plan(other.url, SVC), StartOptions("escrow", budget=USDC, deposit=USDC)
            )
            assert a.terms.channel_id != b.terms.channel_id and {s.local_id for s in engine.live()} == {
                a.local_id,
                b.local_id,
            }
            await world.advance(TICK)
            await until(lambda: a.acked == b.acked == 2 * TICK_COST)
            sa, sb = await asyncio.gather(engine.stop(a.local_id), engine.stop(b.local_id))
            assert sa.receipt_ok and sb.receipt_ok and sa.cost == sb.cost == TICK_COST  # TICK s metered

        run(env, scenario)


def test_the_ended_sessions_close_settles_the_channel_and_the_next_session_opens_the_next_one(
    world: World,
) -> None:
    """Close channel on an ended session: the provider's Close at the settled total, the app's own voucher
    for it, closeCooperative sent; the closed channel is final, so the next session uses the next salt."""
    env = world.env

    async def scenario() -> None:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        first = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        with pytest.raises(SessionError, match="Stop the session"):
            await engine.close_request(first.local_id)
        await world.advance(3)
        summary = await engine.stop(first.local_id)
        assert summary.cost == 3 * RATE
        request = await engine.close_request(first.local_id)
        assert request.kind == "escrow-close" and "comes back to you" in request.description
        usdc = env.vault.erc20(env.usdc)
        before = await usdc.functions.balanceOf(env.payer.address).call()
        flow = TxFlow(engine.chain.transaction_manager(), env.payer.address, [request])
        await flow.prepare()
        await flow.send(lambda tx: env.payer.sign_transaction(tx).raw_transaction)
        while not flow.state.is_final:
            await flow.poll()
            await asyncio.sleep(0.02)
        assert flow.state.phase == "done", flow.state.message
        first_channel = bytes.fromhex((first.terms.channel_id or "")[2:])
        state = await env.vault.channel_state(first_channel)
        assert state.closed and state.claimed == 3 * RATE  # the meter's total, not the tick signed ahead
        assert await usdc.functions.balanceOf(env.payer.address).call() - before == USDC - 3 * RATE

        again = await engine.plan(world.provider.url, SVC)
        escrow = again.option("escrow")
        assert escrow is not None and escrow.needs_deposit and "not funded yet" in escrow.label
        second = await engine.start(again, StartOptions("escrow", budget=USDC, deposit=USDC))
        assert second.terms.channel_id != first.terms.channel_id
        channel = await engine.chain.channel_for(again.provider, again.asset)
        assert "0x" + channel.id.hex() == second.terms.channel_id and channel.salt == (1).to_bytes(32, "big")
        assert second.acked == TICK_COST
        await engine.stop(second.local_id)

    run(env, scenario)
