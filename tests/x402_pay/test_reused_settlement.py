"""A hostile x402 server that answers "settled" naming a transaction that did not settle THIS payment: the
hash of an EARLIER real settlement from the same payer to the same payee (recorded in this app, or made
elsewhere), or none at all. It keeps the signed authorization, still valid, to submit later. The payment is
not booked as settled at what the old transaction moved: it stays pending with a note, counts at its most
against the user's limits (a further payment over the total is refused, nothing signed), and once the
server does submit it, the lapsed check settles it at what the chain shows, with its real transaction, and
books it once. On the real anvil with the official SDK's server and facilitator, for ``upto`` (Permit2) and
``exact`` (EIP-3009)."""

from __future__ import annotations

from pathlib import Path

import pytest
from x402.http.utils import decode_payment_signature_header

from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import PENDING, SETTLED, X402Store
from paygo_desktop.x402.lapsed import UNSHOWN_NOTE
from paygo_desktop.x402.lapsed_sweep import settle_every_lapsed
from paygo_desktop.x402.limits import X402Refused
from paygo_desktop.x402.settlement import authorization_spent
from tests.x402_pay.conftest import (
    Env,
    approve_permit2,
    facilitator_for,
    make_payer,
    sandbox_network,
    sdk_server,
    site_policy,
    usdc_price,
    x402_spending,
)

MAX = 50_000  # upto: the most a request may cost; exact: its price
USED = 1  # what the honest upto server settles


def _spent(env: Env, payment) -> bool:
    from paygo_desktop.chain.rpc import async_web3

    return env.run(authorization_spent(async_web3(env.url), payment))


@pytest.mark.parametrize(
    ("scheme", "first_here", "why"),
    [
        ("upto", True, "already recorded as payment"),
        ("upto", False, "did not settle this payment's permit"),
        ("exact", True, "did not use this payment's authorization"),
    ],
)
def test_a_reused_settlement_hash_is_not_this_payments_settlement(
    env: Env, app_store: Store, tmp_path: Path, scheme: str, first_here: bool, why: str
) -> None:
    approve_permit2(env, 10 * MAX)
    records = X402Store(app_store)
    first_taken = USED if scheme == "upto" else MAX
    # the first, honest payment to the same payee: in this app's records, or made from another install
    elsewhere = Store.open(tmp_path / "elsewhere.sqlite3")
    first_store = app_store if first_here else elsewhere
    try:
        settle = USED if scheme == "upto" else None
        with sdk_server(env, price=usdc_price(env, MAX), scheme=scheme, settle=settle) as honest:
            X402Store(first_store).save_policy(site_policy(env, honest.url))
            first = env.run(make_payer(env, first_store).request("GET", honest.url + "/paid")).payment
            assert first is not None and first.status == SETTLED and first.tx_hash
            assert first.settled_amount == first_taken
    finally:
        elsewhere.close()
    old_tx = first.tx_hash

    before = env.usdc_balance(env.payer.address)
    says = {"success": True, "transaction": old_tx, "network": f"eip155:{env.chain_id}", "amount": str(USED)}
    with sdk_server(env, price=usdc_price(env, MAX), scheme=scheme, keeps=says) as hostile:
        # the site's total holds this payment at its most and a little more: never two of them
        records.save_policy(site_policy(env, hostile.url, max_total=MAX + 2 * USED))
        payer = make_payer(env, app_store)
        second = env.run(payer.request("GET", hostile.url + "/paid")).payment
        assert second is not None
        # not settled at the old transaction's amount: pending, counted at its most, not booked
        assert (second.status, second.tx_hash, second.settled_amount) == (PENDING, None, None)
        assert second.counted == MAX and second.on_servers_word
        assert second.error and old_tx in second.error and why in second.error
        assert "counts at its most" in second.error
        assert not _spent(env, second)  # the server holds a live authorization for the whole of it
        spending_before, _ = x402_spending(app_store)

        # a further payment would let the server hold two: refused by the total, nothing signed
        with pytest.raises(X402Refused) as refused:
            env.run(payer.request("GET", hostile.url + "/paid"))
        assert refused.value.reason == "over_total"
        assert len(hostile.signatures) == 1

        # the server submits the authorization it kept, while it is valid
        facilitator = facilitator_for(env, env.provider2, f"eip155:{env.chain_id}")
        payload = decode_payment_signature_header(hostile.signatures[0])
        late = env.run(facilitator.settle(payload, payload.accepted))
        assert late.success and late.transaction and late.transaction != old_tx
    moved = before - env.usdc_balance(env.payer.address)
    assert moved == MAX

    # once it lapsed by the app's clock, the lapsed check finds it spent: settled at what the chain shows,
    # with the transaction that settled it, and booked once in Activity
    check = env.run(settle_every_lapsed(app_store, sandbox_network(env), second.valid_before + 1))
    assert [p.id for p in check.found_spent] == [second.id]
    settled = records.payment(second.id)
    assert settled is not None
    assert (settled.status, settled.settled_amount, settled.error) == (SETTLED, moved, UNSHOWN_NOTE)
    assert settled.tx_hash and settled.tx_hash.lower() == late.transaction.lower()
    assert sum(p.counted for p in records.payments(hostile.url)) == moved  # the limits count what moved
    spending_after, _ = x402_spending(app_store)
    assert spending_after - spending_before == moved


def test_an_upto_server_saying_it_took_a_little_naming_no_transaction_counts_at_the_maximum(
    env: Env, app_store: Store
) -> None:
    """ "Settled 1" with no transaction: nothing spent the permit, so the payment stays pending at its
    maximum (it was booked settled at 1 before, and never looked at again)."""
    approve_permit2(env, 10 * MAX)
    records = X402Store(app_store)
    says = {"success": True, "transaction": "", "network": f"eip155:{env.chain_id}", "amount": str(USED)}
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", keeps=says) as server:
        records.save_policy(site_policy(env, server.url, max_total=MAX + 2 * USED))
        payer = make_payer(env, app_store)
        paid = env.run(payer.request("GET", server.url + "/paid")).payment
        assert paid is not None and (paid.status, paid.counted) == (PENDING, MAX)
        assert paid.error and "it named no transaction" in paid.error
        with pytest.raises(X402Refused) as refused:
            env.run(payer.request("GET", server.url + "/paid"))
        assert refused.value.reason == "over_total"
