"""Signed requests' nonces (``Store.use_nonce``): keys made up for nothing cannot lock out a wallet with a
stake here, one key past its share is refused alone, and a nonce is never taken twice while its message is
valid. Over loopback against the real provider and anvil; the caps are made small for the test (the same
way as in test_vendor_auth), the requests that fill them are real.

Before the stake check, ~67 throwaway keys × 300 nonces (cheap ``GET /jobs`` calls) filled the table's
20,000 and every other wallet got 429 for the messages' lifetime (up to 10 minutes): no Close, no stop by
the wallet's signature, no ``GET /channels``, no ``my-sessions``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select

from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider import core
from paygo_desktop.provider.job_store import JobRow
from paygo_desktop.provider.store import NonceRow, Store
from tests.provider.conftest import Server, auth_headers, open_channel, voucher

SVC = "market-data-feed"
TICK_COST = 1000 * 5
SHARE, ALL = 4, 24  # per wallet, in all (the provider's: 300 and 20,000)


@pytest.fixture
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "NONCES_PER_WALLET", SHARE)
    monkeypatch.setattr(core, "NONCES_IN_ALL", ALL)


def _nonces(server: Server) -> int:
    store: Store = server.app.state.core.store
    with store.tx() as db:
        return int(db.scalar(select(func.count()).select_from(NonceRow)) or 0)


def test_throwaway_keys_filling_the_nonces_lock_out_no_wallet_with_a_stake(
    server: Server, client: ProviderClient, small_caps: None
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    channel_path = routes.CHANNEL.format(channel_id="0x" + ch.id.hex())
    stop_path = routes.STREAM_STOP.format(session_id=s.session_id)
    with server.http() as http:

        def signed_get(key: Any, target: str) -> int:
            return http.get(target, headers=auth_headers(server, key, "GET", target)).status_code

        # the flood: throwaway keys, each up to its share, with the cheapest signed request there is
        flood = [Account.create() for _ in range(ALL // SHARE)]
        spent: list[dict[str, str]] = []
        for key in flood:
            for _ in range(SHARE):
                spent.append(auth_headers(server, key, "GET", pj.JOBS))
                assert http.get(pj.JOBS, headers=spent[-1]).status_code == 200
        assert _nonces(server) == ALL

        # one of them past its share is refused, and so is a new throwaway key: the table is full
        assert signed_get(flood[0], pj.JOBS) == 429
        latecomer = http.get(pj.JOBS, headers=auth_headers(server, Account.create(), "GET", pj.JOBS))
        assert latecomer.status_code == 429 and latecomer.json()["code"] == "too_many_requests"

        # the payer of a channel this provider holds is served all the same
        assert signed_get(env.payer, channel_path) == 200
        my_sessions = auth_headers(server, env.payer, "GET", routes.MY_SESSIONS)
        mine = http.get(routes.MY_SESSIONS, headers=my_sessions)
        assert mine.status_code == 200
        assert [i["sessionId"] for i in mine.json()["items"]] == [s.session_id]

        # a message is taken once, whatever the caps say: the payer's own, and a flood key's
        again = auth_headers(server, env.payer, "GET", channel_path)
        assert http.get(channel_path, headers=again).status_code == 200
        replay = http.get(channel_path, headers=again)
        assert replay.status_code == 401 and replay.json()["code"] == "nonce_reused"
        for headers in (spent[0], spent[-1]):
            replay = http.get(pj.JOBS, headers=headers)
            assert replay.status_code == 401 and replay.json()["code"] == "nonce_reused"

        # the payer stops its session by its signature (the app's recovery does so): its fourth message
        stopped = http.patch(stop_path, headers=auth_headers(server, env.payer, "PATCH", stop_path))
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["receipt"]["sessionId"] == s.session_id
        # and its own share still holds: that was its fourth, a fifth is refused
        assert signed_get(env.payer, channel_path) == 429
    assert _nonces(server) == ALL + SHARE


def test_a_stake_is_a_held_channel_or_an_accepted_job(tmp_path: Path) -> None:
    """``Store.has_stake`` on a real database: a channel's payer and (another) signer, an accepted job's
    client; not an unfunded job's client, not a stranger."""
    from paygo_desktop.provider.store import ChannelRow

    store = Store(tmp_path / "provider.sqlite3")
    payer, signer, client, idle, stranger = (Account.create().address for _ in range(5))
    try:
        with store.tx() as db:
            db.add(
                ChannelRow(
                    id="0x" + os.urandom(32).hex(),
                    payer=payer,
                    signer=signer,
                    provider=Account.create().address,
                    token=Account.create().address,
                    withdraw_delay=86400,
                    salt="0x" + os.urandom(32).hex(),
                )
            )
            for who, accepted in ((client, True), (idle, False)):
                db.add(_job(who, accepted))
        with store.tx() as db:
            assert Store.has_stake(db, payer) and Store.has_stake(db, signer)
            assert Store.has_stake(db, client)
            assert not Store.has_stake(db, idle) and not Store.has_stake(db, stranger)
    finally:
        store.close()


def _job(client: str, accepted: bool) -> JobRow:
    return JobRow(
        id="0x" + os.urandom(32).hex(),
        offer_id="offer",
        client=client,
        worker=Account.create().address,
        token=Account.create().address,
        price="1000",
        deadline=2_000_000_000,
        review_window=3600,
        terms="0x" + os.urandom(32).hex(),
        salt="0x" + os.urandom(32).hex(),
        brief="a brief",
        requested_at=1_700_000_000,
        accepted=accepted,
        declined=False,
    )
