"""POST /channels/{id}/close: the provider's signed Close, for the channel's payer or signer only, and what it
does to the channel's sessions (none until the Close's deadline, none at all once closed)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak

from paygo_desktop.chain.vault import Closed, RevertError, revert_error_name
from paygo_desktop.chain.vouchers import verify_close
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol.client import Conflict, ProviderClient, ProviderHTTPError, Unauthorized
from paygo_desktop.provider.session_start import CLOSE_CLOCK_MARGIN
from paygo_desktop.provider.store import ChannelRow, Store
from tests.chain.conftest import Env
from tests.provider.conftest import Server, auth_headers, open_channel, provider_server, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 5_000


def submit(server: Server, ch: object, auth: m.CloseAuth, key: object = None) -> object:
    """closeCooperative with the provider's Close and the payer's own voucher for the same amount."""
    env = server.env
    return env.run(
        env.vault.close_cooperative(
            env.payer,
            ch,
            auth.final_amount,
            auth.deadline,
            voucher(env, ch, auth.final_amount, key),
            bytes.fromhex(auth.signature[2:]),
        )
    )


def test_only_the_payer_gets_a_close_and_it_blocks_sessions_until_closed(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    with pytest.raises(Conflict) as busy:  # not while a session is live
        env.run(client.request_close(env.payer, ch))
    assert busy.value.code == "channel_busy"
    server.clock.advance(3)
    env.run(client.stop_session(s.session_id, (1, 3_000, "0x" + voucher(env, ch, 3_000).hex())))

    for stranger in (env.stranger, env.provider, env.payer2):
        with pytest.raises(Unauthorized) as refused:
            env.run(client.request_close(stranger, ch))
        assert refused.value.status == 403 and refused.value.code == "forbidden"
    path = routes.CHANNEL_CLOSE.format(channel_id="0x" + ch.id.hex())
    body = {"channel": m.ChannelParams.from_channel(ch).model_dump(mode="json", by_alias=True)}
    unsigned = httpx.post(server.url + path, json=body, timeout=10)  # no signature at all
    assert unsigned.status_code == 401

    auth = env.run(client.request_close(env.payer, ch))
    assert auth.channel_id == "0x" + ch.id.hex() and auth.final_amount == 3_000  # the settled cursor
    assert auth.deadline == int(server.clock.now) + server.config.close_validity_seconds
    assert verify_close(env.domain(), ch, auth.final_amount, auth.deadline, auth.signature)

    with pytest.raises(Conflict) as closing:  # no new session while the Close may still be sent
        env.run(client.start_session(SVC, ch, 3_000 + TICK_COST, voucher(env, ch, 3_000 + TICK_COST)))
    assert closing.value.code == "channel_closing" and "until" in closing.value.provider_message

    before = env.usdc_balance(env.payer.address)
    (closed,) = submit(server, ch, auth).of_type(Closed)
    assert (closed.provider_amount, closed.refund) == (3_000, 1_000_000 - 3_000)
    assert env.usdc_balance(env.payer.address) - before == 1_000_000 - 3_000

    with pytest.raises(Conflict) as again:
        env.run(client.request_close(env.payer, ch))
    assert again.value.code == "channel_closed"
    server.clock.advance(server.config.close_validity_seconds + CLOSE_CLOCK_MARGIN + 1)
    with pytest.raises(Conflict) as final:  # the deadline is long past: the channel is closed for good
        env.run(client.start_session(SVC, ch, 3_000 + TICK_COST, voucher(env, ch, 3_000 + TICK_COST)))
    assert final.value.code == "channel_closed"


def test_a_channel_closed_a_moment_ago_is_not_started_on_before_the_head_view_sees_it(
    env: Env, tmp_path: Path
) -> None:
    """The head view is read once a head poll (here every 2 s: it has not seen the close yet); a start
    signed by the channel's signer reads the channel at latest, and a closed channel serves nobody."""
    with provider_server(env, tmp_path, head_poll_interval=2) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            ch = open_channel(env, 1_000_000)
            s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            server.clock.advance(3)
            env.run(client.stop_session(s.session_id, (1, 3_000, "0x" + voucher(env, ch, 3_000).hex())))
            auth = env.run(client.request_close(env.payer, ch))
            again = (SVC, ch, 3_000 + TICK_COST, voucher(env, ch, 3_000 + TICK_COST))
            with pytest.raises(Conflict) as closing:  # a start while the Close may be sent: refused
                env.run(client.start_session(*again))
            assert closing.value.code == "channel_closing"
            assert len(submit(server, ch, auth).of_type(Closed)) == 1
            server.clock.advance(server.config.close_validity_seconds + CLOSE_CLOCK_MARGIN + 1)
            for _ in range(2):  # the first start's read does not make the next one trust the head view
                with pytest.raises(Conflict) as refused:
                    env.run(client.start_session(*again))
                assert refused.value.code == "channel_closed"
        finally:
            env.run(client.aclose())


def test_an_unused_close_dies_at_its_deadline_and_sessions_resume(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    ch = open_channel(env, 1_000_000)
    auth = env.run(client.request_close(env.payer, ch))  # a channel the provider never saw: at claimed, 0
    assert auth.final_amount == 0
    server.clock.advance(server.config.close_validity_seconds + CLOSE_CLOCK_MARGIN + 1)
    s = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    assert s.quote.start_cumulative == 0
    env.advance(server.config.close_validity_seconds + CLOSE_CLOCK_MARGIN + 1)  # the chain's clock too
    with pytest.raises(RevertError) as expired:
        submit(server, ch, auth)
    assert revert_error_name(expired.value) == "CloseExpired"


def test_the_delegated_signer_may_ask_too(server: Server, client: ProviderClient) -> None:
    env = server.env
    session_key = Account.from_key(keccak(text="close-route-session-key"))
    ch = env.channel(token=env.usdc, signer=session_key.address, salt=keccak(text="close-route-delegated"))
    env.run(env.vault.fund(env.payer, ch, 50_000))
    auth = env.run(client.request_close(session_key, ch))
    assert verify_close(env.domain(), ch, auth.final_amount, auth.deadline, auth.signature)
    assert submit(server, ch, auth, session_key).of_type(Closed)[0].refund == 50_000


def test_a_close_for_another_provider_or_other_terms_is_refused(
    server: Server, client: ProviderClient
) -> None:
    env = server.env
    theirs = env.channel(token=env.usdc, provider=env.provider2, salt=keccak(text="close-route-theirs"))
    with pytest.raises(ProviderHTTPError) as wrong:
        env.run(client.request_close(env.payer, theirs))
    assert wrong.value.status == 400 and wrong.value.code == "wrong_provider"
    ch = open_channel(env, 10_000)
    other = open_channel(env, 10_000)
    path = routes.CHANNEL_CLOSE.format(channel_id="0x" + ch.id.hex())
    body = {"channel": m.ChannelParams.from_channel(other).model_dump(mode="json", by_alias=True)}
    raw = json.dumps(body).encode()
    headers = auth_headers(server, env.payer, "POST", path, raw)
    mismatch = httpx.post(server.url + path, content=raw, headers=headers, timeout=10)
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "channel_mismatch"


def test_a_provider_database_from_before_the_close_route_gets_its_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # provider_channels as it was created before
        db.execute(
            "CREATE TABLE provider_channels (id VARCHAR(66) PRIMARY KEY, payer VARCHAR(42), "
            "signer VARCHAR(42), provider VARCHAR(42), token VARCHAR(42), withdraw_delay INTEGER, "
            "salt VARCHAR(66), "
            "last_cumulative VARCHAR(40), last_signature VARCHAR(132), last_seq INTEGER, "
            "claimed_cumulative VARCHAR(40), live_session_id VARCHAR(64))"
        )
        db.execute(
            "INSERT INTO provider_channels VALUES "
            "('0x01', 'a', 'b', 'c', 'd', 10, '0x00', '7', NULL, 0, '0', NULL)"
        )
    store = Store(path)
    try:
        with store.tx() as tx:
            row = tx.get(ChannelRow, "0x01")
            assert row is not None and row.last_cumulative == "7" and row.close_deadline is None
            row.close_deadline = 123
        with store.tx() as tx:
            assert tx.get(ChannelRow, "0x01").close_deadline == 123  # type: ignore[union-attr]
    finally:
        store.close()
    Store(path).close()  # opening it again changes nothing
