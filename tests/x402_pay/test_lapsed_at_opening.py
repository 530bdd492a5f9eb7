"""A payment left pending by a real kill (``paygo-desktop x402 get`` killed with SIGKILL after its signed
authorization reached a server built only from the SDK, which then settled it on anvil) is found settled
and booked once its authorization lapsed, without any new payment to that site (the server is gone by
then): here by ``x402 list --check-chain``, as the app does when it opens (tests/gui/
test_x402_lapsed_at_opening). Without ``--check-chain`` the list only reads the store."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from paygo_desktop.paths import DataDir
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402.lapsed import SPENT_NOTE
from tests.x402_pay.conftest import Env, balance_by_rpc, sdk_server, usdc_price, x402_spending
from tests.x402_pay.test_cli import _cli, _data_dir
from tests.x402_pay.test_kill_during_payment import LIMITS, PRICE, _get, _kill, _until

LAPSE = 12  # seconds the server asks the authorization to stay valid (the SDK's facilitator wants 6 left)


def killed_after_it_settled(env: Env, tmp_path: Path) -> tuple[DataDir, X402Payment]:
    """A data directory whose one payment a kill left pending, although its server settled it on chain
    after the kill; and that payment. The server is stopped before this returns. (No event loop of its own:
    it may run while Qt's runs.)"""
    data = _data_dir(env, tmp_path)
    before = balance_by_rpc(env, env.payer.address)
    sent = threading.Event()
    price = usdc_price(env, PRICE)
    with sdk_server(
        env, price=price, delay=1.5, on_signature=lambda _: sent.set(), max_timeout=LAPSE
    ) as server:
        assert _cli(data, "policy", "set", server.url, *LIMITS).returncode == 0
        proc = _get(data.root, server.url + "/paid")
        try:
            assert sent.wait(60), "the signed payment never reached the server"
            _kill(proc)  # the server's route is still working: no answer came back
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert _until(lambda: 200 in server.answered, 30), server.answered  # it settled after the kill
    assert balance_by_rpc(env, env.payer.address) == before - PRICE
    store = Store.open(data.database_file)
    try:
        [payment] = X402Store(store).payments()
        assert payment.status == PENDING and x402_spending(store) == (0, [])
    finally:
        store.close()
    return data, payment


def wait_until_lapsed(payment: X402Payment) -> None:
    time.sleep(max(0.0, payment.valid_before + 1 - time.time()))


def test_list_check_chain_settles_and_books_a_payment_a_kill_left_pending(env: Env, tmp_path: Path) -> None:
    data, payment = killed_after_it_settled(env, tmp_path)
    wait_until_lapsed(payment)

    [listed] = json.loads(_cli(data, "list").stdout)  # the list alone reads the store: still pending
    assert listed["status"] == "pending"

    checked = _cli(data, "list", "--check-chain")
    assert checked.returncode == 0, checked.stderr
    [listed] = json.loads(checked.stdout)
    assert (listed["id"], listed["status"], listed["settledUnits"]) == (payment.id, "settled", str(PRICE))
    assert listed["transaction"] and listed["error"] == SPENT_NOTE
    said = json.loads(checked.stderr.splitlines()[-1])
    assert said == {"event": "x402-lapsed", "settled": [payment.id], "neverMoved": [], "stillCounting": []}
    store = Store.open(data.database_file)
    try:
        total, lines = x402_spending(store)
        assert total == PRICE and len(lines) == 1 and SPENT_NOTE in lines[0]  # booked in Activity, once
        [after] = X402Store(store).payments()
        assert after.status == SETTLED
    finally:
        store.close()

    again = _cli(data, "list", "--check-chain")  # nothing left to look up: nothing said, nothing booked
    assert again.returncode == 0 and "x402-lapsed" not in again.stderr
