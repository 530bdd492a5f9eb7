"""The vendor's earnings against the real reference provider and anvil: earned (provider, signed requests),
claimed on-chain (vault events, rebuilt after the store is wiped), pending, per service, live meters, CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.store import Store
from paygo_desktop.vendor.earnings import (
    VendorError,
    load_overview,
    overview_csv,
    paid_out_by_token,
)
from tests.provider.conftest import Server, open_channel, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 1000 * 5


def run_session(server: Server, client: ProviderClient, ticks: int, *, stop: bool = True) -> tuple[Any, int]:
    """A session paid with ``ticks`` vouchers on a fresh USDC channel; returns (channel, amount signed)."""
    env = server.env
    ch = open_channel(env, 1_000_000)
    started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
    total = TICK_COST
    for seq in range(1, ticks):
        server.clock.advance(5)
        total += TICK_COST
        env.run(client.send_voucher(started.session_id, seq, total, voucher(env, ch, total)))
    if stop:
        env.run(client.stop_session(started.session_id, access_token=started.access.token))
    return ch, total


def overview(server: Server, client: ProviderClient, store: Store, key: Any = None) -> Any:
    env = server.env
    return env.run(
        load_overview(
            client,
            key or env.provider,
            store,
            rpc_url=env.url,
            chain_id=env.chain_id,
            vault_address=env.vault.address,
        )
    )


def test_earned_claimed_and_pending_after_a_few_sessions(
    server: Server, client: ProviderClient, tmp_path: Path
) -> None:
    env = server.env
    claimed_channels = [run_session(server, client, 3), run_session(server, client, 2)]
    outcome = env.run(client.claim_now(env.provider))  # the provider claims (and waits for the receipt)
    assert outcome.tx_hash and len(outcome.channels) == 2
    _, pending_amount = run_session(server, client, 4)
    _, live_amount = run_session(server, client, 2, stop=False)

    on_chain = sum(env.run(env.vault.channel_state(ch)).claimed for ch, _ in claimed_channels)
    assert on_chain == 5 * TICK_COST
    store = Store.open(tmp_path / "paygo.sqlite3")
    view = overview(server, client, store)
    (usdc,) = view.assets
    assert usdc.asset.symbol == "USDC" and usdc.asset.address == env.usdc
    assert usdc.earned.units == 5 * TICK_COST + pending_amount + live_amount
    assert usdc.paid_out.units == on_chain
    assert usdc.pending.units == pending_amount + live_amount
    assert sum(d.earned.units for d in view.days) == usdc.earned.units
    assert sum(d.paid_out.units for d in view.days) == on_chain
    assert sum(d.sessions for d in view.days) == 4
    feed = next(s for s in view.services if s.service_id == SVC)
    assert (feed.earned, feed.sessions, feed.live) == (usdc.earned, 4, 1)
    (meter,) = view.live
    assert (
        meter.amount.units == live_amount and meter.payer == env.payer.address and meter.service == feed.name
    )

    csv_text = overview_csv(view)
    assert (
        f"USDC,{usdc.earned.format(symbol=False, grouping=False)},0.025,{usdc.pending.format(symbol=False)}"
        in (csv_text)
    )

    # claim the rest: nothing pending any more
    env.run(client.claim_now(env.provider))
    again = overview(server, client, store)
    assert again.assets[0].pending.units == 0
    assert again.assets[0].paid_out.units == usdc.earned.units
    store.close()


def test_claimed_totals_rebuild_from_events_after_the_store_is_wiped(
    server: Server, client: ProviderClient, tmp_path: Path
) -> None:
    env = server.env
    for ticks in (2, 3, 4):
        run_session(server, client, ticks)
    env.run(client.claim_now(env.provider))
    first = Store.open(tmp_path / "first.sqlite3")
    before = overview(server, client, first).assets[0]
    totals = paid_out_by_token(first, env.chain_id, env.provider.address)
    first.close()
    (tmp_path / "first.sqlite3").unlink()  # the local store is gone
    wiped = Store.open(tmp_path / "first.sqlite3")
    assert paid_out_by_token(wiped, env.chain_id, env.provider.address) == {}
    after = overview(server, client, wiped).assets[0]
    assert after == before and after.paid_out.units == 9 * TICK_COST
    assert (
        paid_out_by_token(wiped, env.chain_id, env.provider.address)
        == totals
        == {env.usdc.lower(): 9 * TICK_COST}
    )
    wiped.close()


def test_a_key_that_is_not_the_providers_is_refused_with_a_clear_message(
    server: Server, client: ProviderClient, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "paygo.sqlite3")
    with pytest.raises(VendorError, match="is not this provider's key"):
        overview(server, client, store, key=server.env.stranger)
    with pytest.raises(VendorError, match="vault"):
        server.env.run(
            load_overview(
                client,
                server.env.provider,
                store,
                rpc_url=server.env.url,
                chain_id=server.env.chain_id,
                vault_address=server.env.contracts["vault2"],
            )
        )
    store.close()
