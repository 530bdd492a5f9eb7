"""Routes of the fixed-price jobs (registered by ``create_app``): the job offers of the catalog, a client's
job requests, the vendor's answers and deliveries, and the delivered file's download. The rules are in
``provider/jobs.py`` and ``provider/job_deliveries.py``; docs/provider-api.md, Fixed-price jobs, describes
them."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from paygo_desktop.protocol import jobs as pj
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.core import Clock
from paygo_desktop.provider.job_deliveries import JobDeliveries
from paygo_desktop.provider.jobs import JobDesk
from paygo_desktop.provider.request_auth import VendorAuth, WalletAuth
from paygo_desktop.provider.store import Store

OfferIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", max_length=64)]
JobIdPath = Annotated[str, PathParam(pattern=r"^0x[0-9a-fA-F]{64}$")]
FileNameQuery = Annotated[str, Query(alias="name", min_length=1, max_length=pj.MAX_FILE_NAME)]

#: The upload route, whose body is the delivered file (``max_delivery_bytes``), not JSON.
UPLOAD_PATH = re.compile(
    "^" + re.escape(pj.JOB_DELIVERY_FILE).replace(re.escape("{job_id}"), "0x[0-9a-fA-F]{64}") + "$"
)


def register(
    app: FastAPI,
    config: ProviderConfig,
    store: Store,
    clock: Clock,
    account: LocalAccount,
    lock: Callable[[], AbstractAsyncContextManager[Any]],
) -> JobDesk:
    """The job routes on ``app``; ``lock`` serialises the transactions sent from the provider's key (the
    claimer's lock: one sender, one nonce sequence, across workers)."""
    desk = JobDesk(config, store, account, clock, lock)
    deliveries = JobDeliveries(desk, config.deliveries_dir)
    app.state.jobs = desk
    app.state.job_deliveries = deliveries

    @app.get(pj.JOB_OFFERS, response_model=pj.JobOfferPage)
    async def list_offers() -> pj.JobOfferPage:
        return desk.offers(active_only=True)

    @app.get(pj.JOB_OFFER, response_model=pj.JobOffer)
    async def get_offer(offer_id: OfferIdPath) -> pj.JobOffer:
        return desk.offer(offer_id)

    @app.post(pj.JOB_OFFERS, response_model=pj.JobOffer, status_code=201)
    async def create_offer(fields: pj.JobOfferFields, _: VendorAuth) -> pj.JobOffer:
        return desk.save_offer(fields)

    @app.put(pj.JOB_OFFER, response_model=pj.JobOffer)
    async def update_offer(offer_id: OfferIdPath, fields: pj.JobOfferFields, _: VendorAuth) -> pj.JobOffer:
        return desk.save_offer(fields, offer_id)

    @app.delete(pj.JOB_OFFER, status_code=204)
    async def delete_offer(offer_id: OfferIdPath, _: VendorAuth) -> Response:
        desk.delete_offer(offer_id)
        return Response(status_code=204)

    @app.post(pj.JOBS, response_model=pj.JobInfo, status_code=201)
    async def request_job(req: pj.JobRequest, client: WalletAuth) -> pj.JobInfo:
        return await desk.request(client, req)

    @app.get(pj.JOBS, response_model=pj.JobList)
    async def list_jobs(who: WalletAuth) -> pj.JobList:
        return await desk.jobs(who)

    @app.get(pj.JOB, response_model=pj.JobInfo)
    async def get_job(job_id: JobIdPath, who: WalletAuth) -> pj.JobInfo:
        return await desk.info(job_id, who)

    @app.post(pj.JOB_ACCEPT, response_model=pj.JobInfo)
    async def accept_job(job_id: JobIdPath, _: VendorAuth) -> pj.JobInfo:
        return await desk.accept(job_id)

    @app.post(pj.JOB_DECLINE, response_model=pj.JobInfo)
    async def decline_job(job_id: JobIdPath, _: VendorAuth) -> pj.JobInfo:
        return await desk.decline(job_id)

    @app.post(pj.JOB_RELEASE, response_model=pj.JobInfo)
    async def release_job(job_id: JobIdPath, _: VendorAuth) -> pj.JobInfo:
        return await desk.release(job_id)

    @app.put(pj.JOB_DELIVERY_FILE, response_model=pj.JobInfo)
    async def deliver_file(
        job_id: JobIdPath, name: FileNameQuery, request: Request, _: VendorAuth
    ) -> pj.JobInfo:
        try:
            file_name = pj.DeliveryFileName.validate_python(name)
        except ValueError:
            raise ApiError(422, "invalid_request", "name: a file name without path separators") from None
        return await deliveries.deliver_file(job_id, file_name, await request.body())

    @app.put(pj.JOB_DELIVERY_LINK, response_model=pj.JobInfo)
    async def deliver_link(job_id: JobIdPath, link: pj.DeliveryLink, _: VendorAuth) -> pj.JobInfo:
        return await deliveries.deliver_link(job_id, link)

    @app.get(pj.JOB_DELIVERY_FILE)
    async def download(job_id: JobIdPath, who: WalletAuth) -> FileResponse:
        path, sha256, file_name = await deliveries.delivery_file(job_id, who)
        return FileResponse(
            path,
            media_type="application/octet-stream",
            filename=file_name,
            headers={pj.DELIVERY_HASH_HEADER: sha256},
        )

    return desk
