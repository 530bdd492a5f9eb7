"""The user's limits hold: a payment above the per-request, 24-hour or total limit, to a site not on the
allow list, on another network, in an unknown token, or declined in ask-first mode is refused before
anything is signed (the server never sees a PAYMENT-SIGNATURE, no money moves, nothing is recorded); a
server that asks more after the payment gets no second signature; a replayed authorization moves nothing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from paygo_desktop import answer_limits
from paygo_desktop.errors import UserFacingError
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, SETTLED, X402Store
from paygo_desktop.x402 import payer as payer_module
from paygo_desktop.x402.limits import X402Refused
from tests.dribbling_server import compressed_server, dribbling_server
from tests.x402_pay.conftest import Env, make_payer, sdk_server, site_policy, usdc_price

PRICE = 30_000


def _refused(env: Env, payer, url: str, reason: str, **kw) -> X402Refused:
    with pytest.raises(X402Refused) as info:
        env.run(payer.request("GET", url, **kw))
    assert info.value.reason == reason, str(info.value)
    return info.value


@pytest.fixture
def paid_api(env: Env):
    with sdk_server(env, price=usdc_price(env, PRICE)) as server:
        yield server


def test_over_each_limit_nothing_is_signed(env: Env, app_store, paid_api) -> None:
    records = X402Store(app_store)
    url = paid_api.url + "/paid"
    payer = make_payer(env, app_store)
    before = env.usdc_balance(env.payer.address)

    _refused(env, payer, url, "not_allowed")  # not on the allow list, no --max
    records.save_policy(site_policy(env, paid_api.url, max_per_request=PRICE - 1))
    _refused(env, payer, url, "over_per_request")
    records.save_policy(site_policy(env, paid_api.url, allowed=False))
    _refused(env, payer, url, "blocked")
    records.save_policy(site_policy(env, paid_api.url))
    _refused(env, payer, url, "over_max", max_amount="0.029999")  # the caller's own cap
    assert paid_api.signatures == [] and records.payments() == []
    assert env.usdc_balance(env.payer.address) == before

    # two payments fit the 24-hour limit, the third does not
    records.save_policy(site_policy(env, paid_api.url, max_per_day=2 * PRICE))
    for _ in range(2):
        assert env.run(payer.request("GET", url)).payment.status == SETTLED
    _refused(env, payer, url, "over_per_day")
    assert len(paid_api.signatures) == 2

    # a day later the 24-hour window is free again, but the total limit holds
    later = make_payer(env, app_store, clock=lambda: __import__("time").time() + 25 * 3600)
    records.save_policy(site_policy(env, paid_api.url, max_per_day=2 * PRICE, max_total=3 * PRICE))
    assert env.run(later.request("GET", url)).payment.status == SETTLED
    _refused(env, later, url, "over_total")
    assert len(paid_api.signatures) == 3
    assert env.usdc_balance(env.payer.address) == before - 3 * PRICE
    assert [p.status for p in records.payments()] == [SETTLED] * 3


def test_ask_first_declined_signs_nothing(env: Env, app_store, paid_api) -> None:
    asked = []

    async def no(quote) -> bool:
        asked.append(quote.amount)
        return False

    X402Store(app_store).save_policy(site_policy(env, paid_api.url, ask_first=True))
    _refused(env, make_payer(env, app_store, confirm=no), paid_api.url + "/paid", "declined")
    _refused(env, make_payer(env, app_store), paid_api.url + "/paid", "ask_first")  # nobody to ask
    assert asked == [PRICE] and paid_api.signatures == []


def test_wrong_network_and_unknown_token_are_refused(env: Env, app_store) -> None:
    # Base Sepolia's USDC, by the SDK's own default price ("$0.01"): not this wallet's network
    with sdk_server(env, price="$0.01", network="eip155:84532") as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "wrong_network")
        assert "eip155:84532" in str(error) and server.signatures == []
    other = env.deploy("TestToken", "Other", "OTH", 6)
    env.mint_usdc(env.payer.address, 0)
    with sdk_server(env, price=usdc_price(env, PRICE, asset=other)) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "wrong_asset")
        assert other.lower() in str(error).lower() and server.signatures == []
    assert X402Store(app_store).payments() == []


def test_server_asking_more_on_retry_gets_no_second_signature(env: Env, app_store) -> None:
    quotes = iter([PRICE, 2 * PRICE, 2 * PRICE])

    def rising(_context):  # the SDK's DynamicPrice: each request is quoted anew
        return usdc_price(env, next(quotes))

    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=rising) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "asks_more")
        assert "0.06 USDC" in str(error) and "0.03 USDC" in str(error)
        assert len(server.signatures) == 1  # the first quote's, and no other
    [payment] = X402Store(app_store).payments()
    assert payment.status == FAILED and payment.amount == PRICE
    assert env.usdc_balance(env.payer.address) == before


def test_a_replayed_authorization_moves_nothing(env: Env, app_store, paid_api) -> None:
    X402Store(app_store).save_policy(site_policy(env, paid_api.url))
    assert env.run(make_payer(env, app_store).request("GET", paid_api.url + "/paid")).status == 200
    after = (env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address))
    [signature] = paid_api.signatures
    replay = httpx.get(paid_api.url + "/paid", headers={"PAYMENT-SIGNATURE": signature}, timeout=30)
    assert replay.status_code == 402
    assert (env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address)) == after


def test_an_answer_that_comes_a_byte_at_a_time_is_given_up_on(
    env: Env, app_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paid answer may be large (16 MiB), so it has no fixed deadline; one slower than 8 KiB/s on average
    once it has run a while (30 s; 1 s here) is given up on with a clear error, nothing signed or kept."""
    monkeypatch.setattr(answer_limits, "AFTER_SECONDS", 1.0)

    async def call() -> None:
        async with dribbling_server() as url:
            began = time.monotonic()
            with pytest.raises(UserFacingError, match="sent its answer too slowly") as slow:
                await asyncio.wait_for(make_payer(env, app_store).request("GET", url + "/paid"), 10)
            assert time.monotonic() - began < 3.0
            assert not isinstance(slow.value, X402Refused)

    env.run(call())
    assert X402Store(app_store).payments() == []


def test_headers_that_come_a_byte_at_a_time_or_a_compressed_answer_are_given_up_on(
    env: Env, app_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers sent a byte every 0.2 s break no per-read limit: they have a deadline of their own (90 s;
    1 s here). An answer compressed twice would inflate whole before the 16 MiB cap counts it: refused."""
    monkeypatch.setattr(payer_module, "HEADERS_SECONDS", 1.0)

    async def call() -> None:
        payer = make_payer(env, app_store)
        async with dribbling_server(headers=True) as url:
            began = time.monotonic()
            with pytest.raises(UserFacingError, match="did not answer within 1 s"):
                await asyncio.wait_for(payer.request("GET", url + "/paid"), 10)
            assert time.monotonic() - began < 3.0
        async with compressed_server(b" " * 50_000_000) as url:
            with pytest.raises(UserFacingError, match="gzip, gzip-compressed answer"):
                await asyncio.wait_for(payer.request("GET", url + "/paid"), 10)

    env.run(call())
    assert X402Store(app_store).payments() == []
