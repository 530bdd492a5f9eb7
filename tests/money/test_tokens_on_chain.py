"""Tokens of 6, 18 and 2 decimals on a real anvil: balances, sends and deposits through the escrow service,
each exact to the base unit."""

from __future__ import annotations

from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import ETH, Amount
from paygo_desktop.store import Store
from tests.chain.conftest import Env, make_account
from tests.escrow.conftest import chain_network, run_flow
from tests.money.conftest import Tokens, mint

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def service_with(env: Env, store: Store, account: Any, tokens: Tokens) -> EscrowService:
    return EscrowService(
        env.w3,
        chain_network(env),
        account.address,
        store,
        vault_address=env.vault.address,
        tokens=(tokens.usdc, tokens.dai, tokens.gusd),
    )


@pytest.fixture
def holder(env: Env, tokens: Tokens) -> Any:
    account = make_account(f"money-holder-{env.rpc('eth_blockNumber')}")
    env.rpc("anvil_setBalance", [account.address, hex(10**21)])
    env.mint_usdc(account.address, 1_000 * 10**6)
    mint(env, tokens.dai, account.address, 1_000)
    mint(env, tokens.gusd, account.address, 1_000)
    return account


def flow(service: EscrowService, plan: list[Any]) -> TxFlow:
    return TxFlow(service.transactions, service.account, plan, explorer=service.explorer_url)


def test_balances_of_a_6_an_18_and_a_2_decimal_token(
    env: Env, store: Store, tokens: Tokens, holder: Any
) -> None:
    service = service_with(env, store, holder, tokens)
    balances = env.run(service.overview()).balances
    assert [b.asset.symbol for b in balances] == ["ETH", "USDC", "DAI", "GUSD"]
    assert balances[1] == Amount(tokens.usdc, 1_000 * 10**6)
    assert balances[2] == Amount(tokens.dai, 1_000 * 10**18)
    assert balances[3] == Amount(tokens.gusd, 100_000)  # 1,000.00 GUSD
    assert [b.format() for b in balances[1:]] == ["1,000 USDC", "1,000 DAI", "1,000 GUSD"]


@pytest.mark.parametrize(
    ("symbol", "typed", "units"),
    [("usdc", "12.345678", 12_345_678), ("dai", "0.000000000000000001", 1), ("gusd", "3.07", 307)],
)
def test_a_send_moves_exactly_the_typed_amount(
    env: Env, store: Store, tokens: Tokens, holder: Any, symbol: str, typed: str, units: int
) -> None:
    asset = getattr(tokens, symbol)
    service = service_with(env, store, holder, tokens)
    before = env.run(service.overview()).balances
    amount = Amount.parse(typed, asset)
    assert amount.units == units
    state = run_flow(env, flow(service, env.run(service.plan_send(amount, RECIPIENT))), holder)
    assert state.phase == "done", state.message
    after = env.run(service.overview()).balances
    moved = {b.asset.symbol: a.units - b.units for a, b in zip(before, after, strict=True)}
    assert moved[asset.symbol] == units  # to the base unit
    token = env.token(str(asset.address), "TestToken")
    assert env.run(token.functions.balanceOf(RECIPIENT).call()) >= units
    assert moved["ETH"] > 0  # the fee, in ETH
    assert all(v == 0 for k, v in moved.items() if k not in ("ETH", asset.symbol))


def test_more_decimals_than_the_token_has_are_refused() -> None:
    from paygo_desktop.money import AmountError, Asset

    with pytest.raises(AmountError, match="at most 2 decimal places"):
        Amount.parse("1.005", Asset("GUSD", 2, RECIPIENT))


@pytest.mark.parametrize("symbol", ["dai", "gusd"])
def test_deposits_into_a_channel_in_an_18_and_a_2_decimal_token(
    env: Env, store: Store, tokens: Tokens, holder: Any, symbol: str
) -> None:
    asset = getattr(tokens, symbol)
    service = service_with(env, store, holder, tokens)
    channel = env.run(service.new_channel(env.provider.address, asset))
    amount = Amount.parse("25.5", asset)
    plan = env.run(service.plan_deposit(channel, amount, "Test provider"))
    assert [r.kind for r in plan] == ["approve", "escrow-fund"]
    assert run_flow(env, flow(service, plan), holder).phase == "done"
    (row,) = env.run(service.overview()).channels
    assert row.asset == asset and row.available == amount


def test_an_eth_balance_is_listed_first(env: Env, store: Store, tokens: Tokens, holder: Any) -> None:
    service = service_with(env, store, holder, tokens)
    assert env.run(service.overview()).balances[0] == Amount(ETH, 10**21)
