"""The provider's fixed-price jobs over real loopback HTTP, with PayGoJobs on the real anvil: the offer in
the catalog, a request with its brief, the vendor's answers, the delivery (its hash posted on chain), the
download, and every state read from the chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paygo_desktop.chain.jobs import NO_DELIVERY, JobStatus, brief_hash, verify_cancel
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import Conflict, ProviderClient, ProviderHTTPError, Unauthorized
from paygo_desktop.protocol.jobs_client import DeliveryMismatch, JobsProviderClient
from tests.chain import jobs_support
from tests.chain.conftest import Env
from tests.chain.jobs_support import Jobs
from tests.provider.conftest import Server, auth_headers, provider_server

# PayGoJobs beside the vault on the chain tests' anvil (its fixtures, used here)
jobs = jobs_support.jobs
_jobs_address = jobs_support._jobs_address
DAY = jobs_support.DAY
OFFER = jobs_support.TRANSLATION_OFFER


@pytest.fixture
def desk(env: Env, jobs: Jobs, tmp_path: Path) -> Iterator[tuple[Server, JobsProviderClient]]:
    with provider_server(env, tmp_path, jobs_contract=jobs.address, max_delivery_bytes=4096) as server:
        client = ProviderClient(server.url, timeout=10)
        try:
            yield server, JobsProviderClient(client)
        finally:
            env.run(client.aclose())


def test_a_job_from_offer_to_approval(env: Env, jobs: Jobs, desk: tuple[Server, JobsProviderClient]) -> None:
    _, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    listed = run(api.offers()).items
    assert offer.type == "job" and offer in listed
    assert [o.id for o in listed if o != offer] == ["proofread-page"]  # the demo catalog's job offer
    with pytest.raises(Unauthorized):  # only the provider's key adds offers
        run(api.create_offer(env.payer, OFFER))

    brief = "Translate the attached page into French.\nKeep the headings."
    info = run(api.request_job(env.payer, offer.id, brief))
    job = info.job.to_job()
    assert info.state is pj.JobState.requested and info.job_id == job.id_hex
    assert (job.client, job.worker, job.token, job.price) == (
        env.payer.address,
        env.provider.address,
        env.usdc,
        OFFER.price,
    )
    assert job.terms == brief_hash(offer.id, brief) and job.review_window == DAY
    assert job.deadline == info.chain_time + 2 * DAY

    # the vendor cannot accept or deliver what is not funded; nobody else sees the job
    with pytest.raises(Conflict, match="fund"):
        run(api.accept(env.provider, info.job_id))
    with pytest.raises(Unauthorized):
        run(api.job(env.stranger, info.job_id))
    with pytest.raises(Unauthorized):
        run(api.accept(env.payer, info.job_id))

    jobs.fund(job)
    assert run(api.job(env.payer, info.job_id)).state is pj.JobState.funded
    with pytest.raises(Conflict, match="accept"):
        run(api.deliver_file(env.provider, info.job_id, "page-fr.txt", b"Bonjour"))
    assert run(api.accept(env.provider, info.job_id)).state is pj.JobState.accepted

    data = "Traduit en français.\n".encode() * 10
    delivered = run(api.deliver_file(env.provider, info.job_id, "page-fr.txt", data))
    digest = hashlib.sha256(data).digest()
    assert delivered.state is pj.JobState.delivered and delivered.deliver_tx is not None
    assert delivered.delivery is not None and delivered.delivery.sha256 == "0x" + digest.hex()
    on_chain = jobs.state(job)
    assert on_chain.status is JobStatus.DELIVERED and on_chain.delivery == digest
    assert delivered.review_ends_at == on_chain.delivered_at + DAY
    with pytest.raises(Conflict):  # delivered once
        run(api.deliver_file(env.provider, info.job_id, "other.txt", b"other"))

    # the client downloads it, checked against the chain's hash; a wrong expectation keeps nothing
    assert run(api.download(env.payer, info.job_id, on_chain.delivery)) == data
    with pytest.raises(DeliveryMismatch):
        run(api.download(env.payer, info.job_id, hashlib.sha256(b"what I expected").digest()))
    with pytest.raises(Unauthorized):
        run(api.download(env.stranger, info.job_id, on_chain.delivery))

    jobs.send(env.payer, "approve", job.as_tuple(), digest)
    listed = run(api.jobs(env.provider)).items
    assert [(i.job_id, i.state) for i in listed] == [(info.job_id, pj.JobState.approved)]
    assert run(api.jobs(env.payer)).items[0].state is pj.JobState.approved
    assert run(api.jobs(env.payer2)).items == []


def test_a_declined_job_is_refunded_with_the_providers_cancel(
    env: Env,
    jobs: Jobs,
    desk: tuple[Server, JobsProviderClient],
) -> None:
    _, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    info = run(api.request_job(env.payer, offer.id, "A review of my thesis, 80 pages"))
    job = info.job.to_job()
    jobs.fund(job)
    declined = run(api.decline(env.provider, info.job_id))
    assert declined.state is pj.JobState.declined and declined.cancel_signature is not None
    assert verify_cancel(jobs.domain, job, NO_DELIVERY, declined.cancel_signature)
    with pytest.raises(Conflict):
        run(api.accept(env.provider, info.job_id))
    jobs.send(env.payer, "cancel", job.as_tuple(), bytes.fromhex(declined.cancel_signature[2:]))
    assert run(api.job(env.payer, info.job_id)).state is pj.JobState.cancelled
    assert jobs.held() == 0


def test_a_link_delivery_and_the_upload_limits(
    env: Env,
    jobs: Jobs,
    desk: tuple[Server, JobsProviderClient],
) -> None:
    server, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    info = run(api.request_job(env.payer, offer.id, "Record a 10 minute consultation"))
    job = info.job.to_job()
    jobs.fund(job)
    run(api.accept(env.provider, info.job_id))
    # a file over max_delivery_bytes is refused before anything is stored or sent
    with pytest.raises(ProviderHTTPError) as too_big:
        run(api.deliver_file(env.provider, info.job_id, "big.bin", b"x" * 5000))
    assert too_big.value.status == 413
    with pytest.raises(ProviderHTTPError):  # a name with a path in it
        run(api.deliver_file(env.provider, info.job_id, "../etc/passwd", b"x"))
    assert jobs.state(job).status is JobStatus.FUNDED
    # a brief with control characters is refused; nothing is kept
    body = b'{"offerId": "' + offer.id.encode() + b'", "brief": "a\\u0000b"}'
    headers = auth_headers(server, env.payer, "POST", pj.JOBS, body)
    answer = httpx.post(server.url + pj.JOBS, content=body, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_request"
    assert [i.job_id for i in run(api.jobs(env.payer)).items] == [info.job_id]
    # JSON bodies keep their own limit
    big = b'{"name": "' + b"x" * 70_000 + b'"}'
    target = pj.JOB_OFFERS
    headers = auth_headers(server, env.provider, "POST", target, big)
    assert httpx.post(server.url + target, content=big, headers=headers).status_code == 413

    digest = hashlib.sha256(b"the recording").digest()
    delivered = run(api.deliver_link(env.provider, info.job_id, "https://files.example/rec.mp3", digest))
    assert delivered.delivery is not None and delivered.delivery.kind == "link"
    assert delivered.delivery.url == "https://files.example/rec.mp3"
    assert jobs.state(job).delivery == digest


def test_the_deadline_is_the_chains(env: Env, jobs: Jobs, desk: tuple[Server, JobsProviderClient]) -> None:
    """Past the deadline (anvil's clock moved on), the job is expired, refundable, and the vendor can neither
    accept nor deliver it."""
    _, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    info = run(api.request_job(env.payer, offer.id, "Proofread a letter"))
    job = info.job.to_job()
    jobs.fund(job)
    env.rpc("evm_increaseTime", [2 * DAY + 1])
    env.rpc("evm_mine", [])
    assert run(api.job(env.payer, info.job_id)).state is pj.JobState.expired
    with pytest.raises(Conflict, match="deadline"):
        run(api.accept(env.provider, info.job_id))
    jobs.send(env.stranger, "refund", job.as_tuple())
    assert run(api.job(env.payer, info.job_id)).state is pj.JobState.refunded


def test_a_client_who_never_approves_the_vendor_releases_the_price(
    env: Env, jobs: Jobs, desk: tuple[Server, JobsProviderClient]
) -> None:
    """A client who takes the delivery and never approves: once the review window has passed, the vendor
    has its provider send ``release`` from its key and is paid (not a second time); before the window ends,
    or for someone else, nothing is sent."""
    _, api = desk
    run = env.run
    offer = run(api.create_offer(env.provider, OFFER))
    info = run(api.request_job(env.payer, offer.id, "Translate my page into French"))
    job = info.job.to_job()
    jobs.fund(job)
    run(api.accept(env.provider, info.job_id))
    with pytest.raises(Conflict, match="not delivered"):
        run(api.release(env.provider, info.job_id))
    delivered = run(api.deliver_file(env.provider, info.job_id, "fr.txt", b"Bonjour\n" * 10))
    assert delivered.review_ends_at is not None
    worker0 = env.usdc_balance(env.provider.address)
    with pytest.raises(Conflict, match="review window"):
        run(api.release(env.provider, info.job_id))
    # the window's last second exactly: not yet (evm_increaseTime would land past it by the wall time since
    # the last block, a second or more on a busy machine)
    env.rpc("evm_setNextBlockTimestamp", [delivered.review_ends_at])
    env.rpc("evm_mine")
    assert env.chain_time() == delivered.review_ends_at
    with pytest.raises(Conflict, match="review window"):
        run(api.release(env.provider, info.job_id))
    assert jobs.state(job).status is JobStatus.DELIVERED
    with pytest.raises(Unauthorized):  # the vendor's key only
        run(api.release(env.payer, info.job_id))

    env.advance(1)
    released = run(api.release(env.provider, info.job_id))
    assert released.state is pj.JobState.released and jobs.state(job).status is JobStatus.RELEASED
    assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price and jobs.held() == 0
    with pytest.raises(Conflict):  # paid once
        run(api.release(env.provider, info.job_id))
    assert env.usdc_balance(env.provider.address) == worker0 + OFFER.price
