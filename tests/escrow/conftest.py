"""Escrow tests run against the real anvil of tests/chain (and the real provider of tests/provider)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.tx_flow import TxFlow
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.store import Store
from tests.chain.conftest import Env, make_account
from tests.provider.conftest import (  # noqa: F401 - fixtures re-exported for this package
    _deployed,
    anvil_url,
    env,
    runner,
)


def chain_network(env: Env) -> Network:  # noqa: F811
    return Network(key="sandbox", name="Test chain", chain_id=env.chain_id, rpc_url=env.url, is_local=True)


def usdc_of(env: Env) -> Asset:  # noqa: F811
    return Asset("USDC", 6, env.usdc)


def signer(account: Any) -> Any:
    return lambda tx: account.sign_transaction(tx).raw_transaction


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "escrow.sqlite3")


@pytest.fixture
def fresh(env: Env) -> Any:  # noqa: F811
    """An account with ETH and test USDC that has never approved the vault."""
    account = make_account(f"escrow-fresh-{time.monotonic_ns()}")
    env.rpc("anvil_setBalance", [account.address, hex(10**21)])
    env.mint_usdc(account.address, 1_000 * 10**6)
    return account


def make_service(env: Env, store: Store, account: Any, **kw: Any) -> EscrowService:  # noqa: F811
    return EscrowService(
        env.w3,
        chain_network(env),
        account.address,
        store,
        vault_address=env.vault.address,
        tokens=(usdc_of(env),),
        **kw,
    )


@pytest.fixture
def service(env: Env, store: Store, fresh: Any) -> EscrowService:  # noqa: F811
    return make_service(env, store, fresh)


def run_flow(env: Env, flow: TxFlow, account: Any, timeout: float = 30.0) -> Any:  # noqa: F811
    """Review, send and watch every step of ``flow`` to its end, as the dialog does."""
    deadline = time.monotonic() + timeout
    while not flow.state.is_final:
        assert time.monotonic() < deadline, f"flow stuck in {flow.state}"
        phase = flow.state.phase
        if phase == "quoting":
            env.run(flow.prepare())
        elif phase == "review":
            env.run(flow.send(signer(account)))
        else:
            env.run(flow.poll())
            time.sleep(0.02)
    return flow.state
