"""The app uses a vault only once its code is PayGo's, on the chain it is connected to (the Base Sepolia
rehearsal): other code at the canonical address, a copy of the vault elsewhere, a vault a provider
advertises that is not the app's, and a chain the vault is not deployed on yet are each refused before
anything is signed or sent, with a message that names what differs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.canonical import VAULT
from paygo_desktop.chain.code_check import UntrustedContract, code_hash
from paygo_desktop.chain.create2 import vault_runtime_code
from paygo_desktop.chain.deploy import deploy_vault
from paygo_desktop.context import AppContext
from paygo_desktop.escrow.service import EscrowService
from paygo_desktop.money import Amount
from paygo_desktop.networks import Network, custom_network
from paygo_desktop.paths import DataDir
from paygo_desktop.sessions.engine import SessionEngine
from paygo_desktop.sessions.plan import SessionError
from tests.networks.conftest import Rehearsal
from tests.sessions.conftest import World, make_wallet, run, run_provider

SVC = "market-data-feed"
HASH = re.compile(r"0x[0-9a-f]{64}")


@contextmanager
def app_on(rehearsal: Rehearsal, tmp_path: Path, network: Network, **provider: object) -> Iterator[World]:
    """The app (a fresh data directory) on ``network``, and the reference provider on the rehearsal chain."""
    ctx = AppContext.open(DataDir(tmp_path / "user").ensure())
    with run_provider(rehearsal.env, tmp_path, **provider) as running:
        world = World(
            env=rehearsal.env,
            tmp_path=tmp_path,
            provider=running,
            store=ctx.store,
            wallet=make_wallet(ctx.store, ctx.data_dir.wallet_dir, rehearsal.env),
            network=network,
        )
        try:
            yield world
        finally:
            for engine in world.engines:
                rehearsal.env.run(engine.shutdown())
            ctx.close()


def app_engine(world: World, vault: str) -> SessionEngine:
    """The app's session engine on ``world.network`` with ``vault`` (``World.engine`` uses the test env's)."""
    made = SessionEngine(
        store=world.store,
        wallet=world.wallet,
        account=world.env.payer.address,
        network=world.network,
        vault_address=vault,
        w3=world.env.w3,
    )
    world.engines.append(made)
    return made


def nonce(rehearsal: Rehearsal) -> int:
    return int(rehearsal.env.rpc("eth_getTransactionCount", [rehearsal.env.payer.address, "latest"]), 16)


def test_other_code_at_the_canonical_address_is_refused(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """The vault's own code with another constructor argument (a minimum delay of 0: a payer could take its
    deposit back before any provider could claim) is not PayGo's vault, though it differs by one word."""
    env = rehearsal.env
    zero_delay = vault_runtime_code(84532, VAULT.address, 0)
    env.rpc("anvil_setCode", [VAULT.address, "0x" + zero_delay.hex()])
    before = nonce(rehearsal)
    with app_on(rehearsal, tmp_path, rehearsal.network) as world:

        async def scenario() -> None:
            engine = app_engine(world, VAULT.address)
            with pytest.raises(SessionError) as refused:
                await engine.plan(world.provider.url, SVC)
            message = str(refused.value)
            assert f"The contract at {VAULT.address} on Base Sepolia is not PayGo's vault v1" in message
            assert code_hash(zero_delay) in message
            assert code_hash(vault_runtime_code(84532, VAULT.address, 15)) in message
            escrow = EscrowService(
                env.w3, world.network, env.payer.address, world.store, vault_address=VAULT.address
            )
            asset = world.network.tokens[0]
            with pytest.raises(UntrustedContract, match="is not PayGo's vault v1"):
                await escrow.new_channel(env.provider.address, asset)
            with pytest.raises(UntrustedContract):
                await escrow.plan_deposit(
                    env.channel(token=asset.address, withdraw_delay=15), Amount(asset, 10**6)
                )

        run(env, scenario)
    assert nonce(rehearsal) == before  # nothing was sent


def test_a_chosen_address_with_other_code_is_refused(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """A network configured with a vault address explicitly: its code is checked too. A copy of the
    canonical vault's code at another address (its EIP-712 domain names the canonical address) and a token's
    code are both refused; so is an address with nothing there."""
    env = rehearsal.env
    chosen = to_checksum_address("0x00000000000000000000000000000000000beefc")
    network = custom_network("Chosen vault", env.url, 84532, vault_address=chosen)
    canonical_code = env.rpc("eth_getCode", [VAULT.address, "latest"])
    for case, (code, why) in enumerate(
        [
            (canonical_code, f"The contract at {chosen} on Chosen vault is not PayGo's vault v1"),
            (load_artifact("TestUSDC").deployed_bytecode, "is not PayGo's vault v1"),
            ("0x", "A PayGo vault is not deployed on Chosen vault yet: there is no contract at"),
        ]
    ):
        env.rpc("anvil_setCode", [chosen, code])
        with app_on(rehearsal, tmp_path / f"case-{case}", network, vault=chosen) as world:

            async def scenario(world: World = world, why: str = why) -> None:
                engine = app_engine(world, chosen)
                with pytest.raises(SessionError) as refused:
                    await engine.plan(world.provider.url, SVC)
                assert why.lower() in str(refused.value).lower()

            run(env, scenario)


def test_a_provider_advertising_a_foreign_vault_is_refused(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """A genuine PayGoVault, but not the canonical one: the provider's channels would live where the app does
    not look, under terms it did not check. Refused, naming both vaults."""
    env = rehearsal.env
    foreign = env.run(deploy_vault(env.w3, env.deployer, 15)).address
    with app_on(rehearsal, tmp_path, rehearsal.network, vault=foreign) as world:

        async def scenario() -> None:
            engine = app_engine(world, VAULT.address)
            with pytest.raises(SessionError) as refused:
                await engine.plan(world.provider.url, SVC)
            message = str(refused.value)
            assert f"through the vault {foreign}" in message
            assert f"not through the PayGo vault this app uses there ({VAULT.address})" in message

        run(env, scenario)


def test_a_custom_network_gets_the_canonical_vault_once_its_code_is_there(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    env = rehearsal.env
    network = custom_network("My Base Sepolia node", env.url, 84532)
    ctx = AppContext.open(DataDir(tmp_path / "ctx").ensure())
    assert network.vault_address is None and ctx.vault_address(network) == VAULT.address
    ctx.close()
    code = env.rpc("eth_getCode", [VAULT.address, "latest"])
    env.rpc("anvil_setCode", [VAULT.address, "0x"])  # not deployed on this chain yet
    with app_on(rehearsal, tmp_path, network) as world:

        async def not_yet() -> None:
            engine = app_engine(world, VAULT.address)
            with pytest.raises(SessionError) as refused:
                await engine.plan(world.provider.url, SVC)
            message = str(refused.value)
            not_there = "PayGo's vault is not deployed on My Base Sepolia node yet: there is no contract at"
            assert f"{not_there} {VAULT.address}" in message
            assert "paygo-desktop contracts deploy --network custom-my-base-sepolia-node" in message

        run(env, not_yet)
        env.rpc("anvil_setCode", [VAULT.address, code])  # deployed: found without any configuration

        async def there() -> None:
            engine = app_engine(world, VAULT.address)
            plan = await engine.plan(world.provider.url, SVC)
            assert plan.option("escrow") is not None

        run(env, there)
