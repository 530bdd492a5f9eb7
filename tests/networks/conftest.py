"""The Base Sepolia rehearsal (``rehearsal``): one anvil with chain id 84532 for the session, PayGo's
contracts deployed there by ``contracts deploy --network base-sepolia``; each test runs on a snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from paygo_desktop.networks import Network
from tests.chain.conftest import Env, running_anvil
from tests.chain.conftest import runner as runner
from tests.networks.rehearsal import deploy_with_command, install_tokens, network_entry, rehearsal_env


@dataclass
class Rehearsal:
    env: Env
    network: Network  # the app's own "Base Sepolia" entry, pointed at the node
    deployed: dict[str, Any]  # what contracts deploy printed


@pytest.fixture(scope="session")
def _base_sepolia(runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    with running_anvil(84532) as url:
        network = network_entry("base-sepolia", url)
        install_tokens(url, network)  # USDC first: the rehearsal's sessions pay in it
        deployed = deploy_with_command(url, network.key, tmp_path_factory.mktemp("rehearsal"))
        yield Rehearsal(env=rehearsal_env(url, runner, network), network=network, deployed=deployed)


@pytest.fixture
def rehearsal(_base_sepolia: Rehearsal) -> Iterator[Rehearsal]:
    snapshot = _base_sepolia.env.rpc("evm_snapshot")
    try:
        yield _base_sepolia
    finally:
        _base_sepolia.env.rpc("evm_revert", [snapshot])
