"""A look-alike channel against a real anvil: anyone may fund any channel terms, so an attacker can make a
channel that names this account as its payer and the attacker's own key as its signer. The app lists it
(it is in the account's name), but never plans a deposit into it (whatever goes in, the signer's holder
claims at once), never counts it as the account's escrow on Home, and still lets the payer take back
what is left in it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.close import CloseRefused
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import ETH, Amount
from paygo_desktop.sessions.plan import SessionError
from tests.chain.conftest import MIN_DELAY
from tests.escrow.conftest import run_flow, usdc_of

SEED = 1  # what the attacker puts in to make the channel exist


def flow(service: EscrowService, plan: list[Any]) -> TxFlow:
    return TxFlow(service.transactions, service.account, plan, explorer=service.explorer_url)


def lookalike(env: Any, victim: Any) -> Channel:
    """The attacker (``env.stranger``) makes a channel in the victim's name with the real provider and
    the attacker's own key as the signer, and seeds it."""
    channel = Channel(
        payer=victim.address,
        provider=env.provider.address,
        token=env.usdc,
        signer=env.stranger.address,
        withdraw_delay=MIN_DELAY,
        salt=os.urandom(32),
    )
    env.run(env.vault.fund(env.stranger, channel, SEED))
    return channel


def row_of(env: Any, service: EscrowService, channel: Channel) -> Any:
    (row,) = [c for c in env.run(service.overview()).channels if c.channel_id == "0x" + channel.id.hex()]
    return row


def test_a_lookalike_is_listed_with_its_warning_and_no_deposit_is_planned_into_it(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    usdc = usdc_of(env)
    channel = lookalike(env, fresh)
    row = row_of(env, service, channel)
    assert row.params == channel and row.funder == env.stranger.address
    assert row.other_signer and not row.can_top_up and row.can_act  # withdraw: yes; top up: never
    assert row.warning is not None
    assert row.warning.startswith(f"Created by {env.stranger.address} with another signer")
    assert "anyone holding that signer's key can take what is in it; do not add funds" in row.warning

    with pytest.raises(requests.RequestError, match="do not add funds"):
        env.run(service.plan_top_up(row, Amount(usdc, 500 * 10**6)))
    with pytest.raises(requests.RequestError, match=f"signed by {env.stranger.address}"):
        env.run(service.plan_deposit(channel, Amount(usdc, 500 * 10**6)))
    with pytest.raises(requests.RequestError, match="not by its payer"):
        requests.fund(service.vault, channel, Amount(usdc, 500 * 10**6))  # type: ignore[arg-type]
    with pytest.raises(CloseRefused, match="Request a withdrawal instead"):
        env.run(service.plan_close(row, None, committed=0, provider_urls=[]))
    # a session's deposit (the headless start, the Zcash fallback) refuses it too
    from paygo_desktop.sessions.channels import deposit

    with pytest.raises(SessionError, match="not one this account alone signs for"):
        env.run(deposit(service.transactions, service.vault, fresh, channel, usdc, 500 * 10**6, timeout=5))
    assert service.transactions.repository.recent() == []  # nothing was sent
    assert env.usdc_balance(fresh.address) == 1_000 * 10**6
    assert env.run(env.vault.channel_state(channel)).deposited == SEED


def test_the_payer_takes_back_what_is_left_in_a_lookalike(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    usdc = usdc_of(env)
    channel = lookalike(env, fresh)
    row = row_of(env, service, channel)
    plan = service.plan_withdrawal_request(row, row.available)
    assert run_flow(env, flow(service, plan), fresh).phase == "done"
    env.advance(MIN_DELAY)
    row = row_of(env, service, channel)
    state = run_flow(env, flow(service, env.run(service.plan_finalize(row))), fresh)
    assert state.phase == "done", state.message
    assert env.usdc_balance(fresh.address) == 1_000 * 10**6 + SEED
    assert row_of(env, service, channel).available == Amount(usdc, 0)


def test_the_own_channels_are_still_deposit_targets(env: Any, service: EscrowService, fresh: Any) -> None:
    usdc = usdc_of(env)
    own = env.run(service.new_channel(env.provider.address, usdc))
    run_flow(env, flow(service, env.run(service.plan_deposit(own, Amount(usdc, 10**6)))), fresh)
    # the payer as its own explicit signer is the payer's too
    explicit = Channel(
        fresh.address, env.provider.address, env.usdc, fresh.address, MIN_DELAY, os.urandom(32)
    )
    env.run(env.vault.fund(env.stranger, explicit, SEED))
    for channel in (own, explicit):
        row = row_of(env, service, channel)
        assert row.can_top_up and row.warning is None
        assert [r.kind for r in env.run(service.plan_top_up(row, Amount(usdc, 10**6)))][-1] == "escrow-fund"


def test_home_does_not_count_a_lookalike_as_the_accounts_escrow(
    env: Any, store: Any, service: EscrowService, fresh: Any
) -> None:
    from paygo_desktop.reports.dashboard import chain_balances, escrow_channels

    usdc = usdc_of(env)
    own = env.run(service.new_channel(env.provider.address, usdc))
    run_flow(env, flow(service, env.run(service.plan_deposit(own, Amount(usdc, 10 * 10**6)))), fresh)
    channel = lookalike(env, fresh)
    env.run(env.vault.fund(env.stranger, channel, 7 * 10**6))  # it looks like 7 USDC of the victim's
    env.run(service.overview())  # the Escrow page's read syncs the vault's events into the store
    found = escrow_channels(store, fresh.address, "sandbox", env.chain_id, [ETH, usdc])
    assert set(found.assets) == {"0x" + own.id.hex(), "0x" + channel.id.hex()}
    balances = env.run(
        chain_balances(
            rpc_url=env.url,
            account=fresh.address,
            native=ETH,
            tokens=[usdc],
            vault_address=env.vault.address,
            channels=found.assets,
            to_check=found.to_check,
            chain_id=env.chain_id,
        )
    )
    (escrow,) = [b for b in balances if b.where == "Escrow"]
    assert escrow.amount == Amount(usdc, 10 * 10**6)  # the own channel's only
    assert escrow.detail == (
        "1 channel; 1 more in your name not counted (another signer or unknown terms: see Escrow)"
    )
