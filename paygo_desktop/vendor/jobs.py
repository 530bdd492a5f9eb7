"""The vendor's fixed-price jobs: the jobs requested from its provider, as the chain says they stand, and
the vendor's answers the provider's signed API offers (accept, decline, deliver a file or a link, and take
the price once a delivery's review window has passed without the client's approval: release).

Every request is signed with the provider's own key (the same key the Vendor page's earnings and claims
use; ``GET /jobs`` signed by it lists every job, docs/provider-api.md "Fixed-price jobs"). The states are
the provider's ``JobInfo.state``, which it derives from the chain at every answer. Qt-free; the functions
are coroutines for a worker thread's loop (the Vendor page) or the CLI, and a delivery file is read in a
thread of its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderHTTPError
from paygo_desktop.protocol.jobs_client import JobsProviderClient
from paygo_desktop.vendor.claims import _assets_by_token

#: The largest file the app offers to deliver (the reference provider takes 16 MiB by default; it answers
#: 413 above its own limit).
MAX_DELIVERY_FILE = 64 * 1024 * 1024

#: What each state means to the vendor.
STATE_TEXT = {
    "requested": "Requested: not funded yet",
    "declined": "Declined",
    "funded": "Funded: accept or decline",
    "accepted": "Accepted: deliver before the deadline",
    "delivered": "Delivered: in review",
    "approved": "Approved: paid",
    "released": "Released: paid after the review window",
    "refunded": "Refunded to the client",
    "cancelled": "Cancelled: refunded",
    "expired": "Deadline passed, nothing delivered",
}
ACTION_TEXT = {"accept": "Accept", "decline": "Decline", "deliver": "Deliver…", "release": "Take the price"}


class VendorJobsError(UserFacingError):
    """The jobs cannot be read or answered (another key, no file, an older provider...)."""


@dataclass(frozen=True)
class VendorJob:
    info: pj.JobInfo
    offer_name: str
    price: Amount | None  # None: a token the provider no longer lists (shown as raw units)

    @property
    def job_id(self) -> str:
        return self.info.job_id

    @property
    def state(self) -> str:
        return self.info.state.value

    @property
    def state_text(self) -> str:
        return STATE_TEXT[self.state]

    @property
    def price_text(self) -> str:
        return self.price.format() if self.price is not None else f"{self.info.job.price} base units"

    @property
    def actions(self) -> tuple[str, ...]:
        return vendor_actions(self.info)


def vendor_actions(info: pj.JobInfo) -> tuple[str, ...]:
    """What the provider's API lets the vendor do with the job now (its rules, provider/jobs.py):
    accept a funded job not yet answered; decline one not delivered; deliver an accepted one; release a
    delivered one whose review window has passed (chain time) without the client's approval."""
    state = info.state
    actions: list[str] = []
    if state is pj.JobState.funded:
        actions.append("accept")
    if state is pj.JobState.accepted:
        actions.append("deliver")
    if state in (pj.JobState.requested, pj.JobState.funded, pj.JobState.accepted):
        actions.append("decline")
    ends = info.review_ends_at
    if state is pj.JobState.delivered and ends is not None and info.chain_time > ends:
        actions.append("release")
    return tuple(actions)


def _check_key(info: Any, key: Any) -> None:
    if info.signing_key.lower() != key.address.lower():
        raise VendorJobsError(
            f"{key.address} is not the key of {info.name}; it signs with {info.signing_key}."
        )


async def list_jobs(client: Any, key: Any) -> list[VendorJob]:
    """Every job requested from the provider ``client`` talks to, newest first, read with its ``key``."""
    from paygo_desktop.protocol.client import NotFound

    info = await client.provider_info()
    _check_key(info, key)
    api = JobsProviderClient(client)
    try:
        answer = await api.jobs(key)
        offers = await api.offers()
    except NotFound:
        raise VendorJobsError(f"{info.name} does not offer fixed-price jobs (an older provider?).") from None
    names = {o.id: o.name for o in offers.items}
    assets = _assets_by_token(info)
    jobs = [
        VendorJob(
            job,
            names.get(job.offer_id, job.offer_id),
            Amount(assets[job.job.token], job.job.price) if job.job.token in assets else None,
        )
        for job in answer.items
    ]
    jobs.sort(key=lambda j: j.info.requested_at, reverse=True)
    return jobs


async def accept(client: Any, key: Any, job_id: str) -> pj.JobInfo:
    return await JobsProviderClient(client).accept(key, job_id)


async def decline(client: Any, key: Any, job_id: str) -> pj.JobInfo:
    return await JobsProviderClient(client).decline(key, job_id)


#: The provider's 409 while a job's release it sent is not mined yet (provider/jobs.py).
RELEASE_PENDING = "release_pending"
RELEASED_TEXT = "Released: the job's price is paid to the provider's address."
ON_ITS_WAY_TEXT = (
    "The release is on its way: sent, not yet in a block. The price is paid once it is; "
    "nothing more is sent meanwhile."
)


@dataclass(frozen=True)
class ReleaseOnItsWay:
    """The provider sent the job's release earlier and it is not mined yet (good news, not an error)."""


async def release(client: Any, key: Any, job_id: str) -> pj.JobInfo | ReleaseOnItsWay:
    """The provider sends ``release`` from its key: the price of a delivery the client left unapproved past
    its review window goes to the vendor. ``ReleaseOnItsWay`` when its release is sent and not mined yet
    (the provider sends no second one)."""
    try:
        return await JobsProviderClient(client).release(key, job_id)
    except ProviderHTTPError as exc:
        if exc.status == 409 and exc.code == RELEASE_PENDING:
            return ReleaseOnItsWay()
        raise


def release_said(result: object) -> str:
    """What the Vendor page says after "Take the price"."""
    return ON_ITS_WAY_TEXT if isinstance(result, ReleaseOnItsWay) else RELEASED_TEXT


def _read_delivery(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_DELIVERY_FILE:
            raise VendorJobsError(
                f"{path.name} is larger than {MAX_DELIVERY_FILE // 2**20} MiB; deliver it as a link instead."
            )
        return path.read_bytes()
    except OSError as exc:
        raise VendorJobsError(f"Could not read {path}: {exc.strerror or exc}.") from None


async def deliver_file(client: Any, key: Any, job_id: str, path: Path) -> pj.JobInfo:
    """Send ``path`` as the job's delivery; the provider records its SHA-256 on chain."""
    try:
        name = pj.DeliveryFileName.validate_python(path.name)
    except ValueError:
        raise VendorJobsError(
            f"“{path.name[:60]}” cannot be a delivery's name (at most {pj.MAX_FILE_NAME} characters, "
            "no separators or control characters); rename the file."
        ) from None
    data = await asyncio.to_thread(_read_delivery, path)
    if not data:
        raise VendorJobsError(f"{path.name} is empty; nothing was delivered.")
    return await JobsProviderClient(client).deliver_file(key, job_id, name, data)


def parse_sha256(text: str) -> bytes:
    """A SHA-256 typed by the vendor: 64 hex digits, with or without 0x."""
    raw = text.strip().lower().removeprefix("0x")
    if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
        raise VendorJobsError("The SHA-256 must be 64 hexadecimal digits (0x optional).")
    return bytes.fromhex(raw)


async def deliver_link(client: Any, key: Any, job_id: str, url: str, sha256: str) -> pj.JobInfo:
    """Deliver a file served at ``url`` whose SHA-256 is ``sha256`` (hex)."""
    digest = parse_sha256(sha256)
    url = url.strip()
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise VendorJobsError("The link must be an http(s) address without spaces.")
    return await JobsProviderClient(client).deliver_link(key, job_id, url, digest)
