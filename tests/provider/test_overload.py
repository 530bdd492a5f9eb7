"""Overload never cuts off a paying session (provider.load): a voucher is judged on when it reached the
provider, the expiry sweep waits for the vouchers still held, and new sessions are refused first (503 busy
with Retry-After, said in /health), which the app reports as "the provider is busy, try again in N s".

The provider runs on the real clock here (a two-second tick, a one-second grace), over loopback against
anvil; a slow worker is made by a middleware inside the provider's own layers that holds chosen requests
(awaiting, so the expiry sweep keeps running meanwhile) or blocks its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from starlette.middleware import Middleware

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import ProviderBusy, ProviderClient, SessionGone
from tests.provider.conftest import Env, _free_port, make_config, run_server, voucher

SVC = "quick-feed"
RATE, TICK, GRACE = 1000, 2, 1  # per second; a tick of two seconds, a grace of one
TICK_COST = RATE * TICK


class Stall:
    """Holds the requests the test marks: ``hold`` seconds awaited (the loop runs on), or ``block`` seconds
    with the event loop blocked (the whole worker is stuck)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    hold: ClassVar[dict[str, float]] = {}  # path suffix -> seconds (class-level: set by the tests)
    block_path = "/test/block"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if scope["path"] == self.block_path:
                time.sleep(float(scope["query_string"] or b"0.6"))
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            for suffix, seconds in list(self.hold.items()):
                if scope["path"].endswith(suffix):
                    del self.hold[suffix]
                    await asyncio.sleep(seconds)
        await self.app(scope, receive, send)


@contextlib.contextmanager
def provider(env: Env, tmp_path: Path, **overrides: Any) -> Iterator[tuple[str, Any]]:
    """The provider on the real clock with a two-second-tick service and the stall inside its layers."""
    from paygo_desktop.provider.app import create_app

    seed = tmp_path / "catalog.json"
    seed.write_text(
        json.dumps(
            [
                {
                    "id": SVC,
                    "name": "Quick feed",
                    "description": "two-second ticks",
                    "category": "data",
                    "type": "data",
                    "rate": {"amount": str(RATE), "asset": "USDC", "unit": "per_second"},
                    "tickSeconds": TICK,
                    "graceSeconds": GRACE,
                    "isActive": True,
                }
            ]
        )
    )
    port = _free_port()
    settings: dict[str, Any] = {"catalog_seed": str(seed), "overload_delay": 30.0, **overrides}
    app = create_app(make_config(env, tmp_path, port, **settings))
    app.user_middleware.append(Middleware(Stall))  # innermost: after the arrival is stamped
    server, thread = run_server(app, port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while httpx.get(url + routes.HEALTH).json()["status"] != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield url, app
    finally:
        Stall.hold.clear()
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_accepting(url: str, within: float = 15.0) -> None:
    """Until /health says new sessions are taken: the pressure of a busy moment (the provider's own start,
    a loaded machine) has left its windows and the hold is over."""
    deadline = time.monotonic() + within
    with httpx.Client(base_url=url, timeout=10) as http:
        while not http.get(routes.HEALTH).json()["acceptingSessions"]:
            assert time.monotonic() < deadline, f"still shedding new sessions after {within} s"
            time.sleep(0.2)


def funded_channel(env: Env) -> Any:
    ch = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=4000)
    env.run(env.vault.fund(env.payer, ch, 100 * TICK_COST))
    return ch


def test_a_voucher_that_waited_past_its_deadline_in_a_slow_provider_is_taken(
    env: Env, tmp_path: Path
) -> None:
    with provider(env, tmp_path) as (url, _app):
        client = ProviderClient(url, timeout=10)
        try:
            ch = funded_channel(env)
            started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            t0 = time.time()  # served until t0 + 2 s; late after t0 + 3 s
            time.sleep(TICK)
            # on time (t0 + 2), then held 1.5 s in the provider: handled at t0 + 3.5, past the deadline,
            # while the expiry sweep (every 0.1 s) runs
            Stall.hold["/vouchers"] = 1.5
            amount = 2 * TICK_COST
            ack = env.run(client.send_voucher(started.session_id, 1, amount, voucher(env, ch, amount)))
            assert time.time() - t0 > TICK + GRACE  # it was handled after the deadline...
            assert ack.cumulative_amount == amount  # ...and taken: it arrived in time
            info = env.run(client.get_session(started.session_id))
            assert info.status is m.SessionStatus.live  # the sweep did not expire it meanwhile
        finally:
            env.run(client.aclose())


def test_a_voucher_that_arrives_late_still_ends_the_session(env: Env, tmp_path: Path) -> None:
    with provider(env, tmp_path) as (url, _app):
        client = ProviderClient(url, timeout=10)
        try:
            ch = funded_channel(env)
            started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            time.sleep(TICK + GRACE + 0.6)  # nothing sent in time: the payer is late, not the provider
            amount = 2 * TICK_COST
            with pytest.raises(SessionGone):
                env.run(client.send_voucher(started.session_id, 1, amount, voucher(env, ch, amount)))
        finally:
            env.run(client.aclose())


def test_under_overload_new_sessions_get_503_and_paying_ones_go_on(env: Env, tmp_path: Path) -> None:
    with provider(env, tmp_path, overload_delay=0.3, overload_hold=3) as (url, _app):
        client = ProviderClient(url, timeout=10)
        try:
            paying = funded_channel(env)
            late_comer = funded_channel(env)  # funded now: the refusal below must come within the hold
            late_voucher = voucher(env, late_comer, TICK_COST)
            # a calm provider first: on a loaded machine its own start may already have looked like overload
            wait_until_accepting(url)
            s = env.run(client.start_session(SVC, paying, TICK_COST, voucher(env, paying, TICK_COST)))
            wait_until_accepting(url)
            with httpx.Client(base_url=url, timeout=10) as http:
                assert http.get("/test/block").status_code == 204  # the worker is stuck for 0.6 s
                health = http.get(routes.HEALTH).json()
            assert health["acceptingSessions"] is False and 1 <= health["retryAfter"] <= 3
            assert health["load"]["delayMs"] >= 300

            with pytest.raises(ProviderBusy) as busy:
                env.run(client.start_session(SVC, late_comer, TICK_COST, late_voucher))
            assert busy.value.status == 503 and busy.value.code == "busy"
            assert 1 <= busy.value.retry_after <= 3
            assert f"try again in {busy.value.retry_after} s" in str(busy.value)
            # the session already paying is served all along
            amount = TICK_COST + RATE  # one second more
            ack = env.run(client.send_voucher(s.session_id, 1, amount, voucher(env, paying, amount)))
            assert ack.cumulative_amount == amount
            # nothing was taken from the refused one: its channel holds no voucher and no session
            with httpx.Client(base_url=url, timeout=10) as http:
                assert (
                    http.get(routes.CHANNEL.format(channel_id="0x" + late_comer.id.hex())).status_code == 404
                )

            # once the delay has left the one-second windows and the hold is over, new sessions are taken
            wait_until_accepting(url, within=10)
            again = env.run(
                client.start_session(SVC, late_comer, TICK_COST, voucher(env, late_comer, TICK_COST))
            )
            assert again.session_id
        finally:
            env.run(client.aclose())
