"""A hostile server answers "failed" (or, for upto, "settled at nothing") but keeps the signed authorization
and settles it on chain (the SDK's own server and facilitator on the real anvil, its answer rewritten): the
app records what the server said, yet the payment keeps counting against the 24-hour limit after its
authorization lapsed, because ``x402.lapsed`` finds its nonce spent on chain and marks it settled (with the
node away it is not known and counts too). A second payment over the limit is refused unsigned. An exact
one found so is booked into Activity's spending, with the transaction the token's log names, and its proof
file verifies on chain (exact: found by the token's AuthorizationUsed log; upto: the proxy's settle of
its permit, what it moved read from the receipt)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from paygo_desktop.money import Asset
from paygo_desktop.receipts.verify import verify
from paygo_desktop.store.x402 import FAILED, SETTLED, X402Store
from paygo_desktop.x402.lapsed import SAID_NOTE
from paygo_desktop.x402.limits import X402Refused
from paygo_desktop.x402.offers import MAX_VALIDITY
from paygo_desktop.x402.payer import X402Payer
from tests.x402_pay.conftest import (
    Env,
    _free_port,
    approve_permit2,
    make_payer,
    sandbox_network,
    sdk_server,
    site_policy,
    usdc_price,
    x402_spending,
)
from tests.x402_pay.proofs import proof_of

PRICE = 40_000  # 0.04 USDC (upto: the signed maximum); the 24-hour limit of 0.06 fits one, not two
# its reason in two lines, one turned around: kept and listed as one line of visible characters
FAILED_SAID = {"success": False, "transaction": "", "errorReason": "settlement_failed\n\u202eforged"}
UNUSED_SAID = {"success": True, "transaction": "", "amount": "0"}  # upto: "settled at nothing"


@pytest.mark.parametrize(
    ("scheme", "says", "status"),
    [("exact", FAILED_SAID, FAILED), ("upto", FAILED_SAID, FAILED), ("upto", UNUSED_SAID, SETTLED)],
    ids=["exact-failed", "upto-failed", "upto-unused"],
)
def test_a_payment_the_server_called_failed_but_settled_counts_after_it_lapses(
    env: Env, app_store, scheme: str, says: dict[str, object], status: str
) -> None:
    records = X402Store(app_store)
    if scheme == "upto":
        approve_permit2(env, PRICE)
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, PRICE), scheme=scheme, says=says) as server:
        url = server.url + "/paid"
        records.save_policy(site_policy(env, server.url, max_per_day=60_000))
        paid = env.run(make_payer(env, app_store).request("GET", url))
        assert paid.payment is not None and paid.payment.status == status
        assert paid.payment.unused == (says is UNUSED_SAID)
        if status == FAILED:
            assert paid.payment.error == "settlement_failed forged"
        assert env.usdc_balance(env.payer.address) == before - PRICE  # yet the money moved

        def lapsed() -> float:
            return time.time() + MAX_VALIDITY + 1

        # past its validBefore by the app's clock with the node away: not known, so it still counts
        away = dataclasses.replace(sandbox_network(env), rpc_url=f"http://127.0.0.1:{_free_port()}")
        blind = X402Payer(app_store, env.payer, away, (Asset("USDC", 6, env.usdc),), clock=lapsed)
        with pytest.raises(X402Refused) as refused:
            env.run(blind.request("GET", url))
        assert refused.value.reason == "over_per_day"
        assert records.payments()[0].status == status

        # with the node: the chain shows the nonce spent, so it is marked settled and still counts
        with pytest.raises(X402Refused) as refused:
            env.run(make_payer(env, app_store, clock=lapsed).request("GET", url))
        assert refused.value.reason == "over_per_day"
        assert len(server.signatures) == 1  # nothing signed or sent again
    [payment] = records.payments()
    assert (payment.status, payment.error, payment.counted) == (SETTLED, SAID_NOTE, PRICE)
    # the transaction that spent it was found (exact: the token's AuthorizationUsed log; upto: the proxy's
    # settle of this permit) and what it moved read from it: booked into Activity, and its proof verifies
    assert payment.settled_amount == PRICE
    assert x402_spending(app_store) == (
        PRICE,
        [f"Paid 0.04 USDC to {server.url} for GET /paid (x402): {SAID_NOTE}"],
    )
    receipt = env.run(env.w3.eth.get_transaction_receipt(payment.tx_hash))
    assert int(receipt["status"]) == 1
    verdict = env.run(verify(proof_of(env, app_store, payment), env.url))
    assert verdict.ok, [(c.name, c.detail) for c in verdict.checks if c.ok is False]
