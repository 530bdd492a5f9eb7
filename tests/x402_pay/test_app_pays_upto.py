"""The app pays x402's ``upto`` scheme to a server built only from the official SDK (its FastAPI middleware
and its facilitator, settling through the sandbox's Permit2 and upto proxy on anvil): the payer signs a
maximum, the server settles less, the payer loses exactly what was settled (balances on chain), and the
app records both. The user's limits apply to the maximum; a payer without an allowance to Permit2 is
refused unless the server offers the EIP-2612 gas-sponsoring extension (then the permit is for exactly
the maximum)."""

from __future__ import annotations

import json
import time

import pytest

from paygo_desktop.errors import UserFacingError
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.x402 import SETTLED, X402Store
from paygo_desktop.x402 import permit2
from paygo_desktop.x402.limits import X402Refused
from tests.x402_pay.conftest import Env, approve_permit2, make_payer, sdk_server, site_policy, usdc_price

MAX = 50_000  # what the server quotes: the most a request may cost (0.05 USDC)
USED = 20_000  # what the server settles: what the request used (0.02 USDC)


def _permit2_allowance(env: Env) -> int:
    return int(env.run(env.token(env.usdc).functions.allowance(env.payer.address, permit2.PERMIT2).call()))


def _refused(env: Env, payer, url: str, reason: str, **kw) -> X402Refused:
    with pytest.raises(X402Refused) as info:
        env.run(payer.request("GET", url, **kw))
    assert info.value.reason == reason, str(info.value)
    return info.value


def test_the_app_pays_what_an_upto_server_settles_and_records_the_maximum_beside_it(
    env: Env, app_store
) -> None:
    approve_permit2(env, 10 * MAX)
    records = X402Store(app_store)
    payer_before = env.usdc_balance(env.payer.address)
    payee_before = env.usdc_balance(env.provider.address)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=USED) as server:
        # the 24-hour limit holds one maximum and one settled payment: the settled one counts what it moved
        records.save_policy(site_policy(env, server.url, max_per_request=MAX, max_per_day=MAX + USED))
        payer = make_payer(env, app_store)
        paid = env.run(payer.request("GET", server.url + "/paid"))
        assert paid.status == 200 and json.loads(paid.body) == {"answer": 42}
        payment = paid.payment
        assert payment is not None and payment.scheme == "upto" and payment.status == SETTLED
        assert (payment.amount, payment.settled_amount) == (MAX, USED)
        receipt = env.rpc("eth_getTransactionReceipt", [payment.tx_hash])
        assert receipt is not None and int(receipt["status"], 16) == 1
        assert env.usdc_balance(env.payer.address) == payer_before - USED
        assert env.usdc_balance(env.provider.address) == payee_before + USED

        second = env.run(payer.request("GET", server.url + "/paid"))  # 0.02 settled + 0.05 at most: fits
        assert second.payment is not None and second.payment.settled_amount == USED
        _refused(env, payer, server.url + "/paid", "over_per_day")  # 0.04 settled + 0.05 would not
        assert len(server.signatures) == 2

    assert env.usdc_balance(env.payer.address) == payer_before - 2 * USED
    assert env.usdc_balance(env.provider.address) == payee_before + 2 * USED
    assert [(p.amount, p.settled_amount, p.status) for p in records.payments()] == [(MAX, USED, SETTLED)] * 2
    entry = next(e for e in ActivityLog(app_store).recent() if e.kind == "x402")
    assert entry.message == f"Paid 0.02 USDC, of at most 0.05 USDC to {server.url} for GET /paid (x402)"


def test_a_maximum_above_a_limit_is_refused_unsigned_though_the_server_would_take_less(
    env: Env, app_store
) -> None:
    approve_permit2(env, 10 * MAX)
    records = X402Store(app_store)
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=1) as server:
        url = server.url + "/paid"
        payer = make_payer(env, app_store)
        records.save_policy(site_policy(env, server.url, max_per_request=MAX - 1))
        _refused(env, payer, url, "over_per_request")
        records.save_policy(site_policy(env, server.url, max_per_day=MAX - 1))
        _refused(env, payer, url, "over_per_day")
        records.save_policy(site_policy(env, server.url, max_total=MAX - 1))
        _refused(env, payer, url, "over_total")
        records.save_policy(site_policy(env, server.url))
        _refused(env, payer, url, "over_max", max_amount="0.049999")
        assert server.signatures == []
    assert records.payments() == [] and env.usdc_balance(env.payer.address) == before


def test_upto_on_another_network_or_in_an_unknown_token_is_refused(env: Env, app_store) -> None:
    approve_permit2(env, 10 * MAX)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", network="eip155:84532") as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "wrong_network")
        assert "eip155:84532" in str(error) and server.signatures == []
    other = env.deploy("TestToken", "Other", "OTH", 6)
    with sdk_server(env, price=usdc_price(env, MAX, asset=other), scheme="upto") as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "wrong_asset")
        assert other.lower() in str(error).lower() and server.signatures == []
    assert X402Store(app_store).payments() == []


def test_without_an_allowance_to_permit2_the_app_asks_for_an_approval_first(env: Env, app_store) -> None:
    approve_permit2(env, MAX - 1)  # not enough for the maximum
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=USED) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        error = _refused(env, make_payer(env, app_store), server.url + "/paid", "needs_permit2_approval")
        assert "approve-permit2" in str(error) and server.signatures == []
    assert X402Store(app_store).payments() == []


def test_a_server_offering_eip2612_sponsoring_gets_a_permit_for_exactly_the_maximum(
    env: Env, app_store
) -> None:
    assert _permit2_allowance(env) == 0
    before = env.usdc_balance(env.payer.address)
    with sdk_server(
        env, price=usdc_price(env, MAX), scheme="upto", settle=USED, sponsor_permit=True
    ) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url, max_per_request=MAX))
        paid = env.run(make_payer(env, app_store).request("GET", server.url + "/paid"))
        assert paid.status == 200, paid.body
        assert paid.payment is not None and paid.payment.settled_amount == USED
    assert env.usdc_balance(env.payer.address) == before - USED
    assert _permit2_allowance(env) == MAX - USED  # the permit was for the maximum, never more


def test_a_pending_upto_payment_counts_at_its_maximum_until_its_deadline(env: Env, app_store) -> None:
    from datetime import UTC, datetime

    from paygo_desktop.store.x402 import X402Payment

    records = X402Store(app_store)
    origin = "http://127.0.0.1:9"
    payment = X402Payment(
        0, datetime.now(UTC), origin, origin + "/paid", "GET", "upto", f"eip155:{env.chain_id}",
        env.payer.address, env.provider.address, env.usdc, "USDC", 6, MAX, "0x01",
        int(time.time()) + 600, "pending", None, None, None,
    )  # fmt: skip
    records.record(payment)
    [stored] = records.payments()
    assert stored.counted == MAX  # the server may still settle up to the maximum
    records.finish(stored.id, SETTLED, settled_amount=USED)
    [stored] = records.payments()
    assert stored.counted == USED


def test_a_replayed_upto_authorization_moves_nothing(env: Env, app_store) -> None:
    import httpx

    approve_permit2(env, 10 * MAX)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=USED) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url))
        assert env.run(make_payer(env, app_store).request("GET", server.url + "/paid")).status == 200
        after = (env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address))
        [signature] = server.signatures
        replay = httpx.get(server.url + "/paid", headers={"PAYMENT-SIGNATURE": signature}, timeout=30)
        assert replay.status_code == 402  # Permit2's nonce is spent
    assert (env.usdc_balance(env.payer.address), env.usdc_balance(env.provider.address)) == after


def test_ask_first_asks_about_the_maximum_and_a_no_signs_nothing(env: Env, app_store) -> None:
    approve_permit2(env, 10 * MAX)
    asked = []

    async def no(quote) -> bool:
        asked.append(quote.asked())
        return False

    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=USED) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url, ask_first=True))
        _refused(env, make_payer(env, app_store, confirm=no), server.url + "/paid", "declined")
        assert asked == ["at most 0.05 USDC"] and server.signatures == []


def test_a_server_saying_it_took_less_than_it_did_is_recorded_at_what_the_chain_shows(
    env: Env, app_store
) -> None:
    approve_permit2(env, 10 * MAX)
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=MAX, says_settled="1") as server:
        X402Store(app_store).save_policy(site_policy(env, server.url, max_per_day=MAX + USED))
        payer = make_payer(env, app_store)
        paid = env.run(payer.request("GET", server.url + "/paid"))
        assert paid.payment is not None and paid.payment.settled_amount == MAX  # not the 1 it said
        assert "the chain shows 50000" in (paid.payment.error or "")
        _refused(env, payer, server.url + "/paid", "over_per_day")  # 0.05 taken: another 0.05 does not fit
    assert env.usdc_balance(env.payer.address) == before - MAX


def test_settled_at_nothing_counts_at_its_maximum_until_the_chain_shows_it_lapsed(
    env: Env, app_store
) -> None:
    approve_permit2(env, 10 * MAX)
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, MAX), scheme="upto", settle=0) as server:
        X402Store(app_store).save_policy(site_policy(env, server.url, max_total=MAX))
        paid = env.run(make_payer(env, app_store).request("GET", server.url + "/paid"))
        assert paid.status == 200 and paid.payment is not None
        assert (paid.payment.status, paid.payment.settled_amount, paid.payment.tx_hash) == (SETTLED, 0, None)
        # no transaction spent the Permit2 nonce: the signature could still move 0.05 until it lapses
        _refused(env, make_payer(env, app_store), server.url + "/paid", "over_total")
        # lapsed by the app's clock but not by the chain's: the server could still submit it
        later = make_payer(env, app_store, clock=lambda: time.time() + 3600)
        _refused(env, later, server.url + "/paid", "over_total")
        # the chain's time past it and its nonce unspent: it can never move, so it counts no more
        env.advance(paid.payment.valid_before - env.chain_time() + 1)
        try:
            env.run(later.request("GET", server.url + "/paid"))
        except X402Refused:
            raise
        except UserFacingError:  # the chain, now ahead of the server's clock, may see its deadline passed
            pass
        assert len(server.signatures) == 2  # not refused: signed and sent
        assert X402Store(app_store).payments()[-1].never_moves
    assert env.usdc_balance(env.payer.address) == before
