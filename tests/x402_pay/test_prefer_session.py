"""Preferring a PayGo session for repeated calls (issue 16): the reference provider's 402 for a per-request
service names, in its ``paygo-session`` extension, the session-priced service with the same upstream; with
a running session of the app's engine for it, a request through the local x402 proxy is served through the
session's gateway and no x402 payment is made; without one it is paid per request and the answer says that
a session would be cheaper for repeated calls. All on anvil, the real provider and its gateway, the
sandbox's real weather API."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paygo_desktop.money import Asset
from paygo_desktop.paths import DataDir
from paygo_desktop.sessions.plan import StartOptions
from paygo_desktop.sessions.x402_proxy import OFFER_HEADER, PAYMENT_HEADER, SESSION_HEADER, X402Proxy
from paygo_desktop.sessions.x402_sessions import session_access
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Store
from paygo_desktop.x402.payer import X402Payer
from tests.provider.gateway_world import Upstreams
from tests.sessions.conftest import (
    Env,
    WallClock,
    World,
    anvil_network,
    make_wallet,
    run_provider,
)

PER_CALL, SESSION = "weather-per-call", "weather-api"  # the demo catalog: 0.002 USDC/request, 0.005/min
PRICE = 2000


@pytest.fixture
def world(env: Env, tmp_path: Path) -> Iterator[World]:
    """The provider selling the same weather API per request and per minute, and the app's store, wallet
    and engine (on real clocks)."""
    upstreams = Upstreams()
    api = {"upstream": f"http://127.0.0.1:{upstreams.api_port}", "delivery": "http"}
    data = DataDir(tmp_path / "data").ensure()
    store = Store.open(data.database_file)
    wallet = make_wallet(store, data.wallet_dir, env)
    try:
        with run_provider(env, tmp_path, clock=WallClock(), services={PER_CALL: api, SESSION: api}) as p:
            w = World(env, tmp_path, p, store, wallet, anvil_network(env))
            try:
                yield w
            finally:
                for engine in w.engines:
                    env.run(engine.shutdown())
    finally:
        store.close()
        upstreams.stop()


def _payer(world: World, engine: object = None) -> X402Payer:
    live = engine.live if engine is not None else list  # type: ignore[attr-defined]
    return X402Payer(
        world.store,
        world.env.payer,
        world.network,
        (Asset("USDC", 6, world.env.usdc),),
        sessions=session_access(live),
    )


def _through_proxy(world: World, payer: X402Payer, path: str) -> httpx.Response:
    target = world.provider.url.replace("http://", "http/") + f"/api/v1/x402/{PER_CALL}/{path}"

    async def call() -> httpx.Response:
        proxy = X402Proxy(payer)
        base = await proxy.start()
        try:
            async with httpx.AsyncClient(timeout=30) as tool:
                return await tool.get(base + target)
        finally:
            await proxy.close()

    return world.env.run(call())


def test_the_402_names_the_session_priced_service_of_the_same_upstream(world: World) -> None:
    unpaid = httpx.get(f"{world.provider.url}/api/v1/x402/{PER_CALL}/weather?city=Oslo", timeout=10)
    assert unpaid.status_code == 402
    required = json.loads(base64.b64decode(unpaid.headers["PAYMENT-REQUIRED"]))
    assert required["extensions"]["paygo-session"]["info"] == {
        "service": SESSION,
        "name": "Weather API",
        "rate": {"amount": "5000", "asset": "USDC", "unit": "per_minute"},
        "catalog": f"{world.provider.url}/api/v1/service/{SESSION}",
    }


def test_without_a_session_it_pays_per_request_and_says_a_session_is_cheaper(world: World) -> None:
    env = world.env
    X402Store(world.store).save_policy(
        SitePolicy(world.provider.url, env.chain_id, env.usdc, "USDC", 6, max_per_request=PRICE)
    )
    before = env.usdc_balance(env.payer.address)
    answer = _through_proxy(world, _payer(world), "weather?city=Oslo")
    assert answer.status_code == 200 and answer.json()["city"] == "Oslo"
    assert answer.headers[PAYMENT_HEADER] == "0.002 USDC; settled"
    assert SESSION_HEADER not in answer.headers
    # 0.005 USDC a minute against 0.002 a call: the same from 2.5 calls a minute
    assert "by the minute (Weather API: 0.005 USDC per minute" in answer.headers[OFFER_HEADER]
    assert "above 2.5 calls a minute" in answer.headers[OFFER_HEADER]
    assert [p.status for p in X402Store(world.store).payments()] == [SETTLED]
    assert env.usdc_balance(env.payer.address) == before - PRICE


def test_a_running_session_serves_the_request_and_nothing_is_paid_per_request(world: World) -> None:
    env = world.env
    X402Store(world.store).save_policy(
        SitePolicy(world.provider.url, env.chain_id, env.usdc, "USDC", 6, max_per_request=PRICE)
    )
    engine = world.engine(clock=time.monotonic_ns)

    async def start() -> None:
        plan = await engine.plan(world.provider.url, SESSION)
        await engine.start(plan, StartOptions("escrow", budget=100_000, deposit=200_000))

    env.run(start())
    [live] = engine.live()
    assert live.access is not None and live.access.service_url
    before = env.usdc_balance(env.payer.address)
    answer = _through_proxy(world, _payer(world, engine), "weather?city=Lima")
    assert answer.status_code == 200 and answer.json()["city"] == "Lima"
    assert answer.headers[SESSION_HEADER] == SESSION
    assert PAYMENT_HEADER not in answer.headers
    assert X402Store(world.store).payments() == []  # no x402 payment signed or stored
    assert env.usdc_balance(env.payer.address) == before  # the session's deposit is already in escrow

    env.run(engine.stop(live.local_id))  # the session over: the next call is paid per request
    answer = _through_proxy(world, _payer(world, engine), "weather?city=Quito")
    assert answer.status_code == 200 and answer.headers[PAYMENT_HEADER] == "0.002 USDC; settled"
    assert env.usdc_balance(env.payer.address) == before - PRICE


def test_a_hint_about_another_server_is_ignored() -> None:
    from x402.schemas import PaymentRequired

    from paygo_desktop.x402.session_offer import offer_in

    def required(catalog: str) -> PaymentRequired:
        info = {"service": SESSION, "rate": {"amount": "5", "asset": "USDC", "unit": "per_minute"}}
        return PaymentRequired(
            accepts=[], extensions={"paygo-session": {"info": {**info, "catalog": catalog}}}
        )

    url = "https://p.example/api/v1/x402/w/today?x=1"
    found = offer_in(required("https://p.example/api/v1/service/weather-api"), url)
    assert found is not None and found.rest == "today?x=1" and found.amount == 5
    assert offer_in(required("https://evil.example/api/v1/service/weather-api"), url) is None
    assert offer_in(PaymentRequired(accepts=[], extensions={"paygo-session": "x"}), url) is None


def test_the_comparison_is_exact_and_compares_only_the_same_token() -> None:
    from paygo_desktop.x402.limits import Quote
    from paygo_desktop.x402.session_offer import SessionOffer

    usdc = Asset("USDC", 6, "0x" + "11" * 20)
    quote = Quote(
        "https://p.example", "https://p.example/x", "exact", "eip155:1", usdc, "0x" + "22" * 20, PRICE
    )

    def said(amount: int, unit: str, symbol: str = "USDC") -> str:
        return SessionOffer(
            "https://p.example", SESSION, "Weather API", amount, symbol, unit, "c", ""
        ).comparison(quote)

    assert "0.001 USDC per second" in said(1000, "per_second") and "above 30 calls a minute" in said(
        1000, "per_second"
    )
    assert "above 16.7 calls a minute" in said(2_000_000, "per_hour")  # 33,333.3… a minute / 2,000 a call
    assert "above one call every 120,000 minutes" in said(1, "per_hour")
    other = said(5, "per_minute", "EURC")
    assert "5 base units of EURC per minute" in other and "cheaper" not in other
