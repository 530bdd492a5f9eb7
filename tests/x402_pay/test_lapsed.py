"""An x402 payment resting on the server's word (pending; failed or settled unused, never submitted) whose
authorization lapsed by the app's clock, looked up on the real anvil (``x402.lapsed``; the spent cases are in
test_kill_during_payment, after a real kill -9, and test_failed_but_settled, a hostile server): unspent
while the chain's time has not passed its validBefore it keeps counting; unspent after that it can never
move (a pending one is marked failed) and is marked so, not looked up again; with the node away it counts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from paygo_desktop.commands.x402 import payment_json
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.lapsed import settle_lapsed, settlement_of
from tests.chain.conftest import _free_port
from tests.x402_pay.conftest import Env

ORIGIN = "http://127.0.0.1:9"


def _pending(
    env: Env,
    store: Store,
    scheme: str,
    valid_before: int,
    network: str | None = None,
    pay_to: str | None = None,
) -> X402Payment:
    records = X402Store(store)
    payment_id = records.record(
        X402Payment(
            id=0,
            created_at=datetime.now(UTC),
            origin=ORIGIN,
            url=ORIGIN + "/paid",
            method="GET",
            scheme=scheme,
            network=network or f"eip155:{env.chain_id}",
            payer=env.payer.address,
            pay_to=pay_to or env.provider.address,
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
    assert env.run(settle_lapsed(records, away, ORIGIN, later)).still == {payment.id}
    # the chain's clock is behind the app's: the server could still submit it
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)).still == {payment.id}
    assert records.payments()[0].status == PENDING

    env.advance(120)
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)).still == set()
    [failed] = records.payments()
    assert failed.status == FAILED and failed.error and "lapsed unused" in failed.error
    assert failed.never_moves
    assert (
        env.run(settle_lapsed(records, env.url, ORIGIN, valid_before - 1)).still == set()
    )  # not lapsed: untouched


@pytest.mark.parametrize(("scheme", "answer"), [("exact", FAILED), ("upto", FAILED), ("upto", "unused")])
def test_a_failed_or_unused_payment_never_submitted_counts_until_the_chain_is_past_it(
    env: Env, app_store: Store, scheme: str, answer: str
) -> None:
    """The server said "failed" (or settled an upto one at nothing) and never submitted it: it counts while
    the node is away or the chain's clock is behind, then never again, and is not looked up again."""
    records = X402Store(app_store)
    valid_before = env.chain_time() + 60
    payment = _pending(env, app_store, scheme, valid_before)
    if answer == FAILED:
        records.finish(payment.id, FAILED, error="settlement_failed")
    else:
        records.finish(payment.id, SETTLED, settled_amount=0)
    later = valid_before + 3600

    away = f"http://127.0.0.1:{_free_port()}"
    assert env.run(settle_lapsed(records, away, ORIGIN, later)).still == {payment.id}
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)).still == {payment.id}
    assert not records.payments()[0].never_moves

    env.advance(120)
    assert env.run(settle_lapsed(records, env.url, ORIGIN, later)).still == set()
    [closed] = records.payments()
    assert closed.never_moves and not closed.may_still_move(later)
    assert payment_json(closed)["countsAgainstLimits"] is False  # as `x402 list` says it
    assert not closed.may_still_move(valid_before - 1)  # whatever the app's clock says
    assert (closed.status, closed.error) == (
        (FAILED, "settlement_failed") if answer == FAILED else (SETTLED, None)
    )
    # marked: it is not looked up again (the node away changes nothing)
    assert env.run(settle_lapsed(records, away, ORIGIN, later)).still == set()


def test_a_payment_on_another_chain_is_not_looked_up_on_this_node_and_keeps_counting(
    env: Env, app_store: Store
) -> None:
    """The node the wallet uses now is another chain's (the network was switched): its answer says nothing
    of this payment's nonce, so the payment is neither settled nor closed by it, and keeps counting."""
    records = X402Store(app_store)
    valid_before = env.chain_time() + 60
    other = f"eip155:{env.chain_id + 1}"
    payment = _pending(env, app_store, "exact", valid_before, network=other)
    env.advance(120)  # this chain's time is past it, and the nonce is unused here
    assert env.run(settle_lapsed(records, env.url, ORIGIN, valid_before + 3600)).still == {payment.id}
    [kept] = records.payments()
    assert (kept.status, kept.never_moves) == (PENDING, False)


def test_a_settled_payment_and_its_booking_are_one_write(env: Env, app_store: Store) -> None:
    """A payment is marked settled and booked in Activity in one transaction (``X402Store.finish(booked=)``):
    if the booking fails, or the app dies while writing it, the payment is still on the server's word (so
    ``x402.lapsed`` finds it again next time) and nothing is booked; never settled without its booking."""
    from paygo_desktop.store.activity import ActivityLog, activity_row

    records = X402Store(app_store)
    payment = _pending(env, app_store, "exact", env.chain_time() + 60)
    records.finish(payment.id, FAILED, error="settlement_failed")

    def broken(_settled: X402Payment) -> list[object]:
        raise RuntimeError("the app stops while booking")

    with pytest.raises(RuntimeError):
        records.finish(payment.id, SETTLED, tx_hash="0x" + "ab" * 32, settled_amount=40_000, booked=broken)
    [left] = records.payments()
    assert (left.status, left.error, left.on_servers_word) == (FAILED, "settlement_failed", True)
    assert ActivityLog(app_store).recent() == []

    def booking(settled: X402Payment) -> list[object]:
        return [activity_row("x402", f"Paid {settled.moved} ({settled.status})")]

    records.finish(payment.id, SETTLED, tx_hash="0x" + "ab" * 32, settled_amount=40_000, booked=booking)
    [done] = records.payments()
    assert (done.status, done.settled_amount, done.on_servers_word) == (SETTLED, 40_000, False)
    assert [e.message for e in ActivityLog(app_store).recent()] == ["Paid 40000 (settled)"]


def test_upgrade_from_0013_marks_the_payments_already_found_lapsed_unused(tmp_path: Path) -> None:
    """Payments marked failed by the chain's answer before migration 0014 are not looked up again; every
    other one is, once."""
    path = tmp_path / "app.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0013")
    with old.engine.begin() as conn:
        for error in ("never settled: its authorization lapsed unused", "settlement_failed"):
            conn.execute(
                text(
                    "INSERT INTO x402_payments (created_at, origin, url, method, scheme, network, "
                    "payer, pay_to, asset, asset_symbol, decimals, amount, nonce, valid_before, status, "
                    "error) VALUES ('2026-01-01 00:00:00', :o, :o, 'GET', 'exact', 'eip155:1', '0x1', "
                    "'0x2', '0x3', 'USDC', 6, '40000', '0x4', 1, 'failed', :e)"
                ),
                {"o": ORIGIN, "e": error},
            )
    old.close()
    store = Store.open(path)
    try:
        marked = {p.error: p.never_moves for p in X402Store(store).payments()}
    finally:
        store.close()
    assert marked == {"never settled: its authorization lapsed unused": True, "settlement_failed": False}


def test_transfers_of_nothing_a_hostile_pay_to_logs_are_not_read(env: Env, app_store: Store) -> None:
    """``transferFrom(payer, payTo, 0)`` needs no allowance: anyone, a hostile payTo first, can log as
    many Transfers from the payer to payTo as it likes, for the gas alone. Looking up an upto payment's
    settlement reads the transaction behind a Transfer that moved something (here the payer's plain
    transfer: not x402's proxy settling the permit, so not this payment's settlement), never those."""
    from eth_account import Account

    from paygo_desktop.chain.rpc import async_web3

    pay_to = Account.create().address  # a fresh payTo: only this test's Transfers go to it
    payment = _pending(env, app_store, "upto", env.chain_time() + 600, pay_to=pay_to)
    token = env.token(env.usdc)
    for _ in range(30):
        env.transact(token.functions.transferFrom(env.payer.address, pay_to, 0))  # by anyone: the deployer
    env.mint_usdc(env.payer.address, 5)
    env.transact(token.functions.transfer(pay_to, 5), env.payer)

    w3 = async_web3(env.url)
    read: list[str] = []
    get_transaction = w3.eth.get_transaction

    async def counted(tx_hash: str) -> object:
        read.append(tx_hash)
        return await get_transaction(tx_hash)

    w3.eth.get_transaction = counted  # type: ignore[method-assign]

    async def look_up() -> object:
        try:
            return await settlement_of(w3, payment)
        finally:
            await w3.provider.disconnect()

    assert env.run(look_up()) is None
    assert len(read) == 1  # the transfer of 5; none of the thirty transfers of nothing
