"""PayGoJobs on the session's anvil: deployed once (the committed artifact, or the build named by
``PAYGO_JOBS_ARTIFACT``: scripts/mutation_check.py runs the job tests against planted bugs this way), every
test account approved to spend USDC for it and impersonated, so a test sends any call from any account at
an exact block time and checks the error of one it must refuse (an ``eth_call`` on the pending block first,
then the transaction itself, which must revert)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paygo_desktop.chain.jobs import Job, JobOnChain, JobsClient, JobsDomain, error_name
from paygo_desktop.chain.vouchers import ZERO_ADDRESS
from paygo_desktop.protocol import jobs as pj

if TYPE_CHECKING:  # tests/chain/conftest.py imports this module's fixtures
    from tests.chain.conftest import Env

JOBS_ARTIFACT_ENV = "PAYGO_JOBS_ARTIFACT"
GAS = 500_000
DAY = 24 * 3600
# the offer the provider's jobs tests list: a page in two days, a day to review it
TRANSLATION_OFFER = pj.JobOfferFields(
    name="Translate one page",
    description="English to French, one page, proofread",
    category="translation",
    price=40 * 10**6,
    asset="USDC",
    delivery_seconds=2 * DAY,
    review_window_seconds=DAY,
)
PRICE = 250 * 10**6  # 250 test USDC


async def deploy_test_jobs(w3: Any, deployer: str) -> str:
    """PayGoJobs under test at an ordinary address: the committed artifact, or ``PAYGO_JOBS_ARTIFACT``'s."""
    from paygo_desktop.chain.artifacts import load_artifact
    from paygo_desktop.chain.tx import send

    override = os.environ.get(JOBS_ARTIFACT_ENV)
    art = json.loads(Path(override).read_text(encoding="utf-8")) if override else None
    abi = art["abi"] if art else load_artifact("PayGoJobs").abi
    bytecode = art["bytecode"] if art else load_artifact("PayGoJobs").bytecode
    result = await send(w3, w3.eth.contract(abi=abi, bytecode=bytecode).constructor(), deployer)
    return str(result.receipt["contractAddress"])


@pytest.fixture(scope="session")
def _jobs_address(_deployed: Env) -> str:
    env = _deployed
    address = env.run(deploy_test_jobs(env.w3, env.deployer))
    for account in (env.payer, env.payer2, env.provider, env.provider2, env.stranger):
        usdc = env.token(env.usdc)
        env.run(_send_fn(env, usdc.functions.approve(address, 2**256 - 1), account))
    return address


async def _send_fn(env: Env, fn: Any, account: Any) -> Any:
    from paygo_desktop.chain.tx import send

    return await send(env.w3, fn, account)


@dataclass
class Jobs:
    """PayGoJobs under test, with helpers to make jobs and send calls at exact times."""

    env: Env
    client: JobsClient
    address: str

    @property
    def domain(self) -> JobsDomain:
        return JobsDomain(self.env.chain_id, self.address)

    def job(
        self,
        *,
        client: Any = None,
        worker: Any = None,
        token: str | None = None,
        price: int = PRICE,
        deadline_in: int = 7 * DAY,
        review_window: int = 3 * DAY,
        terms: bytes = b"\x11" * 32,
        salt: bytes | None = None,
    ) -> Job:
        client_address = client if isinstance(client, str) else (client or self.env.payer).address
        worker_address = worker if isinstance(worker, str) else (worker or self.env.provider).address
        return Job(
            client=client_address,
            worker=worker_address,
            token=self.env.usdc if token is None else token,
            price=price,
            deadline=self.env.chain_time() + deadline_in,
            review_window=review_window,
            terms=terms,
            salt=salt or os.urandom(32),
        )

    def send(
        self,
        sender: Any,
        fn: str,
        *args: Any,
        value: int = 0,
        at: int | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """Call ``fn(*args)`` from ``sender`` (an account or an address) in a block at time ``at`` (by
        default the next second). ``error``: the contract must refuse it with that error, checked on the
        pending block, and the transaction must then revert. Returns the receipt."""
        env = self.env
        address = sender if isinstance(sender, str) else sender.address
        env.rpc("evm_setNextBlockTimestamp", [at if at is not None else env.chain_time() + 1])
        tx = {
            "from": address,
            "to": self.address,
            "data": "0x" + self.client.call_data(fn, *args).hex(),
            "value": hex(value),
        }
        if error is not None:
            answer = _raw(env.url, "eth_call", [tx, "pending"])
            assert "error" in answer, f"{fn} was accepted; it must be refused with {error}"
            assert error_name(answer["error"].get("data")) == error, answer["error"]
        tx_hash = env.rpc("eth_sendTransaction", [{**tx, "gas": hex(GAS)}])
        receipt = None
        deadline = time.monotonic() + 30
        while receipt is None:
            receipt = env.rpc("eth_getTransactionReceipt", [tx_hash])
            assert time.monotonic() < deadline, "no receipt"
        assert (receipt["status"] == "0x1") == (error is None), f"{fn}: expected {error or 'success'}"
        return dict(receipt)

    def fund(self, job: Job, *, sender: Any = None, at: int | None = None) -> dict[str, Any]:
        value = job.price if job.token == ZERO_ADDRESS else 0
        return self.send(sender or job.client, "fund", job.as_tuple(), value=value, at=at)

    def state(self, job: Job) -> JobOnChain:
        return self.env.run(self.client.state(job))

    def gas_paid(self, receipt: dict[str, Any]) -> int:
        return int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)

    def held(self, token: str | None = None) -> int:
        """What the contract holds of ``token`` (USDC by default; ZERO_ADDRESS: ETH)."""
        token = self.env.usdc if token is None else token
        if token == ZERO_ADDRESS:
            return self.env.eth(self.address)
        return int(self.env.run(self.env.token(token).functions.balanceOf(self.address).call()))


def _raw(url: str, method: str, params: list[Any]) -> dict[str, Any]:
    import httpx

    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return dict(httpx.post(url, json=body, timeout=30).json())


@pytest.fixture
def jobs(env: Env, _jobs_address: str) -> Iterator[Jobs]:
    accounts = [a.address for a in (env.payer, env.payer2, env.provider, env.provider2, env.stranger)]
    for address in accounts:  # (the vault's invariant test stops impersonating them when it ends)
        env.rpc("anvil_impersonateAccount", [address])
    yield Jobs(env=env, client=JobsClient(env.w3, _jobs_address), address=_jobs_address)
