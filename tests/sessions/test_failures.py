"""When the provider dies or stops confirming: the session ends by itself within tick + grace of the last
confirmed payment, failed, says why, and what was signed beyond the confirmations is at most one tick."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paygo_desktop.metering.meter import NS_PER_SECOND
from paygo_desktop.sessions.plan import StartOptions
from tests.provider.conftest import run_server
from tests.sessions.conftest import World, _free_port, run, until

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s, grace 5 s
RATE, TICK, GRACE = 1000, 5, 5
TICK_COST = RATE * TICK
USDC = 10**6


class HoldingProxy:
    """A loopback HTTP proxy in front of the real provider that can hold voucher requests unanswered."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.hold = False
        self.released = False
        self.held = 0
        self.app = Starlette(
            routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])]
        )

    async def forward(self, request: Request) -> Response:
        if self.hold and request.url.path.endswith("/vouchers"):
            self.held += 1
            while not self.released:
                await asyncio.sleep(0.02)
            return Response(status_code=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "authorization")}
        async with httpx.AsyncClient(base_url=self.target, timeout=10) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
        )


def _proxy(target: str) -> Iterator[tuple[str, HoldingProxy]]:
    proxy = HoldingProxy(target)
    port = _free_port()
    server, thread = run_server(proxy.app, port)
    try:
        yield f"http://127.0.0.1:{port}", proxy
    finally:
        proxy.released = True
        server.should_exit = True
        thread.join(timeout=10)


async def _advance_until_ended(world: World, live: Any, limit: int = 30) -> None:
    for _ in range(limit):
        if live.status in ("stopped", "failed"):
            return
        await world.advance(1, settle=0.1)
    await until(lambda: live.status in ("stopped", "failed"), what="the session to end")


def test_the_provider_killed_mid_session_is_noticed_within_tick_plus_grace(world: World) -> None:
    async def scenario() -> None:
        engine = world.engine()
        live = await engine.start(
            await engine.plan(world.provider.url, SVC), StartOptions("escrow", budget=USDC, deposit=USDC)
        )
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK_COST)
        world.provider.stop()  # the provider process is gone: connections are refused
        await _advance_until_ended(world, live)
        summary = await engine.wait(live.local_id)
        assert summary.status == "failed" and live.status == "failed"
        assert "stopped confirming" in (live.stop_reason or "")
        paid_seconds = live.terms.price.seconds_for(live.acked)  # 10 s were confirmed
        noticed_at = live.meter.elapsed_ns() / NS_PER_SECOND
        assert paid_seconds + GRACE <= noticed_at <= paid_seconds + GRACE + 1  # at the first step past it
        assert live.signed - live.acked <= TICK_COST  # the loss is at most one tick signed ahead
        assert summary.cost == live.acked == 2 * TICK_COST and summary.receipt is None
        assert "at most one tick" in summary.message
        # the service ran until the last confirmed payment (10 s), not to the last signed or the meter
        assert (
            summary.seconds == paid_seconds
            and "until the provider's last confirmed payment" in summary.message
        )
        record = engine.history.get(live.local_id)
        assert record is not None and record.status == "failed" and record.cost == 2 * TICK_COST
        assert engine.history.spent(live.local_id) == 2 * TICK_COST

    run(world.env, scenario)


def test_a_missing_ack_past_tick_plus_grace_stops_the_session_and_says_why(world: World) -> None:
    proxies = _proxy(world.provider.url)
    url, proxy = next(proxies)
    try:

        async def scenario() -> None:
            engine = world.engine()
            live = await engine.start(
                await engine.plan(url, SVC), StartOptions("escrow", budget=USDC, deposit=USDC)
            )
            await world.advance(TICK)
            await until(lambda: live.acked == 2 * TICK_COST)
            proxy.hold = True
            await world.advance(TICK)  # the third voucher goes out and is never answered
            await until(lambda: proxy.held == 1, what="the held voucher")
            assert live.status == "running"
            await _advance_until_ended(world, live)
            summary = await engine.wait(live.local_id)
            assert summary.status == "failed"
            assert "no confirmation covered the last 10 s (tick + grace)" in summary.message
            noticed_at = live.meter.elapsed_ns() / NS_PER_SECOND
            assert 2 * TICK + GRACE <= noticed_at <= 2 * TICK + GRACE + 1
            assert live.signed - live.acked == TICK_COST
            # the provider is alive: its receipt says what it holds, the confirmed amount
            assert summary.cost == 2 * TICK_COST and summary.receipt is not None

        run(world.env, scenario)
    finally:
        proxies.close()
