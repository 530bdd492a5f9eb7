"""The app's payer pays a server built only from the official x402 SDK (FastAPI middleware + its own
facilitator settling on anvil): the money moves on chain, the payment is recorded before it is sent and
marked settled from the server's PAYMENT-RESPONSE."""

from __future__ import annotations

import json

from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Store
from tests.x402_pay.conftest import Env, make_payer, sdk_server, usdc_price

PRICE = 25_000  # 0.025 USDC


def _allow(env: Env, store, **limits) -> None:
    X402Store(store).save_policy(
        SitePolicy(
            origin="", chain_id=env.chain_id, asset=env.usdc, asset_symbol="USDC", decimals=6, **limits
        )
    )


def test_app_pays_an_sdk_server_and_the_money_moves_on_chain(env: Env, app_store) -> None:
    with sdk_server(env, price=usdc_price(env, PRICE)) as server:
        records = X402Store(app_store)
        origin = server.url
        records.save_policy(
            SitePolicy(
                origin, env.chain_id, env.usdc, "USDC", 6, max_per_request=100_000, max_per_day=1_000_000
            )
        )
        payer_before = env.usdc_balance(env.payer.address)
        payee_before = env.usdc_balance(env.provider.address)
        payer = make_payer(env, app_store)

        free = env.run(payer.request("GET", server.url + "/free"))
        assert free.status == 200 and free.payment is None

        paid = env.run(payer.request("GET", server.url + "/paid"))
        assert paid.status == 200, paid.body
        assert json.loads(paid.body) == {"answer": 42}
        assert paid.payment is not None and paid.payment.status == SETTLED
        assert paid.payment.amount == PRICE and paid.payment.pay_to.lower() == env.provider.address.lower()
        receipt = env.rpc("eth_getTransactionReceipt", [paid.payment.tx_hash])
        assert receipt is not None and int(receipt["status"], 16) == 1

    assert env.usdc_balance(env.payer.address) == payer_before - PRICE
    assert env.usdc_balance(env.provider.address) == payee_before + PRICE
    assert [(p.url, p.status, p.amount) for p in records.payments()] == [
        (server.url + "/paid", SETTLED, PRICE)
    ]
    assert len(server.signatures) == 1

    # Activity: the spending charts show it by site and request, the activity log says what it paid for
    from datetime import UTC, datetime, timedelta

    from paygo_desktop.reports.periods import Period
    from paygo_desktop.reports.spending_report import Dimension, SpendingReport
    from paygo_desktop.store.activity import ActivityLog

    report = SpendingReport(app_store)
    [asset] = report.assets()
    assert asset.asset.address.lower() == env.usdc.lower()
    now = datetime.now(UTC)
    period = Period(now - timedelta(hours=1), now + timedelta(hours=1))
    assert report.total(asset, period).units == PRICE
    [line] = report.breakdown(asset, period, Dimension.service)
    assert line.label == "GET /paid" and line.amount.units == PRICE
    [entry] = [e for e in ActivityLog(app_store).recent() if e.kind == "x402"]
    assert entry.message == f"Paid 0.025 USDC to {server.url} for GET /paid (x402)"


def test_the_payment_is_recorded_before_the_server_sees_it(env: Env, app_store) -> None:
    records = X402Store(app_store)
    at_arrival = []

    def look(_header: str) -> None:  # the server got the signed authorization: what does the app's DB say?
        at_arrival.append([(p.status, p.amount, p.nonce) for p in records.payments()])

    with sdk_server(env, price=usdc_price(env, PRICE), on_signature=look) as server:
        records.save_policy(SitePolicy(server.url, env.chain_id, env.usdc, "USDC", 6))
        paid = env.run(make_payer(env, app_store).request("GET", server.url + "/paid"))
    assert paid.payment is not None
    assert at_arrival == [[("pending", PRICE, paid.payment.nonce)]]
