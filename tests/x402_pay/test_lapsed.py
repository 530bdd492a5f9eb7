"""A pending x402 payment whose authorization lapsed by the app's clock, looked up on the real anvil
(``x402.lapsed``; the spent case, after a real kill -9, is in test_kill_during_payment): unspent while the
chain's time has not passed its validBefore it stays pending and keeps counting; unspent after that it is
marked failed (it can never move); with the node away it stays pending and counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, PENDING, X402Payment, X402Store
from paygo_desktop.x402.lapsed import settle_lapsed
from tests.chain.conftest import _free_port
from tests.x402_pay.conftest import Env

ORIGIN = "http://127.0.0.1:9"


def _pending(env: Env, store: Store, scheme: str, valid_before: int) -> X402Payment:
    records = X402Store(store)
    payment_id = records.record(
        X402Payment(
            id=0,
            created_at=datetime.now(UTC),
            origin=ORIGIN,
            url=ORIGIN + "/paid",
            method="GET",
            scheme=scheme,
            network=f"eip155:{env.chain_id}",
            payer=env.payer.address,
            pay_to=env.provider.address,
            asset=env.usdc,
            asset_symbol="USDC",
            decimals=6,
            amount=40_000,
            nonce="0x" + os.urandom(32).hex(),  # never used on chain
            valid_before=valid_before,
            status=PENDING,
            tx_hash=None,
            error=None,
            settled_at=None,
        )
    )
    found = records.payment(payment_id)
    assert found is not None
    return found


@pytest.mark.parametrize("scheme", ["exact", "upto"])
def test_an_unspent_lapsed_payment_counts_until_the_chain_is_past_it_then_fails(
    env: Env, app_store: Store, scheme: str
) -> None:
    records = X402Store(app_store)
    valid_before = env.chain_time() + 60
    payment = _pending(env, app_store, scheme, valid_before)
    later = valid_before + 3600  # the app's clock, well past it

    away = f"http://127.0.0.1:{_free_port()}"  # nothing listens: not known, so it keeps counting
    assert env.run(settle_lapsed(records, away, ORIGIN, later)) == {payment.id}
    # the chain's clock is behind the app's: the server could still submit it
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)) == {payment.id}
    assert records.payments()[0].status == PENDING

    env.advance(120)
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)) == set()
    [failed] = records.payments()
    assert failed.status == FAILED and failed.error and "lapsed unused" in failed.error
    assert (
        env.run(settle_lapsed(records, env.url, ORIGIN, valid_before - 1)) == set()
    )  # not lapsed: untouched
