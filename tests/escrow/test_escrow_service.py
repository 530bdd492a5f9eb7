"""The escrow service against a real anvil: balances, deposits, channels, withdrawals, sends, errors."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paygo_desktop.chain.transactions import InsufficientFunds, Reverted, RpcUnavailable, WrongNetwork
from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import ETH, Amount
from tests.chain.conftest import MIN_DELAY
from tests.escrow.conftest import make_service, run_flow, usdc_of

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def flow(service: EscrowService, plan: list[Any]) -> TxFlow:
    return TxFlow(service.transactions, service.account, plan, explorer=service.explorer_url)


def test_balances_are_eth_then_each_known_token(env: Any, service: EscrowService, fresh: Any) -> None:
    overview = env.run(service.overview())
    assert [a.asset.symbol for a in overview.balances] == ["ETH", "USDC"]
    assert overview.balances[0].units == 10**21
    assert overview.balances[1] == Amount(usdc_of(env), 1_000 * 10**6)
    assert overview.channels == [] and overview.open_transactions == []


def test_usdc_deposit_approves_exactly_then_funds_and_the_channel_appears(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    usdc = usdc_of(env)
    channel = env.run(service.new_channel(env.provider.address, usdc))
    assert channel.withdraw_delay == MIN_DELAY and channel.payer == fresh.address
    plan = env.run(service.plan_deposit(channel, Amount(usdc, 25 * 10**6), "Test provider"))
    assert [r.kind for r in plan] == ["approve", "escrow-fund"]
    state = run_flow(env, flow(service, plan), fresh)
    assert state.phase == "done", state.message
    assert [r.kind for r in state.records] == ["approve", "escrow-fund"]
    assert all(r.status == "confirmed" for r in state.records)

    overview = env.run(service.overview())
    (row,) = overview.channels
    assert row.channel_id == "0x" + channel.id.hex()
    assert row.provider == env.provider.address and row.asset == usdc
    assert row.funded == row.available == Amount(usdc, 25 * 10**6)
    assert row.claimed.units == 0 and row.pending_withdrawal.units == 0
    assert row.params == channel
    assert overview.balances[1] == Amount(usdc, 975 * 10**6)
    # the approval was for exactly the deposit and is used up: a top-up asks for a new one
    top_up = env.run(service.plan_deposit(channel, Amount(usdc, 5 * 10**6)))
    assert [r.kind for r in top_up] == ["approve", "escrow-fund"]


def test_an_eth_deposit_needs_no_approval(env: Any, service: EscrowService, fresh: Any) -> None:
    channel = env.run(service.new_channel(env.provider.address, ETH))
    plan = env.run(service.plan_deposit(channel, Amount(ETH, 10**17)))
    assert [r.kind for r in plan] == ["escrow-fund"] and plan[0].value == 10**17
    assert run_flow(env, flow(service, plan), fresh).phase == "done"
    (row,) = env.run(service.overview()).channels
    assert row.asset == ETH and row.available == Amount(ETH, 10**17)


def test_a_channel_funded_elsewhere_is_found_with_its_parameters(env: Any, store: Any) -> None:
    channel = env.channel(token=env.usdc, salt=os.urandom(32), withdraw_delay=MIN_DELAY + 7)
    env.run(env.vault.fund(env.payer, channel, 1_234))
    service = make_service(env, store, env.payer)
    (row,) = [c for c in env.run(service.overview()).channels if c.channel_id == "0x" + channel.id.hex()]
    assert row.params == channel  # read back from the funding transaction, checked against the id
    assert row.funded.units == 1_234


def test_withdrawal_is_requested_then_finalized_after_the_delay(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    usdc = usdc_of(env)
    channel = env.run(service.new_channel(env.provider.address, usdc))
    run_flow(env, flow(service, env.run(service.plan_deposit(channel, Amount(usdc, 10 * 10**6)))), fresh)
    (row,) = env.run(service.overview()).channels
    with pytest.raises(requests.RequestError, match="more than that"):
        service.plan_withdrawal_request(row, Amount(usdc, 11 * 10**6))
    plan = service.plan_withdrawal_request(row, Amount(usdc, 4 * 10**6))
    assert run_flow(env, flow(service, plan), fresh).phase == "done"

    overview = env.run(service.overview())
    (row,) = overview.channels
    assert row.pending_withdrawal == Amount(usdc, 4 * 10**6)
    assert 0 < (row.withdrawal_due_in(overview.chain_time) or 0) <= MIN_DELAY
    with pytest.raises(requests.RequestError, match="can be finalized in"):
        env.run(service.plan_finalize(row))
    # forcing it anyway: the node's estimate says why, in words, and nothing is stored or sent
    early = requests.finalize_withdrawal(service.vault, row.params, row.payout_if_finalized)  # type: ignore[arg-type]
    with pytest.raises(Reverted, match="WithdrawNotReady"):
        env.run(service.transactions.quote(fresh.address, early))

    env.advance(MIN_DELAY)
    before = env.usdc_balance(fresh.address)
    state = run_flow(env, flow(service, env.run(service.plan_finalize(row))), fresh)
    assert state.phase == "done"
    assert env.usdc_balance(fresh.address) == before + 4 * 10**6
    (row,) = env.run(service.overview()).channels
    assert row.available == Amount(usdc, 6 * 10**6) and row.pending_withdrawal.units == 0
    assert row.withdrawal_ready_at is None


def test_send_eth_and_token_with_balance_checks(env: Any, service: EscrowService, fresh: Any) -> None:
    usdc = usdc_of(env)
    before = env.eth(RECIPIENT)
    plan = env.run(service.plan_send(Amount(ETH, 12345), RECIPIENT.lower()))
    assert run_flow(env, flow(service, plan), fresh).phase == "done"
    assert env.eth(RECIPIENT) == before + 12345
    plan = env.run(service.plan_send(Amount(usdc, 3 * 10**6), RECIPIENT))
    assert run_flow(env, flow(service, plan), fresh).phase == "done"
    assert env.usdc_balance(RECIPIENT) >= 3 * 10**6
    with pytest.raises(InsufficientFunds, match="holds 997 USDC; this transfer needs 5,000 USDC"):
        env.run(service.plan_send(Amount(usdc, 5_000 * 10**6), RECIPIENT))
    with pytest.raises(requests.AddressError, match="checksum"):
        env.run(service.plan_send(Amount(usdc, 1), RECIPIENT[:-1] + "d"))
    with pytest.raises(requests.RequestError, match="own address"):
        env.run(service.plan_send(Amount(usdc, 1), fresh.address))


def test_insufficient_eth_for_the_fee_fails_the_flow_before_anything_is_sent(
    env: Any, service: EscrowService, fresh: Any
) -> None:
    env.rpc("anvil_setBalance", [fresh.address, hex(10**17)])
    plan = [requests.send(Amount(ETH, 10**17), RECIPIENT)]  # all of it: nothing left for gas
    state = env.run(flow(service, plan).prepare())
    assert state.phase == "failed" and "enough ETH" in state.message
    assert service.transactions.repository.recent() == []


def test_rpc_down_and_wrong_network_are_clear_and_send_nothing(env: Any, store: Any, fresh: Any) -> None:
    from dataclasses import replace

    from web3 import AsyncHTTPProvider, AsyncWeb3

    dead = make_service(env, store, fresh)
    dead.w3 = AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9"))
    dead.transactions.w3 = dead.w3
    with pytest.raises(RpcUnavailable, match="did not answer"):
        env.run(dead.overview())
    wrong = make_service(env, store, fresh)
    wrong.network = replace(wrong.network, chain_id=8453)
    wrong.transactions.chain_id = 8453
    with pytest.raises(WrongNetwork, match="chain 31337, not 8453"):
        env.run(wrong.overview())
    assert store and dead.transactions.repository.recent() == []


def test_a_node_on_this_computer_needs_one_confirmation_a_remote_one_three() -> None:
    """A development chain on this computer mines only when a transaction arrives: waiting for three
    blocks there would never end."""
    from paygo_desktop.networks import BASE, confirmations_for, custom_network

    assert confirmations_for(custom_network("Dev", "http://127.0.0.1:8545", 31337)) == 1
    assert confirmations_for(custom_network("Dev", "http://localhost:9545", 1337)) == 1
    assert confirmations_for(custom_network("Rollup", "https://rpc.example.org", 10)) == 3
    assert confirmations_for(BASE) == 3
