"""``paygo-desktop x402 get`` killed with SIGKILL at the worst moments of a payment, in a real child process
against a server built only from the SDK (its middleware and facilitator, settling on anvil):

- after the payment was stored ``pending`` and its signed header sent, while the server's route still works
  (a slow upstream; the SDK settles after it): after the restart the payment is in the store, pending, at
  its most (``upto``: the signed maximum, not what the server settles); it counts so against the site's
  24-hour limit, so a second payment that would fit only without it is refused unsigned; nothing signs or
  sends it again, and the money moved at most once on chain (balances on anvil). Once its validBefore has
  passed by the app's clock, the app finds its nonce spent on chain, marks it settled, and it still counts;
- while the payment's store write is under way: the test holds SQLite's write lock from the moment the
  first, unpaid request reaches the server, so the child signs and then waits inside the write (its busy
  timeout) when it is killed. Nothing was committed and nothing was sent: no row, no signature at the
  server, no money moved; the next run pays normally. (The instant inside SQLite's own commit is not
  reachable on purpose from outside; SQLite's atomic commit is what covers it.)"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import SETTLED, X402Store
from paygo_desktop.x402.lapsed import settle_lapsed
from paygo_desktop.x402.limits import X402Refused
from paygo_desktop.x402.offers import MAX_VALIDITY
from tests.x402_pay.conftest import Env, approve_permit2, make_payer, sdk_server, usdc_price, x402_spending
from tests.x402_pay.test_cli import PASSWORD, REPO, _cli, _data_dir

PRICE = 40_000  # 0.04 USDC: exact's price, upto's signed maximum
USED = 10_000  # what the upto server settles
SLOW = 4.0  # seconds the paid route works before answering
# one payment per request and 0.06 in 24 hours: a second 0.04 payment fits only if the first counts below 0.02
LIMITS = ("--per-request", "0.04", "--per-day", "0.06")


def _get(data_dir: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(data_dir), "x402", "get", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "PAYGO_PASSWORD": PASSWORD},
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("scheme", ["exact", "upto"])
def test_killed_after_the_signed_payment_left_while_the_server_works(
    env: Env, tmp_path: Path, scheme: str
) -> None:
    data = _data_dir(env, tmp_path)
    if scheme == "upto":
        approve_permit2(env, 10 * PRICE)
    payer_before = env.usdc_balance(env.payer.address)
    payee_before = env.usdc_balance(env.provider.address)
    sent = threading.Event()
    settle = USED if scheme == "upto" else None
    with sdk_server(
        env,
        price=usdc_price(env, PRICE),
        scheme=scheme,
        settle=settle,
        delay=SLOW,
        on_signature=lambda _: sent.set(),
    ) as server:
        url = server.url + "/paid"
        assert _cli(data, "policy", "set", server.url, *LIMITS).returncode == 0
        proc = _get(data.root, url)
        try:
            assert sent.wait(60), "the signed payment never reached the server"
            _kill(proc)  # the server's route is still working: no answer came back
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert server.answered == [402]  # only the unpaid first request was answered yet

        [payment] = json.loads(_cli(data, "list").stdout)  # the restarted app knows the payment
        assert (payment["status"], payment["scheme"], payment["amountUnits"]) == (
            "pending",
            scheme,
            str(PRICE),
        )
        assert payment["countsAgainstLimits"] is True  # and says it counts

        # it counts at its most against the 24-hour limit: 0.04 + 0.04 > 0.06, refused before signing
        again = _cli(data, "get", url)
        assert again.returncode == 2, again.stderr
        assert json.loads(again.stderr.splitlines()[-1])["refused"] == "over_per_day"

        # the server finishes the killed request (it settles after its route) and sees no second signature
        assert _until(lambda: 200 in server.answered, 30), server.answered
        moved = PRICE if settle is None else settle
        assert env.usdc_balance(env.payer.address) == payer_before - moved
        assert env.usdc_balance(env.provider.address) == payee_before + moved

        # past its validBefore by the app's clock the signature has lapsed, but the money moved: the app
        # finds its nonce spent on chain and marks it settled at what its transaction moved (found by the
        # token's logs). exact: it still counts 0.04, so the same 0.04 is refused again, unsigned, and it
        # is booked in Activity once. upto: it counts what it moved (0.01), so another 0.04 would fit the
        # 0.06 a day: looked up directly here, without paying again (its booking by the payer is in
        # test_failed_but_settled)
        store = Store.open(data.database_file)
        lapsed_at = time.time() + MAX_VALIDITY + 1
        try:
            if scheme == "exact":
                later = make_payer(env, store, clock=lambda: lapsed_at)
                with pytest.raises(X402Refused) as refused:
                    env.run(later.request("GET", url))
                assert refused.value.reason == "over_per_day"
                assert x402_spending(store)[0] == moved  # booked once, at what moved
            else:
                found = env.run(settle_lapsed(X402Store(store), env.url, server.url, int(lapsed_at)))
                assert [p.id for p in found.found_spent] == [payment["id"]]
            [after] = X402Store(store).payments()
        finally:
            store.close()
        assert (after.id, after.status) == (payment["id"], SETTLED)
        assert after.settled_amount == moved and after.tx_hash
        assert after.counted == moved
        assert len(server.signatures) == 1  # nothing signed or sent it again
    assert env.usdc_balance(env.payer.address) == payer_before - moved  # the money moved once


def test_killed_inside_the_payment_store_write_sends_nothing(env: Env, tmp_path: Path) -> None:
    data = _data_dir(env, tmp_path)
    payer_before = env.usdc_balance(env.payer.address)
    holder = sqlite3.connect(data.database_file, isolation_level=None, check_same_thread=False)
    locked = threading.Event()

    def lock_the_store() -> None:  # before the first 402 is answered: the child's next write must wait
        if not locked.is_set():
            holder.execute("BEGIN IMMEDIATE")
            locked.set()

    try:
        with sdk_server(env, price=usdc_price(env, PRICE), on_unpaid=lock_the_store) as server:
            url = server.url + "/paid"
            assert _cli(data, "policy", "set", server.url, *LIMITS).returncode == 0
            proc = _get(data.root, url)
            try:
                assert _until(lambda: server.answered == [402], 60), server.answered
                # signing and sending take well under a second; the child waits in the store's write,
                # killed before its 5 s busy timeout would give up
                time.sleep(2.5)
                assert server.signatures == []
                _kill(proc)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            holder.execute("ROLLBACK")

            assert json.loads(_cli(data, "list").stdout) == []  # nothing committed
            assert server.signatures == [] and env.usdc_balance(env.payer.address) == payer_before

            paid = _cli(data, "get", url)  # the store is whole: the next run pays as usual
            assert paid.returncode == 0, paid.stderr
            assert json.loads(paid.stderr.splitlines()[-1])["status"] == "settled"
            assert len(server.signatures) == 1
    finally:
        holder.close()
    assert env.usdc_balance(env.payer.address) == payer_before - PRICE
