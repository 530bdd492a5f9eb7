"""Fixed-price jobs end to end, the client's app core against the real provider over loopback and PayGoJobs
on anvil: the happy path, the refund at the deadline (anvil's clock moved), the approval just before the
deadline, a delivery whose file does not match the hash on chain, a provider proposing other terms, and both
parties trying to take the same money."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from paygo_desktop.chain.jobs import JobStatus
from paygo_desktop.jobs.service import JobError
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import Conflict, ProviderClient
from paygo_desktop.protocol.jobs_client import DeliveryMismatch
from tests.jobs.conftest import DAY, OFFER, PRICE, World, make_service

BRIEF = "Translate the attached page into French.\nKeep the headings."
FILE = "Traduit en français.\n".encode() * 40


def _requested(world: World) -> str:
    record = world.env.run(world.service.request(world.server.url, world.offer_id, BRIEF, world.client))
    return record.job_id


def _funded_and_accepted(world: World) -> str:
    job_id = _requested(world)
    flow = world.send(world.env.run(world.service.plan_fund(job_id)))
    assert flow.state.phase == "done", flow.state.message
    info = world.vendor(lambda api: api.accept(world.env.provider, job_id))
    assert info.state is pj.JobState.accepted
    return job_id


def _deliver(world: World, job_id: str, data: bytes = FILE) -> pj.JobInfo:
    return world.vendor(lambda api: api.deliver_file(world.env.provider, job_id, "page-fr.txt", data))


def test_the_happy_path_pays_the_worker_once(world: World) -> None:
    env, service = world.env, world.service
    client0, worker0 = world.usdc(world.client.address), world.usdc(env.provider.address)
    job_id = _requested(world)
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.requested and view.actions == ("fund",)
    assert view.reminder is not None and view.reminder.kind == "fund"

    plan = env.run(service.plan_fund(job_id))
    assert [r.kind for r in plan] == ["approve", "job-fund"]  # a fresh account approves PayGoJobs first
    assert "PayGo Jobs" in plan[0].description and "Translate one page" in plan[1].description
    assert "1 day to review its delivery" in plan[1].description
    assert world.send(plan).state.phase == "done"
    assert world.usdc(world.client.address) == client0 - PRICE and world.jobs.held() == PRICE
    assert env.run(service.view(job_id)).state is pj.JobState.funded
    with pytest.raises(JobError, match="already funded"):
        env.run(service.plan_fund(job_id))
    with pytest.raises(JobError, match="after the deadline"):
        env.run(service.plan_refund(job_id))

    world.vendor(lambda api: api.accept(env.provider, job_id))
    _deliver(world, job_id)
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.delivered and view.on_chain.delivery == hashlib.sha256(FILE).digest()
    assert view.actions == ("download", "approve")
    path = env.run(service.download(job_id, world.client, world.tmp_path / "downloads"))
    assert path.read_bytes() == FILE
    assert service.repository.get(job_id).download_sha256 == hashlib.sha256(FILE).digest()  # type: ignore[union-attr]

    approve = env.run(service.plan_approve(job_id))
    assert world.send(approve).state.phase == "done"
    assert world.usdc(env.provider.address) == worker0 + PRICE
    assert world.usdc(world.client.address) == client0 - PRICE and world.jobs.held() == 0
    assert env.run(service.view(job_id)).state is pj.JobState.approved
    listed = world.vendor(lambda api: api.jobs(env.provider)).items
    assert [(i.job_id, i.state) for i in listed] == [(job_id, pj.JobState.approved)]

    # replays: the same approval again is refused by the app, and by the contract if sent anyway
    with pytest.raises(JobError):
        env.run(service.plan_approve(job_id))
    replay = world.send(approve)
    assert replay.state.phase == "failed" and "WrongStatus" in replay.state.message
    # no second payout: not to the worker after the review window, not to the client after the deadline
    env.advance(2 * DAY + 1)
    job = service.repository.get(job_id).job  # type: ignore[union-attr]
    world.jobs.send(env.provider, "release", job.as_tuple(), error="WrongStatus")
    world.jobs.send(world.client.address, "refund", job.as_tuple(), error="WrongStatus")
    assert world.usdc(env.provider.address) == worker0 + PRICE and world.jobs.held() == 0


def test_nothing_delivered_the_client_takes_the_refund_after_the_deadline(world: World) -> None:
    env, service = world.env, world.service
    client0, worker0 = world.usdc(world.client.address), world.usdc(env.provider.address)
    job_id = _funded_and_accepted(world)
    job = service.repository.get(job_id).job  # type: ignore[union-attr]
    # a day before the deadline the reminder says the delivery is due
    env.advance(job.deadline - env.chain_time() - DAY + 60)
    view = env.run(service.view(job_id))
    assert (
        view.reminder is not None
        and view.reminder.kind == "delivery-due"
        and view.reminder.at == job.deadline
    )
    # at the deadline itself the refund is still closed
    env.rpc("evm_setNextBlockTimestamp", [job.deadline])
    env.rpc("evm_mine")
    with pytest.raises(JobError, match="after the deadline"):
        env.run(service.plan_refund(job_id))
    env.advance(1)
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.expired and "refund" in view.actions
    assert view.reminder is not None and view.reminder.kind == "refund-ready"
    # the provider can no longer deliver (it refuses, and so would the contract)
    with pytest.raises(Conflict, match="deadline"):
        _deliver(world, job_id)
    assert world.send(env.run(service.plan_refund(job_id))).state.phase == "done"
    assert world.usdc(world.client.address) == client0 and world.jobs.held() == 0
    assert env.run(service.view(job_id)).state is pj.JobState.refunded
    # the money is gone: the worker's late delivery or approval-less release, and a second refund, all fail
    world.jobs.send(env.provider, "deliver", job.as_tuple(), b"\x01" * 32, error="WrongStatus")
    world.jobs.send(env.provider, "release", job.as_tuple(), error="WrongStatus")
    world.jobs.send(world.client.address, "refund", job.as_tuple(), error="WrongStatus")
    assert world.usdc(env.provider.address) == worker0 and world.usdc(world.client.address) == client0


def test_an_approval_just_before_the_deadline(world: World) -> None:
    env, service = world.env, world.service
    worker0 = world.usdc(env.provider.address)
    job_id = _funded_and_accepted(world)
    job = service.repository.get(job_id).job  # type: ignore[union-attr]
    env.advance(job.deadline - env.chain_time() - 30)
    _deliver(world, job_id)  # delivered in the last seconds
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.delivered
    plan = env.run(service.plan_approve(job_id))
    assert world.send(plan).state.phase == "done"
    assert env.chain_time() <= job.deadline
    assert world.usdc(env.provider.address) == worker0 + PRICE
    # past the deadline nothing comes back to the client
    env.advance(DAY)
    with pytest.raises(JobError):
        env.run(service.plan_refund(job_id))
    world.jobs.send(world.client.address, "refund", job.as_tuple(), error="WrongStatus")


def test_a_delivery_that_does_not_match_the_hash_on_chain_is_not_kept(world: World) -> None:
    env, service = world.env, world.service
    job_id = _funded_and_accepted(world)
    _deliver(world, job_id)
    # the provider's file changes after its hash went on chain (a swapped or corrupted file)
    stored = world.server.app.state.job_deliveries.file_path(job_id, "0x" + hashlib.sha256(FILE).hexdigest())
    stored.write_bytes(b"something else entirely")
    downloads = world.tmp_path / "downloads"
    with pytest.raises(DeliveryMismatch, match="does not match the delivery recorded on chain"):
        env.run(service.download(job_id, world.client, downloads))
    assert not downloads.exists() or not any(downloads.iterdir())
    assert service.repository.get(job_id).download_path is None  # type: ignore[union-attr]
    # a download bounded below the file's size keeps nothing either
    stored.write_bytes(FILE)
    with pytest.raises(DeliveryMismatch, match="larger than"):
        env.run(service.download(job_id, world.client, downloads, max_bytes=100))
    assert env.run(service.download(job_id, world.client, downloads)).read_bytes() == FILE


def test_the_review_window_reminder_and_the_workers_release(world: World) -> None:
    """A client who never approves: the reminder before the window ends, then the worker is paid."""
    env, service = world.env, world.service
    worker0 = world.usdc(env.provider.address)
    job_id = _funded_and_accepted(world)
    _deliver(world, job_id)
    ends = env.run(service.view(job_id)).review_ends_at
    assert ends is not None
    env.advance(ends - env.chain_time() - 3600)
    view = env.run(service.view(job_id))
    assert view.reminder is not None and view.reminder.kind == "review-ends" and view.reminder.at == ends
    with pytest.raises(JobError, match="after the review window"):
        env.run(service.plan_release(job_id))
    env.advance(3601)
    view = env.run(service.view(job_id))
    assert "release" in view.actions and view.reminder is not None and view.reminder.kind == "review-over"
    job = service.repository.get(job_id).job  # type: ignore[union-attr]
    world.jobs.send(env.provider, "release", job.as_tuple())
    assert world.usdc(env.provider.address) == worker0 + PRICE
    assert env.run(service.view(job_id)).state is pj.JobState.released
    with pytest.raises(JobError):  # the client's approval now pays nothing more
        env.run(service.plan_approve(job_id))


def test_a_declined_job_is_cancelled_with_the_providers_signature(world: World) -> None:
    env, service = world.env, world.service
    client0 = world.usdc(world.client.address)
    job_id = _requested(world)
    world.send(env.run(service.plan_fund(job_id)))
    with pytest.raises(JobError, match="not declined"):
        env.run(service.plan_cancel(job_id))
    world.vendor(lambda api: api.decline(env.provider, job_id))
    env.run(service.refresh_from_provider(job_id, world.client))
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.declined and "cancel" in view.actions
    assert world.send(env.run(service.plan_cancel(job_id))).state.phase == "done"
    assert world.usdc(world.client.address) == client0 and world.jobs.held() == 0
    assert env.run(service.view(job_id)).state is pj.JobState.cancelled


class _Tampering(ProviderClient):
    """The real provider, its job answer altered on the way (a provider proposing other terms)."""

    field = "price"

    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        data = await super()._request(method, path, **kw)
        if method == "POST" and path == pj.JOBS:  # other terms, with their own consistent id
            data["job"][self.field] = {"price": str(PRICE * 10), "reviewWindow": 0}[self.field]
            data["jobId"] = pj.JobTerms.model_validate(data["job"]).to_job().id_hex
        return data


@pytest.mark.parametrize("field", ["price", "reviewWindow"])
def test_terms_other_than_the_offer_are_refused_and_not_kept(world: World, field: str) -> None:
    tampering = type("T", (_Tampering,), {"field": field})
    service = make_service(
        world.env, world.store, world.client, world.jobs.address, provider_client=tampering
    )
    with pytest.raises(JobError, match="other terms than its offer"):
        world.env.run(service.request(world.server.url, world.offer_id, BRIEF, world.client))
    assert world.store and service.repository.for_client(world.client.address, world.env.chain_id) == []
    assert world.jobs.held() == 0 and world.jobs.state  # nothing funded


def test_a_brief_with_control_characters_is_refused_before_anything_is_sent(world: World) -> None:
    with pytest.raises(JobError, match="without control characters"):
        world.env.run(world.service.request(world.server.url, world.offer_id, "a\x00b", world.client))
    with pytest.raises(JobError, match="1 to 8,000"):
        world.env.run(world.service.request(world.server.url, world.offer_id, "", world.client))
    assert world.vendor(lambda api: api.jobs(world.env.provider)).items == []


def test_status_and_the_fund_replay(world: World) -> None:
    """The same funding sent twice: the app refuses to plan it, the contract refuses it (JobExists)."""
    env, service = world.env, world.service
    job_id = _requested(world)
    plan = env.run(service.plan_fund(job_id))
    world.send(plan)
    client_after = world.usdc(world.client.address)
    replay = world.send(plan[-1:])
    assert replay.state.phase == "failed" and "JobExists" in replay.state.message
    assert world.usdc(world.client.address) == client_after and world.jobs.held() == PRICE
    job = service.repository.get(job_id).job  # type: ignore[union-attr]
    assert world.jobs.state(job).status is JobStatus.FUNDED


def test_a_provider_that_disappears_changes_nothing_about_the_refund(world: World) -> None:
    """The provider stops answering after the job was funded: the app still reads the job from the chain,
    and takes the refund after the deadline without it."""
    from paygo_desktop.store.models import JobRow

    env, service = world.env, world.service
    client0 = world.usdc(world.client.address)
    job_id = _funded_and_accepted(world)
    with world.store.session() as s:  # the provider's address no longer answers
        row = s.get(JobRow, job_id)
        assert row is not None
        row.provider_url = "http://127.0.0.1:9"
    views = env.run(service.views(world.client))  # asks the provider, which is away: the chain answers
    assert [(v.job_id, v.state) for v in views] == [(job_id, pj.JobState.funded)]
    env.advance(2 * DAY + 1)
    view = env.run(service.view(job_id))
    assert view.state is pj.JobState.expired and "refund" in view.actions
    assert world.send(env.run(service.plan_refund(job_id))).state.phase == "done"
    assert world.usdc(world.client.address) == client0 and world.jobs.held() == 0


def test_an_offer_is_priced_in_the_token_at_its_address_not_in_the_name_the_provider_gives_it(
    world: World, tmp_path: Any
) -> None:
    """A provider that lists the USDC contract as "DAI" (18 decimals) would have its offer list read
    40 USDC as 0.00000000004 DAI: the list prices each offer in the app's own token at that address."""
    from paygo_desktop.protocol.jobs_client import JobsProviderClient
    from tests.provider.conftest import provider_server

    env = world.env
    renamed = [{"symbol": "DAI", "address": env.usdc, "decimals": 18}]
    with provider_server(
        env, tmp_path / "renamed", jobs_contract=world.jobs.address, assets=renamed
    ) as server:

        async def offer_in_dai() -> Any:
            async with ProviderClient(server.url, timeout=10) as client:
                fields = OFFER.model_copy(update={"asset": "DAI"})
                return await JobsProviderClient(client).create_offer(env.provider, fields)

        env.run(offer_in_dai())
        [(offer, asset)] = env.run(world.service.priced_offers(server.url))
    assert offer.asset == "DAI" and asset is not None
    assert (asset.symbol, asset.decimals) == ("USDC", 6)


@pytest.mark.parametrize("window", [0, DAY - 1])
def test_an_offer_with_too_short_a_review_window_is_refused_before_anything_is_asked(
    world: World, window: int
) -> None:
    """A provider's own offer with no review window (or less than a day) would let it deliver anything and
    take the price by ``release`` a second later: the client's approval would mean nothing, and the app's
    reminder (a day before the window ends) would never show. The app refuses such an offer before asking
    for a job: nothing is requested, kept or funded."""
    env = world.env
    short = OFFER.model_copy(update={"review_window_seconds": window, "name": "Paid on delivery"})
    offer_id = world.vendor(lambda api: api.create_offer(env.provider, short)).id
    with pytest.raises(JobError, match="review window"):
        env.run(world.service.request(world.server.url, offer_id, BRIEF, world.client))
    assert world.service.repository.for_client(world.client.address, env.chain_id) == []
    assert world.vendor(lambda api: api.jobs(env.provider)).items == [] and world.jobs.held() == 0


def test_an_offer_changed_after_it_was_listed_is_refused(world: World) -> None:
    """The provider raises its price between the user's reading of the offer list and the request (the
    terms it then proposes match the new offer, so they alone look right): the app compares the offer with
    the one the user saw and requests nothing."""
    env, service = world.env, world.service
    [seen] = [o for o, _ in env.run(service.priced_offers(world.server.url)) if o.id == world.offer_id]
    raised = OFFER.model_copy(update={"price": PRICE * 25})
    world.vendor(lambda api: api.update_offer(env.provider, world.offer_id, raised))
    with pytest.raises(JobError, match=r"changed this offer since it was listed.*its price"):
        env.run(service.request(world.server.url, world.offer_id, BRIEF, world.client, seen=seen))
    assert service.repository.for_client(world.client.address, env.chain_id) == []
    assert world.vendor(lambda api: api.jobs(env.provider)).items == []
    # the same offer as now listed is requested at its new price, which the funding then shows
    [now] = [o for o, _ in env.run(service.priced_offers(world.server.url)) if o.id == world.offer_id]
    record = env.run(service.request(world.server.url, world.offer_id, BRIEF, world.client, seen=now))
    assert record.job.price == PRICE * 25


def test_a_job_on_another_contract_is_not_offered_for_funding_again(world: World) -> None:
    """A job kept and funded on one PayGoJobs, seen by the app once it uses another (the network's
    contract changed, or ``--jobs-contract`` named one): read at the new address its status would be None,
    and the app would offer to fund it a second time there. Jobs are read only at the contract they were
    kept for; nothing is planned for the others."""
    from tests.chain.jobs_support import deploy_test_jobs

    env = world.env
    job_id = _requested(world)
    assert world.send(env.run(world.service.plan_fund(job_id))).state.phase == "done"
    other = env.run(deploy_test_jobs(env.w3, env.deployer))
    elsewhere = make_service(env, world.store, world.client, other)
    assert env.run(elsewhere.views()) == []
    with pytest.raises(JobError, match="not one of this account's"):
        env.run(elsewhere.plan_fund(job_id))
    assert world.jobs.held() == PRICE and env.run(world.service.view(job_id)).state is pj.JobState.funded
