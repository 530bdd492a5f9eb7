"""Real anvil for chain tests: one node per session (127.0.0.1, free port), evm_snapshot/evm_revert per test.

The anvil binary comes from ``npm ci`` (node_modules/.bin/anvil). Missing binary: skip locally, fail under CI.

``PAYGO_VAULT_ARTIFACT=path/to/PayGoVault.json`` deploys that build of the vault instead of the committed
one (same ABI, other bytecode): ``scripts/mutation_check.py`` runs the contract tests against planted bugs
this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.sandbox.node import child_options, rpc
from paygo_desktop.sandbox.world import free_port as _free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_BIN = REPO_ROOT / "node_modules" / ".bin" / "anvil"
MIN_DELAY = 10  # seconds, PayGoVault MIN_WITHDRAW_DELAY on the test chain
CHAIN_ID = 31337
VAULT_ARTIFACT_ENV = "PAYGO_VAULT_ARTIFACT"
T = TypeVar("T")


async def deploy_test_vault(w3: Any, deployer: str, min_delay: int) -> str:
    """The vault under test: the committed artifact, or the build named by ``PAYGO_VAULT_ARTIFACT``."""
    import json

    from paygo_desktop.chain.deploy import deploy_vault
    from paygo_desktop.chain.tx import send

    override = os.environ.get(VAULT_ARTIFACT_ENV)
    if not override:
        return (await deploy_vault(w3, deployer, min_delay)).address
    art = json.loads(Path(override).read_text(encoding="utf-8"))
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    result = await send(w3, factory.constructor(min_delay), deployer)
    return str(result.receipt["contractAddress"])


def _find_anvil() -> str | None:
    if ANVIL_BIN.exists():
        return str(ANVIL_BIN)
    return None if os.environ.get("CI") else shutil.which("anvil")


@contextlib.contextmanager
def running_anvil(chain_id: int = CHAIN_ID) -> Iterator[str]:
    """anvil on a free loopback port with ``chain_id``; its URL. Skips (fails under CI) without anvil."""
    binary = _find_anvil()
    if binary is None:
        msg = f"anvil not found at {ANVIL_BIN}: run `npm ci` at the repository root"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **child_options(),  # anvil dies with pytest, even if pytest itself is killed
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                rpc(url, "eth_chainId")
                break
            except OSError:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"anvil exited with {proc.returncode}: {err}", pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail("anvil did not start within 30 s", pytrace=False)
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    with running_anvil() as url:
        yield url


@pytest.fixture(scope="session")
def runner() -> Iterator[asyncio.Runner]:
    """One event loop for the whole session (the AsyncHTTPProvider session is bound to it)."""
    with asyncio.Runner() as r:
        yield r


def make_account(label: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"paygo-test-{label}"))


@dataclass
class Env:
    url: str
    runner: asyncio.Runner
    w3: Any
    vault: Any  # VaultClient
    usdc: str
    deployer: str  # unlocked anvil account
    payer: LocalAccount
    payer2: LocalAccount
    provider: LocalAccount
    provider2: LocalAccount
    stranger: LocalAccount
    contracts: dict[str, str] = field(default_factory=dict)

    chain_id: int = CHAIN_ID
    min_delay: int = MIN_DELAY

    def expect_revert(self, coro: Coroutine[Any, Any, Any], error: str | None = None) -> None:
        """Run ``coro`` and assert it reverts (optionally with PayGoVault custom error ``error``)."""
        from paygo_desktop.chain.vault import RevertError, revert_error_name

        with pytest.raises(RevertError) as info:
            self.run(coro)
        if error is not None:
            assert revert_error_name(info.value) == error, f"{info.value!r}"

    def domain(self, vault: str | None = None, chain_id: int | None = None) -> Any:
        from paygo_desktop.chain.vouchers import VaultDomain

        return VaultDomain(chain_id or self.chain_id, vault or self.vault.address)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return rpc(self.url, method, params)

    def chain_time(self) -> int:
        """The latest block's timestamp."""
        return int(self.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def advance(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")

    def eth(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def token(self, address: str, kind: str = "TestUSDC") -> Any:
        from paygo_desktop.chain.artifacts import load_artifact

        return self.w3.eth.contract(address=address, abi=load_artifact(kind).abi)

    def usdc_balance(self, owner: str) -> int:
        return int(self.run(self.token(self.usdc).functions.balanceOf(owner).call()))

    def mint_usdc(self, to: str, amount: int) -> None:
        from paygo_desktop.chain.tx import send

        self.run(send(self.w3, self.token(self.usdc).functions.mint(to, amount), self.deployer))

    def deploy(self, artifact: str, *args: Any) -> str:
        from paygo_desktop.chain.deploy import deploy_contract

        return self.run(deploy_contract(self.w3, self.deployer, artifact, *args)).address

    def transact(self, fn: Any, sender: Any = None) -> Any:
        from paygo_desktop.chain.tx import send

        return self.run(send(self.w3, fn, sender or self.deployer))

    def channel(
        self, payer: LocalAccount | None = None, provider: LocalAccount | None = None, **kw: Any
    ) -> Channel:
        kw.setdefault("withdraw_delay", MIN_DELAY)
        return Channel(
            payer=(payer or self.payer).address, provider=(provider or self.provider).address, **kw
        )


@pytest.fixture(scope="session")
def _deployed(anvil_url: str, runner: asyncio.Runner) -> Env:
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.deploy import deploy_test_usdc
    from paygo_desktop.chain.sandbox_permit2 import install_upto_contracts
    from paygo_desktop.chain.vault import VaultClient

    w3 = AsyncWeb3(AsyncHTTPProvider(anvil_url))
    deployer = rpc(anvil_url, "eth_accounts")[0]
    labels = ["payer", "payer2", "provider", "provider2", "stranger"]
    accounts = {label: make_account(label) for label in labels}
    for acct in accounts.values():
        rpc(anvil_url, "anvil_setBalance", [acct.address, hex(10**24)])
    vault = runner.run(deploy_test_vault(w3, deployer, MIN_DELAY))
    usdc = runner.run(deploy_test_usdc(w3, deployer)).address
    runner.run(install_upto_contracts(w3, deployer))  # x402 upto: Permit2 and its proxy, canonical addresses
    env = Env(
        url=anvil_url,
        runner=runner,
        w3=w3,
        vault=VaultClient(w3, vault),
        usdc=usdc,
        deployer=deployer,
        **accounts,
    )
    for acct in accounts.values():
        env.mint_usdc(acct.address, 10**15)
        runner.run(env.vault.approve_token(acct, usdc, 2**256 - 1))
    # a second vault, for cross-vault replay tests
    env.contracts["vault2"] = runner.run(deploy_test_vault(w3, deployer, MIN_DELAY))
    return env


@pytest.fixture
def env(_deployed: Env) -> Iterator[Env]:
    snap = _deployed.rpc("evm_snapshot")
    try:
        yield _deployed
    finally:
        _deployed.rpc("evm_revert", [snap])


# PayGoJobs beside the vault (tests/chain/jobs_support.py): the ``jobs`` fixture for every chain test.
from tests.chain.jobs_support import _jobs_address, jobs  # noqa: E402, F401
