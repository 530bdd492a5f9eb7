"""The app's client for a provider's fixed-price jobs (protocol/jobs.py): job offers, requests, the
vendor's answers and deliveries, and the delivered file's download, bounded in size and checked against
the hash the chain holds before anything is written.

It rides on ``ProviderClient`` (its connection, its request signing and its error mapping): every failure
is a ``ProviderError``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from paygo_desktop.answer_limits import Pace, TooSlow
from paygo_desktop.errors import UserFacingError
from paygo_desktop.peer_text import is_digits
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import (
    ProviderClient,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeout,
    ProviderUnreachable,
    refuse_compressed_answer,
)

T = TypeVar("T", bound=BaseModel)
#: The largest delivery the app downloads (the reference provider takes 16 MiB by default).
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


class DeliveryMismatch(UserFacingError):
    """The file the provider served is not the delivery whose hash is on chain."""


class JobsProviderClient:
    def __init__(self, provider: ProviderClient) -> None:
        self.provider = provider

    def _path(self, template: str, **ids: str) -> str:
        return template.format(**ids)

    async def _call(self, cls: type[T], method: str, path: str, key: Any = None, **kw: Any) -> T:
        return ProviderClient._model(cls, await self.provider._request(method, path, auth_key=key, **kw))

    # ------------------------------------------------------------------ offers

    async def offers(self) -> pj.JobOfferPage:
        return await self._call(pj.JobOfferPage, "GET", pj.JOB_OFFERS)

    async def offer(self, offer_id: str) -> pj.JobOffer:
        return await self._call(pj.JobOffer, "GET", self._path(pj.JOB_OFFER, offer_id=offer_id))

    async def create_offer(self, key: Any, fields: pj.JobOfferFields) -> pj.JobOffer:
        body = fields.model_dump(mode="json", by_alias=True)
        return await self._call(pj.JobOffer, "POST", pj.JOB_OFFERS, key, json_body=body)

    async def update_offer(self, key: Any, offer_id: str, fields: pj.JobOfferFields) -> pj.JobOffer:
        body = fields.model_dump(mode="json", by_alias=True)
        path = self._path(pj.JOB_OFFER, offer_id=offer_id)
        return await self._call(pj.JobOffer, "PUT", path, key, json_body=body)

    # ------------------------------------------------------------------ jobs

    async def request_job(self, key: Any, offer_id: str, brief: str) -> pj.JobInfo:
        body = pj.JobRequest(offer_id=offer_id, brief=brief).model_dump(mode="json", by_alias=True)
        return await self._call(pj.JobInfo, "POST", pj.JOBS, key, json_body=body)

    async def job(self, key: Any, job_id: str) -> pj.JobInfo:
        return await self._call(pj.JobInfo, "GET", self._path(pj.JOB, job_id=job_id), key)

    async def jobs(self, key: Any) -> pj.JobList:
        return await self._call(pj.JobList, "GET", pj.JOBS, key)

    async def accept(self, key: Any, job_id: str) -> pj.JobInfo:
        return await self._call(pj.JobInfo, "POST", self._path(pj.JOB_ACCEPT, job_id=job_id), key)

    async def decline(self, key: Any, job_id: str) -> pj.JobInfo:
        return await self._call(pj.JobInfo, "POST", self._path(pj.JOB_DECLINE, job_id=job_id), key)

    async def release(self, key: Any, job_id: str) -> pj.JobInfo:
        """The vendor has its provider send ``release``: paid once a delivery's review window has passed."""
        return await self._call(pj.JobInfo, "POST", self._path(pj.JOB_RELEASE, job_id=job_id), key)

    async def deliver_file(self, key: Any, job_id: str, file_name: str, data: bytes) -> pj.JobInfo:
        path = self._path(pj.JOB_DELIVERY_FILE, job_id=job_id)
        return await self._call(
            pj.JobInfo,
            "PUT",
            path,
            key,
            content=data,
            params={"name": file_name},
            headers={"Content-Type": "application/octet-stream"},
        )

    async def deliver_link(self, key: Any, job_id: str, url: str, sha256: bytes) -> pj.JobInfo:
        body = pj.DeliveryLink(url=url, sha256="0x" + sha256.hex()).model_dump(mode="json", by_alias=True)
        path = self._path(pj.JOB_DELIVERY_LINK, job_id=job_id)
        return await self._call(pj.JobInfo, "PUT", path, key, json_body=body)

    async def download(
        self, key: Any, job_id: str, expected: bytes, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> bytes:
        """The delivered file's bytes, if their SHA-256 is ``expected`` (the hash on chain); at most
        ``max_bytes`` are read. ``DeliveryMismatch`` otherwise: nothing is kept."""
        provider = self.provider
        request = provider._http.build_request("GET", self._path(pj.JOB_DELIVERY_FILE, job_id=job_id))
        request.headers.update(await provider._auth_headers(key, request))
        try:
            async with asyncio.timeout(provider.deadline):  # its headers (the body keeps a pace instead)
                resp = await provider._http.send(request, stream=True)
            async with contextlib.aclosing(resp):
                if resp.status_code >= 400:
                    refuse_compressed_answer(resp)  # a delivery's body is refused so in ``read_checked``
                    raw = b""
                    async with asyncio.timeout(provider.deadline):
                        async for chunk in resp.aiter_bytes():
                            raw += chunk
                            if len(raw) > 64 * 1024:
                                break
                    provider._raise_http(resp.status_code, raw)
                if resp.status_code != 200:
                    raise ProviderProtocolError(
                        f"The provider answered with an unexpected status {resp.status_code}."
                    )
                return await read_checked(resp, expected, max_bytes)
        except (httpx.TimeoutException, TimeoutError):
            raise ProviderTimeout("The provider did not answer in time.") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            raise ProviderUnreachable(f"Cannot reach the provider: {type(exc).__name__}.") from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"Talking to the provider failed: {type(exc).__name__}.") from None


async def read_checked(resp: httpx.Response, expected: bytes, max_bytes: int) -> bytes:
    """A streamed response's body, read up to ``max_bytes``, if its SHA-256 is ``expected``; given up on
    when it comes too slowly (``answer_limits``)."""
    refuse_compressed_answer(resp)
    too_big = f"The delivery is larger than {max_bytes} bytes; it was not downloaded."
    declared = resp.headers.get("content-length")
    if declared is not None and is_digits(declared) and int(declared) > max_bytes:
        raise DeliveryMismatch(too_big)
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    pace = Pace()
    async for chunk in resp.aiter_bytes():  # decoded: a compressed body cannot grow past the bound
        size += len(chunk)
        if size > max_bytes:
            raise DeliveryMismatch(too_big)
        try:
            pace.check(size)
        except TooSlow as slow:
            raise ProviderTimeout(
                f"The delivery came too slowly ({slow}); nothing was kept. Try again later, or ask the "
                "provider."
            ) from None
        digest.update(chunk)
        chunks.append(chunk)
    if digest.digest() != expected:
        raise DeliveryMismatch(
            "The file served does not match the delivery recorded on chain "
            f"(its SHA-256 is 0x{digest.hexdigest()}, the chain holds 0x{expected.hex()}). Do not approve "
            "it: ask the provider for the right file, or for a cancellation, before the review window ends."
        )
    return b"".join(chunks)
