"""The lapsed check of every site at once (``x402.lapsed_sweep``: what the app runs when it opens and when
its x402 payments are listed), on the real anvil with servers built only from the SDK: a payment its server
called failed although it settled it on chain is found settled and booked in Activity without any new
payment to that site, an unspent lapsed one on another site is closed (failed, never moves), two checks at
once book a payment once, and with the node away everything stays as it was, nothing raised. (A payment
left pending by a real kill: test_lapsed_at_opening, and tests/gui/test_x402_lapsed_at_opening.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.lapsed import SAID_NOTE, UNUSED_NOTE
from paygo_desktop.x402.lapsed_sweep import CLOSED, FOUND_SPENT, changes_of, settle_every_lapsed
from paygo_desktop.x402.offers import MAX_VALIDITY
from tests.x402_pay.conftest import (
    Env,
    _free_port,
    make_payer,
    sandbox_network,
    sdk_server,
    site_policy,
    usdc_price,
    x402_spending,
)
from tests.x402_pay.test_failed_but_settled import FAILED_SAID
from tests.x402_pay.test_lapsed import _pending

PRICE = 40_000


def _failed_but_settled(env: Env, store: Store) -> X402Payment:
    """A payment its server answered "failed" although it settled it on chain (the SDK's own server, its
    answer rewritten); the server is gone afterwards."""
    before = env.usdc_balance(env.payer.address)
    with sdk_server(env, price=usdc_price(env, PRICE), says=FAILED_SAID) as server:
        X402Store(store).save_policy(site_policy(env, server.url))
        paid = env.run(make_payer(env, store).request("GET", server.url + "/paid"))
    assert paid.payment is not None and paid.payment.status == FAILED
    assert env.usdc_balance(env.payer.address) == before - PRICE  # the money moved
    assert x402_spending(store) == (0, [])  # not booked: the server said failed
    return paid.payment


def test_every_site_s_lapsed_payments_are_settled_or_closed_without_paying_again(
    env: Env, app_store: Store
) -> None:
    records = X402Store(app_store)
    said_failed = _failed_but_settled(env, app_store)
    unspent = _pending(env, app_store, "exact", env.chain_time() - 5)  # another site, never submitted
    assert said_failed.origin != unspent.origin
    later = int(time.time()) + MAX_VALIDITY + 1  # both authorizations lapsed by the app's clock

    check = env.run(settle_every_lapsed(app_store, sandbox_network(env), later))
    assert [p.id for p in check.found_spent] == [said_failed.id]
    assert check.closed == [unspent.id] and check.still == set()
    assert changes_of(check) == FOUND_SPENT | CLOSED

    settled = records.payment(said_failed.id)
    assert settled is not None
    assert (settled.status, settled.settled_amount, settled.error) == (SETTLED, PRICE, SAID_NOTE)
    assert settled.tx_hash  # the transaction the token's log names
    total, lines = x402_spending(app_store)
    assert total == PRICE and len(lines) == 1 and SAID_NOTE in lines[0]  # booked as the payer books
    closed = records.payment(unspent.id)
    assert closed is not None
    assert (closed.status, closed.error, closed.never_moves) == (FAILED, UNUSED_NOTE, True)

    again = env.run(settle_every_lapsed(app_store, sandbox_network(env), later))
    assert (again.found_spent, again.closed, again.still) == ([], [], set())  # nothing left to look up
    assert x402_spending(app_store)[0] == PRICE  # still booked once


def test_two_checks_at_once_book_a_payment_once(env: Env, app_store: Store) -> None:
    """The app's check at opening and the one of the x402 list (or a payer's, or another process's) may run
    together: the store marks the payment only if nobody marked it meanwhile, so it is booked once."""
    said_failed = _failed_but_settled(env, app_store)
    later = int(time.time()) + MAX_VALIDITY + 1
    network = sandbox_network(env)

    async def both() -> list[object]:
        return list(
            await asyncio.gather(
                settle_every_lapsed(app_store, network, later), settle_every_lapsed(app_store, network, later)
            )
        )

    checks = env.run(both())
    assert sorted(len(c.found_spent) for c in checks) == [0, 1]  # type: ignore[attr-defined]
    total, lines = x402_spending(app_store)
    assert (total, len(lines)) == (PRICE, 1)
    found = X402Store(app_store).payment(said_failed.id)
    assert found is not None and found.status == SETTLED


def test_with_the_node_away_every_lapsed_payment_stays_as_it_was(env: Env, app_store: Store) -> None:
    said_failed = _failed_but_settled(env, app_store)
    unspent = _pending(env, app_store, "exact", env.chain_time() - 5)
    later = int(time.time()) + MAX_VALIDITY + 1
    away = dataclasses.replace(sandbox_network(env), rpc_url=f"http://127.0.0.1:{_free_port()}")

    check = env.run(settle_every_lapsed(app_store, away, later))  # nothing raised
    assert check.still == {said_failed.id, unspent.id} and not check.found_spent and not check.closed
    assert [(p.status, p.never_moves) for p in X402Store(app_store).payments()] == [
        (PENDING, False),
        (FAILED, False),
    ]
    assert x402_spending(app_store) == (0, [])
