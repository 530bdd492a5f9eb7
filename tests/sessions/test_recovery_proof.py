"""Recovery proves to the provider that the session is the payer's (issue 24, item 3): the access token did
not survive the app, so recovery signs its requests with the payer's key; with the wallet locked it leaves
the session interrupted and tries again later. Real provider and anvil."""

from __future__ import annotations

import asyncio

from paygo_desktop.protocol import models as m
from paygo_desktop.sessions.escrow_payer import EscrowPayer
from paygo_desktop.sessions.plan import StartOptions
from tests.sessions.conftest import PASSWORD, World, run, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
TICK_COST = 5_000
USDC = 10**6


def test_recovery_stops_a_session_left_running_with_the_payers_signature(world: World) -> None:
    async def scenario() -> None:
        crashed = world.engine()
        plan = await crashed.plan(world.provider.url, SVC)
        live = await crashed.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        handle = crashed._runs[live.local_id]
        payer = handle.payer
        assert isinstance(payer, EscrowPayer)
        frozen: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        payer.finish = lambda _ending: frozen  # type: ignore[method-assign]  # the process dies in the stop
        assert handle.loop_task is not None
        handle.loop_task.cancel()
        await until(lambda: live.status == "stopping", what="the stop under way")
        client = world.client()
        assert (await client.get_session(live.remote_id or "")).status is m.SessionStatus.live

        world.wallet.lock()  # the next start, before the wallet is unlocked
        engine = world.engine()
        [report] = await engine.recover()
        assert report.outcome == "unknown" and "locked" in report.message
        assert (await client.get_session(live.remote_id or "")).status is m.SessionStatus.live

        world.wallet.unlock(PASSWORD)
        [report] = await engine.recover()
        assert report.outcome == "still_running_stopped" and report.cost == TICK_COST
        assert (await client.get_session(live.remote_id or "")).status is m.SessionStatus.ended
        await client.aclose()
        assert handle.drive_task is not None
        handle.drive_task.cancel()  # the dead process's leftovers, for a clean loop and shutdown
        del crashed._runs[live.local_id]

    run(world.env, scenario)
