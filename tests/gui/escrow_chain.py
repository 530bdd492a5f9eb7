"""A real anvil with the vault and test USDC for the Escrow page's tests, and helpers to drive the page.

The app reaches it as the Sandbox network: the test writes the sandbox's state file (the RPC address) and
the deployments into the data directory, as ``paygo-desktop sandbox`` does.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import to_checksum_address

from paygo_desktop.sandbox.node import rpc
from tests.chain.conftest import anvil_url  # noqa: F401 - the session's anvil
from tests.gui.conftest import TEST_ADDRESS
from tests.gui.helpers import click

MIN_DELAY = 10
TIMEOUT = 30_000
PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's second account stands in for a provider


@dataclass
class Chain:
    url: str
    vault: str
    usdc: str
    deployer: str

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return rpc(self.url, method, params)

    def eth(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def usdc_balance(self, owner: str) -> int:
        call = {"to": self.usdc, "data": "0x70a08231" + owner[2:].lower().rjust(64, "0")}
        return int(self.rpc("eth_call", [call, "latest"]), 16)

    def advance(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")


async def _deploy(url: str, deployer: str) -> tuple[str, str]:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.deploy import deploy_local

    deployed = await deploy_local(AsyncWeb3(AsyncHTTPProvider(url)), deployer, MIN_DELAY)
    return deployed.vault, deployed.usdc


def _mint(url: str, usdc: str, deployer: str, to: str, amount: int) -> None:
    from web3 import HTTPProvider, Web3

    from paygo_desktop.chain.artifacts import load_artifact

    w3 = Web3(HTTPProvider(url))
    token = w3.eth.contract(address=Web3.to_checksum_address(usdc), abi=load_artifact("TestUSDC").abi)
    tx = token.functions.mint(to, amount).transact({"from": deployer})
    w3.eth.wait_for_transaction_receipt(tx, timeout=30)


@pytest.fixture(scope="session")
def escrow_chain(anvil_url: str) -> Chain:  # noqa: F811
    deployer = to_checksum_address(
        rpc(anvil_url, "eth_accounts")[1]
    )  # not the wallet's account: its nonce stays untouched
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from the Qt one
        vault, usdc = pool.submit(asyncio.run, _deploy(anvil_url, deployer)).result()
    _mint(anvil_url, usdc, deployer, TEST_ADDRESS, 1_000 * 10**6)
    return Chain(url=anvil_url, vault=vault, usdc=usdc, deployer=deployer)


@pytest.fixture
def chain(escrow_chain: Chain) -> Iterator[Chain]:
    snapshot = escrow_chain.rpc("evm_snapshot")
    try:
        yield escrow_chain
    finally:
        escrow_chain.rpc("evm_setAutomine", [True])
        escrow_chain.rpc("evm_revert", [snapshot])


def point_at(
    ctx: Any, chain: Chain, rpc_url: str | None = None, provider_url: str = "http://127.0.0.1:9"
) -> None:
    """Make the context's Sandbox network this chain (or ``rpc_url``), with its vault and test USDC, and
    ``provider_url`` as the sandbox's provider (by default an address where nothing answers)."""
    from paygo_desktop.sandbox.state import SandboxState, write_state
    from paygo_desktop.store.deployments import DeploymentRepository

    ctx.data_dir.sandbox_dir.mkdir(parents=True, exist_ok=True)
    write_state(
        ctx.data_dir.sandbox_dir,
        SandboxState(
            rpc_url=rpc_url or chain.url,
            provider_url=provider_url,
            chain_id=31337,
            vault=chain.vault,
            usdc=chain.usdc,
            owner_pid=os.getpid(),
            node_pid=0,
            provider_pid=0,
            started_at=time.time(),
        ),
    )
    deployments = DeploymentRepository(ctx.store)
    deployments.save("sandbox", 31337, "PayGoVault", chain.vault)
    deployments.save("sandbox", 31337, "TestUSDC", chain.usdc)
    ctx.invalidate_network()  # as the window does once a sandbox is up


def fast(page: Any) -> Any:
    page.poll_ms = 100
    page.watch_timer.setInterval(200)
    return page


def wait_loaded(qtbot: Any, page: Any, after: Any = None) -> Any:
    """Wait for an overview newer than ``after`` (or any), and return it."""
    qtbot.waitUntil(
        lambda: page.overview is not None and page.overview is not after and not page._loading,
        timeout=TIMEOUT,
    )
    return page.overview


def reload(qtbot: Any, page: Any) -> Any:
    old = page.overview
    page.reload()
    return wait_loaded(qtbot, page, old)


def review(qtbot: Any, dialog: Any) -> Any:
    """Press Review on a planning dialog and wait for the transaction dialog it opens."""
    page = dialog.parent()
    before = page.flow_dialog
    click(qtbot, dialog.review_button)
    qtbot.waitUntil(lambda: page.flow_dialog is not before, timeout=TIMEOUT)
    return page.flow_dialog
