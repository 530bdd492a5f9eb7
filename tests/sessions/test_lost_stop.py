"""The stop of an escrow session that does not finish: its answer lost, or the app killed before the stop
went out. The final voucher settles the session at the meter, below the voucher one tick ahead the
provider confirmed; wherever the stop broke off, the books must end where the provider's do (its cursor,
what it holds), and the next session on the channel must start. Real provider and anvil; the client is the
real one, with the stop's answer (or the stop itself) taken away as a dying process or a lost network
would."""

from __future__ import annotations

import asyncio
from typing import Any

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, ProviderTimeout
from paygo_desktop.sessions.plan import StartOptions
from tests.sessions.conftest import World, run, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK = 1000, 5
TICK_COST = RATE * TICK
USDC = 10**6


class LosesTheStopsAnswer(ProviderClient):
    """The stop reaches the provider, which settles it; its answer never comes back."""

    async def stop_session(self, *args: Any, **kwargs: Any) -> m.StopResponse:
        await super().stop_session(*args, **kwargs)
        raise ProviderTimeout("timed out")


def loses_one_stops_answer() -> type[ProviderClient]:
    """As ``LosesTheStopsAnswer``, for the first stop only (recovery's, later, is answered)."""
    left = [1]

    class LosesOne(ProviderClient):
        async def stop_session(self, *args: Any, **kwargs: Any) -> m.StopResponse:
            answer = await super().stop_session(*args, **kwargs)
            if left[0]:
                left[0] -= 1
                raise ProviderTimeout("timed out")
            return answer

    return LosesOne


class DiesBeforeTheStop(ProviderClient):
    """The process is gone once the final voucher is stored: the stop never leaves."""

    async def stop_session(self, *args: Any, **kwargs: Any) -> m.StopResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def _seven_seconds_in(world: World, engine: Any) -> Any:
    """A session 7 s in: the provider confirmed 10,000 (two ticks, one ahead of the meter's 7,000)."""
    plan = await engine.plan(world.provider.url, SVC)
    live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=2 * USDC))
    await world.advance(TICK)
    await until(lambda: live.acked == 2 * TICK_COST, what="voucher 2")
    await world.advance(2)
    return plan, live


async def _provider_holds(world: World, channel_id: str) -> int:
    async with ProviderClient(world.provider.url) as client:
        channel = await client.get_channel(channel_id)
    assert channel.last_voucher is not None
    return channel.last_voucher.cumulative_amount


def test_a_stop_whose_answer_is_lost_is_settled_with_the_provider_and_the_channel_goes_on(
    world: World,
) -> None:
    """The stop with the final voucher (7,000) settled at the provider, but its answer was lost (the
    client's timeout, or quitting's bound). It was booked at 10,000 as "no valid receipt", a status nothing
    looks at again: the app's cursor stayed at 10,000, the provider's at 7,000, and every later start on the
    channel was refused for ever. Now the session is left interrupted; the next start settles it first."""

    async def scenario() -> None:
        engine = world.engine(client_factory=LosesTheStopsAnswer)
        plan, live = await _seven_seconds_in(world, engine)
        channel_id = live.terms.channel_id or ""
        began = asyncio.get_running_loop().time()
        summary = await engine.stop(live.local_id)
        assert asyncio.get_running_loop().time() - began < 5  # the stop still ends at once
        assert await _provider_holds(world, channel_id) == 7 * RATE
        record = engine.history.get(live.local_id)
        assert record is not None and record.status == "interrupted"  # looked at again
        assert "No receipt" in summary.message and "next start" in summary.message

        # the next session on the channel (same run): the leftover is settled first, at the final voucher
        following = world.engine()
        nxt = await following.start(plan, StartOptions("escrow", budget=USDC))
        record = following.history.get(live.local_id)
        assert record is not None and record.status == "recovered" and record.receipt_ok is True
        assert record.cost == 7 * RATE and following.history.spent(live.local_id) == 7 * RATE
        assert nxt.terms.channel_base == 7 * RATE
        await following.stop(nxt.local_id)

    run(world.env, scenario)


def test_a_stop_whose_answer_is_lost_is_settled_by_recovery(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine(client_factory=loses_one_stops_answer())
        _, live = await _seven_seconds_in(world, engine)
        await engine.stop(live.local_id)
        [report] = await engine.recover()  # the same run's engine: an ended session of its own
        assert report.outcome == "settled" and report.cost == 7 * RATE
        assert "ended without an answer from the provider; settled with it now" in report.message
        channel_id = live.terms.channel_id or ""
        assert await _provider_holds(world, channel_id) == 7 * RATE
        assert engine.history.channel_cursor(channel_id) == 7 * RATE
        assert engine.history.channel_committed(channel_id) == 7 * RATE
        assert await world.engine().recover() == []  # settled once, not again

    run(world.env, scenario)


def test_killed_before_the_stop_went_out_the_unsent_final_voucher_is_not_taken_as_confirmed(
    world: World,
) -> None:
    """The final voucher (7,000) was stored, then the app died before the stop was sent. Recovery stops the
    session at what the provider holds (10,000, the voucher one tick ahead), but it used to mark every voucher
    up to that confirmed, the unsent 7,000 too: being the newest, it became the channel's cursor and what
    the app's vouchers commit there, and a claim of 10,000 showed 3,000 "paid ahead" that was never paid."""

    async def scenario() -> None:
        crashed = world.engine(client_factory=DiesBeforeTheStop)
        world.engines.remove(crashed)  # a dead process is not shut down
        plan, live = await _seven_seconds_in(world, crashed)
        stopping = asyncio.ensure_future(crashed.stop(live.local_id))
        await until(
            lambda: (7 * RATE) in [c for _, c, _ in crashed.history.vouchers(live.local_id)],
            what="the final voucher stored",
        )
        channel_id = live.terms.channel_id or ""

        engine = world.engine()
        [report] = await engine.recover()
        assert report.outcome == "still_running_stopped" and report.cost == 2 * TICK_COST
        assert await _provider_holds(world, channel_id) == 2 * TICK_COST
        history = engine.history
        assert history.vouchers(live.local_id) == [
            (0, TICK_COST, True),
            (1, 2 * TICK_COST, True),
            (2, 7 * RATE, False),  # never sent: not confirmed
        ]
        assert history.channel_cursor(channel_id) == 2 * TICK_COST
        assert history.channel_committed(channel_id) == 2 * TICK_COST
        assert history.paid_ahead_credit(channel_id, 2 * TICK_COST) == 0  # the provider's claim of it
        nxt = await engine.start(plan, StartOptions("escrow", budget=USDC))
        assert nxt.terms.channel_base == 2 * TICK_COST
        await engine.stop(nxt.local_id)

        stopping.cancel()
        handle = crashed._runs.pop(live.local_id)
        assert handle.drive_task is not None
        handle.drive_task.cancel()  # the dead process's leftovers, for a clean loop
        await asyncio.gather(stopping, handle.drive_task, return_exceptions=True)

    run(world.env, scenario)
