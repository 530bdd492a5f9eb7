"""Job requests not funded are bounded: one wallet has at most ``max_open_job_requests`` of them at a time
(429, saying why), and those not funded within ``job_request_ttl`` are dropped and stop counting. The real
provider over loopback HTTP, PayGoJobs on the real anvil, the provider's real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from paygo_desktop.protocol.client import NotFound, ProviderClient, ProviderHTTPError
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from paygo_desktop.provider.job_store import JobRow
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.provider.conftest import Server, provider_server
from tests.provider.test_jobs import OFFER

jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address

CAP = 3
TTL = 3600
BRIEF = "A brief as long as a brief may be. " * 220  # 7,700 characters


@pytest.fixture
def desk(env: Env, jobs: Jobs, tmp_path: Path) -> Iterator[tuple[Server, JobsProviderClient]]:
    config = {"jobs_contract": jobs.address, "max_open_job_requests": CAP, "job_request_ttl": TTL}
    with provider_server(env, tmp_path, **config) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            yield server, JobsProviderClient(client)
        finally:
            env.run(client.aclose())


def _rows(server: Server) -> int:
    with server.app.state.jobs.store.tx() as db:
        return int(db.scalar(select(func.count()).select_from(JobRow)))


def test_one_wallet_has_a_few_unfunded_requests_at_most(
    env: Env, jobs: Jobs, desk: tuple[Server, JobsProviderClient]
) -> None:
    server, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    asked = [run(api.request_job(env.payer, offer.id, BRIEF)) for _ in range(CAP)]
    with pytest.raises(ProviderHTTPError) as refused:
        run(api.request_job(env.payer, offer.id, BRIEF))
    assert refused.value.status == 429 and refused.value.code == "too_many_open_requests"
    assert f"{CAP} job requests not funded" in str(refused.value) and "1 h" in str(refused.value)
    assert _rows(server) == CAP  # nothing kept from the refused request

    # another wallet still asks; a funded request no longer counts for the first one
    run(api.request_job(env.payer2, offer.id, BRIEF))
    funded = asked[0].job.to_job()
    jobs.fund(funded)
    run(api.request_job(env.payer, offer.id, BRIEF))
    with pytest.raises(ProviderHTTPError) as again:
        run(api.request_job(env.payer, offer.id, BRIEF))
    assert again.value.status == 429


def test_unfunded_requests_are_dropped_after_their_time(
    env: Env, jobs: Jobs, desk: tuple[Server, JobsProviderClient]
) -> None:
    server, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    old = [run(api.request_job(env.payer, offer.id, BRIEF)) for _ in range(CAP)]
    jobs.fund(old[0].job.to_job())
    other = run(api.request_job(env.payer2, offer.id, BRIEF))
    assert _rows(server) == CAP + 1

    server.clock.advance(TTL + 1)
    # the expired ones no longer count: the wallet asks again, its full number
    fresh = [run(api.request_job(env.payer, offer.id, BRIEF)) for _ in range(CAP)]
    # and they are gone, every wallet's; the funded one is a job, kept
    for info in [*old[1:], other]:
        with pytest.raises(NotFound):
            run(api.job(env.payer if info is not other else env.payer2, info.job_id))
    assert run(api.job(env.payer, old[0].job_id)).job_id == old[0].job_id
    assert _rows(server) == 1 + CAP
    listed = {i.job_id for i in run(api.jobs(env.payer)).items}
    assert listed == {old[0].job_id, *(i.job_id for i in fresh)}
