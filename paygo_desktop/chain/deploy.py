"""Deploy contracts from an account: PayGo's canonical ones (``chain.create2``) and, on local chains, the test
USDC. ``deploy_vault`` deploys a vault with any minimum delay at an ordinary address: for tests and
benchmarks, which configure that vault explicitly; the app's networks use the canonical one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from web3 import AsyncWeb3

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.canonical import CanonicalContract
from paygo_desktop.chain.code_check import check_contract_code
from paygo_desktop.chain.create2 import PROXY, code_at, deployment_data, require_proxy
from paygo_desktop.chain.tx import Sender, TxResult, send, send_data


@dataclass(frozen=True)
class Deployed:
    address: str
    tx: TxResult


async def deploy_contract(w3: AsyncWeb3, sender: Sender, artifact_name: str, *args: Any) -> Deployed:
    """Deploy any artifact from resources/contracts (``testing/`` ones included) with constructor ``args``."""
    art = load_artifact(artifact_name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    result = await send(w3, factory.constructor(*args), sender)
    address = result.receipt["contractAddress"]
    if not address:
        raise RuntimeError(f"{artifact_name}: no contract address in receipt")
    return Deployed(address=to_checksum_address(address), tx=result)


async def deploy_vault(w3: AsyncWeb3, sender: Sender, min_withdraw_delay: int) -> Deployed:
    """``min_withdraw_delay`` in seconds (use e.g. 1 day on public chains, a few seconds on anvil)."""
    if isinstance(min_withdraw_delay, bool) or not 0 <= min_withdraw_delay < 2**64:
        raise ValueError("min_withdraw_delay must fit uint64")
    return await deploy_contract(w3, sender, "PayGoVault", min_withdraw_delay)


async def deploy_test_usdc(w3: AsyncWeb3, sender: Sender) -> Deployed:
    """Mintable 6-decimal test token. Refuses chains other than local dev chains (31337 / 1337)."""
    chain_id = await w3.eth.chain_id
    if chain_id not in (31337, 1337):
        raise RuntimeError(f"TestUSDC is for local chains only (chain id {chain_id})")
    return await deploy_contract(w3, sender, "TestUSDC")


async def deploy_test_token(w3: AsyncWeb3, sender: Sender, name: str, symbol: str, decimals: int) -> Deployed:
    """A mintable test token with any symbol and decimals (``TestToken``); local chains only."""
    chain_id = await w3.eth.chain_id
    if chain_id not in (31337, 1337):
        raise RuntimeError(f"TestToken is for local chains only (chain id {chain_id})")
    return await deploy_contract(w3, sender, "TestToken", name, symbol, decimals)


async def deploy_mock_feed(
    w3: AsyncWeb3, sender: Sender, description: str, decimals: int, answer: int
) -> Deployed:
    """A price feed with Chainlink's interface (``testing/MockAggregator``); local chains only."""
    chain_id = await w3.eth.chain_id
    if chain_id not in (31337, 1337):
        raise RuntimeError(f"MockAggregator is for local chains only (chain id {chain_id})")
    return await deploy_contract(w3, sender, "MockAggregator", decimals, description, answer)


@dataclass(frozen=True)
class LocalDeployment:
    vault: str
    usdc: str


async def deploy_local(w3: AsyncWeb3, sender: Sender, min_withdraw_delay: int = 5) -> LocalDeployment:
    """A test vault with ``min_withdraw_delay`` at an ordinary address, and the test USDC."""
    vault = await deploy_vault(w3, sender, min_withdraw_delay)
    usdc = await deploy_test_usdc(w3, sender)
    return LocalDeployment(vault=vault.address, usdc=usdc.address)


async def deploy_sandbox(w3: AsyncWeb3, sender: Sender) -> LocalDeployment:
    """The sandbox's contracts: PayGo's canonical vault, registry and jobs contract, as on every chain, and
    the test USDC."""
    from paygo_desktop.chain.canonical import JOBS, REGISTRY, VAULT

    vault = await deploy_canonical(w3, sender, VAULT)
    await deploy_canonical(w3, sender, REGISTRY)
    await deploy_canonical(w3, sender, JOBS)
    usdc = await deploy_test_usdc(w3, sender)
    return LocalDeployment(vault=vault.address, usdc=usdc.address)


@dataclass(frozen=True)
class CanonicalDeployment:
    address: str
    tx_hash: str | None  # None: it was there already
    gas_used: int = 0


async def deploy_canonical(w3: Any, sender: Any, contract: CanonicalContract) -> CanonicalDeployment:
    """Deploy ``contract`` at its canonical address from ``sender`` (a ``chain.tx`` sender), or find it
    there. Its code is checked either way (``chain.code_check``)."""
    chain_id = int(await w3.eth.chain_id)
    if not await code_at(w3, contract.address):
        await require_proxy(w3)
        result = await send_data(w3, PROXY, deployment_data(contract), sender)
        await check_contract_code(w3, contract, chain_id)
        return CanonicalDeployment(contract.address, "0x" + result.tx_hash.hex(), result.gas_used)
    await check_contract_code(w3, contract, chain_id)
    return CanonicalDeployment(contract.address, None)
