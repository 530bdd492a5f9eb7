"""The provider releases a delivered job by itself once its client's review window has passed on chain
(provider/job_release.py), over real loopback HTTP with PayGoJobs on the real anvil: paid within a couple of
rounds; nothing sent at the window's last second or the one before; a client's approval mined first (before
the round, or in the same block as the release) is no error and pays once; a node that is down is tried
again at the next round; nothing when it is turned off."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.jobs import Job, JobStatus
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from paygo_desktop.provider.job_release import AutoRelease
from paygo_desktop.provider.job_store import JobRow
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.chain.lying_rpc import lying_rpc
from tests.provider.conftest import Server, provider_server

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address
DAY = jobs_support.DAY
ROUND = 0.2  # auto_release_interval of these tests
OFFER = jobs_support.TRANSLATION_OFFER
DIGEST = hashlib.sha256(b"the translated page").digest()


@contextmanager
def desk(env: Env, jobs: Jobs, tmp_path: Path, **config: Any) -> Iterator[tuple[Server, JobsProviderClient]]:
    config.setdefault("auto_release_interval", ROUND)
    with provider_server(env, tmp_path, jobs_contract=jobs.address, **config) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            yield server, JobsProviderClient(client)
        finally:
            env.run(client.aclose())


def delivered_job(env: Env, jobs: Jobs, api: JobsProviderClient) -> tuple[pj.JobInfo, Job, int]:
    """A funded, accepted job the vendor delivered (a link); its JobInfo, terms and review window's end."""
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    info = run(api.request_job(env.payer, offer.id, "Translate my page into French"))
    job = info.job.to_job()
    jobs.fund(job)
    run(api.accept(env.provider, info.job_id))
    delivered = run(api.deliver_link(env.provider, info.job_id, "https://files.example/fr.txt", DIGEST))
    assert delivered.state is pj.JobState.delivered and delivered.review_ends_at is not None
    return delivered, job, delivered.review_ends_at


def chain_time_to(env: Env, timestamp: int) -> None:
    """Mine an empty block at exactly ``timestamp``: the chain's time until the next block."""
    env.rpc("evm_setNextBlockTimestamp", [timestamp])
    env.rpc("evm_mine")
    assert env.chain_time() == timestamp


def sent(env: Env, address: str, block: str = "latest") -> int:
    """Transactions ``address`` has sent (its nonce)."""
    return int(env.rpc("eth_getTransactionCount", [address, block]), 16)


def rounds_pass(server: Server, count: int, until: Callable[[], bool] = lambda: False) -> None:
    """Wait for ``count`` more full rounds of the provider's auto-release, or until ``until()``."""
    auto: AutoRelease = server.app.state.job_release
    start = auto.rounds
    deadline = time.monotonic() + 30
    while auto.rounds < start + count + 1 and not until():  # +1: the round under way may have read before
        assert time.monotonic() < deadline, "the provider's release rounds stopped"
        time.sleep(0.02)


def settled(server: Server, job_id: str) -> bool:
    with server.app.state.jobs.store.tx() as db:
        return bool(db.get(JobRow, job_id).settled)


def release_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("paygo_desktop.provider.job")
    ]


def test_a_delivered_job_is_released_by_the_provider_once_its_review_window_has_passed(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody asks: within a couple of rounds of the chain's time passing the window, the provider sends
    ``release`` and the vendor's balance rises by the price, once. The server then stops at once."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    with desk(env, jobs, tmp_path) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        chain_time_to(env, ends + 1)
        rounds_pass(server, 2, until=lambda: jobs.state(job).status is not JobStatus.DELIVERED)
        assert jobs.state(job).status is JobStatus.RELEASED
        assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price and jobs.held() == 0
        assert env.run(api.job(env.payer, info.job_id)).state is pj.JobState.released
        rounds_pass(server, 2)  # later rounds read it as settled and send nothing more
        assert sent(env, env.provider.address) == nonce0 + 1 and settled(server, info.job_id)
        assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price
        auto: AutoRelease = server.app.state.job_release
        assert auto.running
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5 and not auto.running  # its task ended with the server
    lines = [r.getMessage() for r in caplog.records if "release of job" in r.getMessage()]
    assert len(lines) == 1 and str(OFFER.price) in lines[0] and env.provider.address in lines[0]
    # the job's id whole (32-byte hex, logged as public_hex: the app's log filter, installed by an earlier
    # test of the run, leaves it be), so the line can be found by the job's id
    assert info.job_id.lower().removeprefix("0x") in lines[0].lower()
    assert release_warnings(caplog) == []


def test_nothing_is_sent_before_the_review_window_has_ended_on_chain(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One second before the window's end, and at its last second (the contract's ``block.timestamp >
    endsAt``), the rounds send nothing: no transaction, not even one that reverts. A second later, the
    release."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    with desk(env, jobs, tmp_path) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        nonce0 = sent(env, env.provider.address)
        for moment in (ends - 1, ends):
            chain_time_to(env, moment)
            rounds_pass(server, 3)
            assert sent(env, env.provider.address, "pending") == nonce0, f"a release was sent at {moment}"
            assert jobs.state(job).status is JobStatus.DELIVERED
            assert env.run(api.job(env.payer, info.job_id)).state is pj.JobState.delivered
        assert release_warnings(caplog) == []  # nor did it try (a refused estimate is warned of)
        chain_time_to(env, ends + 1)
        rounds_pass(server, 2, until=lambda: jobs.state(job).status is JobStatus.RELEASED)
        assert jobs.state(job).status is JobStatus.RELEASED


def test_a_client_who_approves_just_before_the_round_is_no_error(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The client's approval is mined in the block that ends the review window: the next round finds the job
    approved, sends nothing and warns of nothing; the vendor is paid once."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    with desk(env, jobs, tmp_path) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        jobs.send(env.payer, "approve", job.as_tuple(), DIGEST, at=ends + 1)
        rounds_pass(server, 3)
        assert jobs.state(job).status is JobStatus.APPROVED and settled(server, info.job_id)
        assert sent(env, env.provider.address, "pending") == nonce0
        assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price
        assert env.run(api.job(env.provider, info.job_id)).state is pj.JobState.approved
    assert release_warnings(caplog) == []


def test_a_release_mined_after_the_clients_approval_is_no_error(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The round sends its release; the client's approval, paying a higher tip, is mined first in the same
    block: the release reverts, and the round takes the job as paid (once), without a warning."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    with desk(env, jobs, tmp_path) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        worker0 = env.usdc_balance(env.provider.address)
        nonce0 = sent(env, env.provider.address)
        env.rpc("evm_setAutomine", [False])
        try:
            chain_time_to(env, ends + 1)
            deadline = time.monotonic() + 20
            while sent(env, env.provider.address, "pending") == nonce0:  # the round's release waits
                assert time.monotonic() < deadline, "no release was sent"
                time.sleep(0.02)
            approve = {
                "from": env.payer.address,
                "to": jobs.address,
                "data": "0x" + jobs.client.call_data("approve", job.as_tuple(), DIGEST).hex(),
                "gas": hex(jobs_support.GAS),
                "maxPriorityFeePerGas": hex(100 * 10**9),
                "maxFeePerGas": hex(200 * 10**9),
            }
            approve_hash = env.rpc("eth_sendTransaction", [approve])
            env.rpc("evm_mine")
        finally:
            env.rpc("evm_setAutomine", [True])
        assert env.rpc("eth_getTransactionReceipt", [approve_hash])["status"] == "0x1"
        rounds_pass(server, 2, until=lambda: settled(server, info.job_id))
        assert settled(server, info.job_id) and jobs.state(job).status is JobStatus.APPROVED
        assert sent(env, env.provider.address) == nonce0 + 1  # its release, reverted
        assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price and jobs.held() == 0
        rounds_pass(server, 2)
        assert sent(env, env.provider.address, "pending") == nonce0 + 1
    assert release_warnings(caplog) == []
    assert any("reverted: the job was approved first" in r.getMessage() for r in caplog.records)


def test_with_auto_release_off_nothing_is_released(env: Env, jobs: Jobs, tmp_path: Path) -> None:
    """``auto_release_interval = 0``: the job waits for the vendor's own release."""
    with desk(env, jobs, tmp_path, auto_release_interval=0) as (server, api):
        assert server.app.state.job_release is None
        info, job, ends = delivered_job(env, jobs, api)
        nonce0 = sent(env, env.provider.address)
        chain_time_to(env, ends + 1)
        time.sleep(10 * ROUND)
        assert sent(env, env.provider.address, "pending") == nonce0
        assert jobs.state(job).status is JobStatus.DELIVERED
        assert env.run(api.release(env.provider, info.job_id)).state is pj.JobState.released


class AllMethods(dict[str, int]):
    """``LyingRpc.http_errors`` answering every method with a 502: the node is down."""

    def get(self, key: str, default: Any = None) -> int:  # type: ignore[override]
        return 502


def test_a_node_that_is_down_is_tried_again_at_the_next_round(
    env: Env, jobs: Jobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While the provider's node answers nothing but errors, each round ends with one warning and the next
    comes an interval later (no crash, no busy loop); once the node is back, the job is released."""
    caplog.set_level(logging.INFO, logger="paygo_desktop.provider")
    with lying_rpc(env.url) as (url, node), desk(env, jobs, tmp_path, rpc_url=url) as (server, api):
        info, job, ends = delivered_job(env, jobs, api)
        node.http_errors = AllMethods()
        chain_time_to(env, ends + 1)  # (straight to anvil, not through the provider's node)
        auto: AutoRelease = server.app.state.job_release
        start, rounds0 = time.monotonic(), auto.rounds
        while auto.rounds < rounds0 + 3:  # (web3 retries a failed call a few times within a round)
            assert time.monotonic() - start < 60, "the rounds stopped with the node"
            time.sleep(0.05)
        rounds, elapsed = auto.rounds - rounds0, time.monotonic() - start
        assert elapsed >= (rounds - 1) * ROUND and auto.running  # a pause after each failed round
        stopped = [r for r in release_warnings(caplog) if "release round stopped" in r]
        assert rounds <= len(stopped) <= rounds + 1  # one line a round
        assert jobs.state(job).status is JobStatus.DELIVERED
        node.http_errors = {}
        rounds_pass(server, 2, until=lambda: settled(server, info.job_id))  # (after the release is mined)
        assert jobs.state(job).status is JobStatus.RELEASED and settled(server, info.job_id)
