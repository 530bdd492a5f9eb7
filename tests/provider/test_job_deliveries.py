"""A job's delivery is sent once, and the file the provider serves is the one whose hash the chain holds:
two deliveries at once, a delivery whose transaction was still waiting when the provider restarted, and one
recorded but never sent. The real provider over loopback HTTP, PayGoJobs on the real anvil (its automine
off while a delivery's transaction is to wait in the pool)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.jobs import Job, JobStatus
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import Conflict, ProviderClient
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.provider.conftest import Server, provider_server
from tests.provider.test_jobs import OFFER

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address

FIRST = b"The translation, first version.\n" * 20
SECOND = b"The translation, second version.\n" * 20


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@contextlib.contextmanager
def _served(env: Env, jobs: Jobs, tmp_path: Path) -> Iterator[Server]:
    with provider_server(env, tmp_path, jobs_contract=jobs.address, max_delivery_bytes=4096) as server:
        yield server


@contextlib.contextmanager
def _no_automine(env: Env) -> Iterator[None]:
    """Transactions wait in anvil's pool until the test mines a block."""
    env.rpc("evm_setAutomine", [False])
    try:
        yield
    finally:
        env.rpc("evm_setAutomine", [True])
        env.rpc("evm_mine", [])


def _pending(env: Env) -> int:
    return int(env.rpc("txpool_status")["pending"], 16)


def _wait_pending(env: Env, count: int) -> None:
    deadline = time.monotonic() + 15
    while _pending(env) < count:
        assert time.monotonic() < deadline, "the delivery's transaction did not reach the pool"
        time.sleep(0.02)


async def _call(url: str, fn: Any) -> Any:
    client = ProviderClient(url, timeout=30)
    try:
        return await fn(JobsProviderClient(client))
    finally:
        await client.aclose()


def _deliver(pool: ThreadPoolExecutor, server: Server, key: Any, job_id: str, data: bytes) -> Future[Any]:
    """The vendor's file upload on a thread of its own (it waits while its transaction is not mined)."""
    return pool.submit(
        asyncio.run, _call(server.url, lambda api: api.deliver_file(key, job_id, "fr.txt", data))
    )


def _accepted_job(env: Env, jobs: Jobs, server: Server) -> tuple[str, Job]:
    def run(fn: Any) -> Any:
        return env.run(_call(server.url, fn))

    offer = run(lambda api: api.create_offer(env.provider, OFFER))
    info = run(lambda api: api.request_job(env.payer, offer.id, "Translate my page into French"))
    job = info.job.to_job()
    jobs.fund(job)
    run(lambda api: api.accept(env.provider, info.job_id))
    return info.job_id, job


def _served_file(env: Env, server: Server, job_id: str, expected: bytes) -> bytes:
    """The delivery the provider shows and the file it serves (checked against ``expected``, the chain's)."""
    info = env.run(_call(server.url, lambda api: api.job(env.payer, job_id)))
    assert info.delivery is not None, "the provider shows no delivery matching the chain's hash"
    assert info.delivery.sha256 == "0x" + expected.hex()
    return bytes(env.run(_call(server.url, lambda api: api.download(env.payer, job_id, expected))))


def test_two_deliveries_at_once_one_is_sent_and_served(env: Env, jobs: Jobs, tmp_path: Path) -> None:
    """The second delivery arrives while the first one's transaction waits to be mined: the chain takes the
    first, and the provider serves the first (the second once replaced the recorded hash and file)."""
    with _served(env, jobs, tmp_path) as server:
        job_id, job = _accepted_job(env, jobs, server)
        with ThreadPoolExecutor(2) as pool, _no_automine(env):
            first = _deliver(pool, server, env.provider, job_id, FIRST)
            _wait_pending(env, 1)
            second = _deliver(pool, server, env.provider, job_id, SECOND)
            time.sleep(1.0)  # the second upload reaches the provider meanwhile
            env.rpc("evm_mine", [])
            assert first.result(timeout=30).state is pj.JobState.delivered
            refused = second.exception(timeout=30)
        on_chain = jobs.state(job)
        assert on_chain.status is JobStatus.DELIVERED and on_chain.delivery == _sha(FIRST)
        assert _served_file(env, server, job_id, on_chain.delivery) == FIRST
        # the second waited for the first and was told the job is delivered
        assert isinstance(refused, Conflict) and "delivered" in str(refused)


def test_a_delivery_still_waiting_when_the_provider_restarted(env: Env, jobs: Jobs, tmp_path: Path) -> None:
    """The first provider sent the delivery and stopped before it was mined (its thread still waits for the
    receipt; it stands for the provider that was killed). The restarted one, on the same database and
    files, refuses another delivery; the same delivery again is sent again and ends delivered."""
    with _served(env, jobs, tmp_path) as before:
        job_id, job = _accepted_job(env, jobs, before)
        resent_id, resent_job = _accepted_job(env, jobs, before)
        with _served(env, jobs, tmp_path) as after, ThreadPoolExecutor(3) as pool:
            with _no_automine(env):
                first = _deliver(pool, before, env.provider, job_id, FIRST)
                _wait_pending(env, 1)
                other = _deliver(pool, after, env.provider, job_id, SECOND)
                wait([other], timeout=2)  # refused at once (or, without the fix, waits to be mined)
                env.rpc("evm_mine", [])
                assert first.result(timeout=30).state is pj.JobState.delivered
                refused = other.exception(timeout=30)
            on_chain = jobs.state(job)
            assert on_chain.status is JobStatus.DELIVERED and on_chain.delivery == _sha(FIRST)
            assert _served_file(env, after, job_id, on_chain.delivery) == FIRST
            assert _served_file(env, before, job_id, on_chain.delivery) == FIRST
            assert isinstance(refused, Conflict) and "not on chain yet" in str(refused)

            # the same delivery again: sent again behind the waiting one, whose transaction is mined first
            with _no_automine(env):
                first = _deliver(pool, before, env.provider, resent_id, FIRST)
                _wait_pending(env, 1)
                again = _deliver(pool, after, env.provider, resent_id, FIRST)
                _wait_pending(env, 2)
                env.rpc("evm_mine", [])
                assert first.result(timeout=30).state is pj.JobState.delivered
                assert again.result(timeout=30).state is pj.JobState.delivered
            assert jobs.state(resent_job).delivery == _sha(FIRST)
            assert _served_file(env, after, resent_id, _sha(FIRST)) == FIRST


def test_a_delivery_recorded_but_never_sent_is_sent_again(env: Env, jobs: Jobs, tmp_path: Path) -> None:
    """The provider recorded a delivery and its file and was stopped before sending it (nothing in the
    pool): only that delivery can follow (another is refused, saying why); sent again, it is served."""
    with _served(env, jobs, tmp_path) as server:
        job_id, job = _accepted_job(env, jobs, server)
        deliveries = server.app.state.job_deliveries
        sha256 = "0x" + _sha(FIRST).hex()
        deliveries._store_file(job_id, sha256, FIRST)  # what the stopped provider left
        deliveries._record(job_id, kind="file", sha256=sha256, file_name="fr.txt", size=len(FIRST), url=None)
        assert jobs.state(job).status is JobStatus.FUNDED

        with pytest.raises(Conflict, match=f"{sha256} is recorded and not on chain yet"):
            env.run(_call(server.url, lambda api: api.deliver_file(env.provider, job_id, "v2.txt", SECOND)))
        assert jobs.state(job).status is JobStatus.FUNDED
        delivered = env.run(
            _call(server.url, lambda api: api.deliver_file(env.provider, job_id, "fr.txt", FIRST))
        )
        assert delivered.state is pj.JobState.delivered and delivered.deliver_tx is not None
        assert jobs.state(job).delivery == _sha(FIRST)
        assert _served_file(env, server, job_id, _sha(FIRST)) == FIRST
