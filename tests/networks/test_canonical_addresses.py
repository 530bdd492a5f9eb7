"""PayGo's contracts at one address on every chain: derived from the committed artifacts, deployed by the
app's own command on anvil started as Base Sepolia (84532) and then as Base (8453), and found by the app on
each without being told."""

from __future__ import annotations

import asyncio
from pathlib import Path

from eth_utils import keccak

from paygo_desktop.chain.canonical import JOBS, PROXY, REGISTRY, SALT, VAULT, VAULT_MIN_WITHDRAW_DELAY
from paygo_desktop.chain.code_check import check_contract_code, check_vault
from paygo_desktop.chain.create2 import (
    PROXY_RUNTIME_CODE,
    derived_address,
    expected_runtime_code,
    init_code_hash,
)
from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from tests.chain.conftest import running_anvil
from tests.networks.rehearsal import deploy_with_command, network_entry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def test_the_shipped_addresses_are_where_the_committed_artifacts_land() -> None:
    """A changed contract (a new version) lands elsewhere: this fails until its address is updated."""
    assert derived_address(VAULT) == VAULT.address
    assert derived_address(REGISTRY) == REGISTRY.address
    assert derived_address(JOBS) == JOBS.address
    assert VAULT.constructor_args == (VAULT_MIN_WITHDRAW_DELAY,) and bytes(32) == SALT


def test_the_documentation_gives_the_addresses_and_how_they_are_derived() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for contract in (VAULT, REGISTRY, JOBS):
        assert contract.address in text
        assert "0x" + init_code_hash(contract).hex() in text
    assert PROXY in text


def test_the_same_addresses_on_base_sepolia_and_base(runner: asyncio.Runner, tmp_path: Path) -> None:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    seen: dict[int, dict[str, str]] = {}
    codes: dict[int, bytes] = {}
    for key, chain_id in (("base-sepolia", 84532), ("base", 8453)):
        with running_anvil(chain_id) as url:
            w3 = AsyncWeb3(AsyncHTTPProvider(url))
            assert runner.run(w3.eth.get_code(PROXY)) == PROXY_RUNTIME_CODE  # anvil has it from genesis
            deployed = deploy_with_command(url, key, tmp_path)
            names = ("PayGoVault", "PayGoRegistry", "PayGoJobs")
            seen[chain_id] = {name: deployed[name]["address"] for name in names}
            # the app, in another data directory, finds the vault on its own network entry and trusts its code
            ctx = AppContext.open(DataDir(tmp_path / f"user-{key}").ensure())
            network = network_entry(key, url)
            assert ctx.vault_address(network) == VAULT.address
            assert runner.run(check_vault(w3, VAULT.address, where=network.name)) == VAULT_MIN_WITHDRAW_DELAY
            runner.run(check_contract_code(w3, REGISTRY))
            runner.run(check_contract_code(w3, JOBS))
            codes[chain_id] = bytes(runner.run(w3.eth.get_code(VAULT.address)))
            assert codes[chain_id] == expected_runtime_code(VAULT, chain_id)
            ctx.close()
    assert (
        seen[84532]
        == seen[8453]
        == {"PayGoVault": VAULT.address, "PayGoRegistry": REGISTRY.address, "PayGoJobs": JOBS.address}
    )
    # the vault's code differs by chain (its EIP-712 domain holds the chain id), so the hash the app expects
    # is computed for the chain it is connected to
    assert keccak(codes[84532]) != keccak(codes[8453])
