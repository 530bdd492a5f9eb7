"""Fixed-price jobs on the provider API: the routes and the wire models, shared by the reference provider
(``provider/job_routes.py``) and the app (``protocol/jobs_client.py``).

A job offer is the catalog entry of type ``job``: a fixed price in one asset, a delivery time and a review
window. It is listed apart from the metered services (``GET /service``) because a metered service's rate
has no meaning for it, and older apps validate every catalog entry as metered. A requested job's terms are
the PayGoJobs ``Job`` the client funds on chain (docs/contract.md, Fixed-price jobs); its state is read
from the chain, never from either side's database.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, TypeAdapter

from paygo_desktop.chain.jobs import MAX_REVIEW_WINDOW, Job, JobStatus
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.routes import PREFIX

JOB_OFFERS = f"{PREFIX}/jobs/offers"
JOB_OFFER = f"{PREFIX}/jobs/offers/{{offer_id}}"
JOBS = f"{PREFIX}/jobs"
JOB = f"{PREFIX}/jobs/{{job_id}}"
JOB_ACCEPT = f"{PREFIX}/jobs/{{job_id}}/accept"
JOB_DECLINE = f"{PREFIX}/jobs/{{job_id}}/decline"
JOB_RELEASE = f"{PREFIX}/jobs/{{job_id}}/release"
JOB_DELIVERY_FILE = f"{PREFIX}/jobs/{{job_id}}/delivery/file"
JOB_DELIVERY_LINK = f"{PREFIX}/jobs/{{job_id}}/delivery/link"

#: The header a delivery file's download carries its SHA-256 in (0x-hex), as recorded on chain.
DELIVERY_HASH_HEADER = "X-PayGo-Delivery-Sha256"
MAX_BRIEF_CHARS = 8000
MAX_FILE_NAME = 120
#: Delivery times a provider may offer: a minute to a year (PayGoJobs.MAX_DURATION).
MIN_DELIVERY_SECONDS = 60
MAX_DELIVERY_SECONDS = 365 * 24 * 3600


def _file_name(value: str) -> str:
    if value in (".", "..") or any(c in value for c in '/\\:<>"|?*') or not value.isprintable():
        # also none of the characters Windows refuses, "<" among them: shown in a message, "report.pdf<!--"
        # hid the rest of a name
        raise ValueError("a file name without path separators, markup or control characters")
    return value


FileName = Annotated[str, Field(min_length=1, max_length=MAX_FILE_NAME), AfterValidator(_file_name)]
DeliveryFileName: TypeAdapter[str] = TypeAdapter(FileName)
_BRIEF_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _brief_text(value: str) -> str:
    if _BRIEF_CONTROL.search(value):
        raise ValueError("control or bidirectional-override characters are not allowed")
    return value


#: A job's brief: free text (lines and tabs allowed), no control or bidi-override characters.
Brief = Annotated[str, Field(min_length=1, max_length=MAX_BRIEF_CHARS), AfterValidator(_brief_text)]
HttpUrl = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")]


class JobState(StrEnum):
    """What a job is, for both sides: the chain's status, with the provider's decision and the clock.

    requested (terms given, not funded yet) · declined (the provider refused it; its Cancel refunds a
    funded price) · funded (locked, the provider has not answered) · accepted · delivered · approved
    (the client paid) · released (paid after the review window) · refunded · cancelled · expired (the
    deadline passed with nothing delivered: refundable if funded, dead if not)."""

    requested = "requested"
    declined = "declined"
    funded = "funded"
    accepted = "accepted"
    delivered = "delivered"
    approved = "approved"
    released = "released"
    refunded = "refunded"
    cancelled = "cancelled"
    expired = "expired"


def derive_state(status: JobStatus, *, declined: bool, accepted: bool, deadline: int, now: int) -> JobState:
    """The job's state from its on-chain ``status`` at chain time ``now``, and the provider's answer."""
    ends = {
        JobStatus.DELIVERED: JobState.delivered,
        JobStatus.APPROVED: JobState.approved,
        JobStatus.RELEASED: JobState.released,
        JobStatus.REFUNDED: JobState.refunded,
        JobStatus.CANCELLED: JobState.cancelled,
    }
    if status in ends:
        return ends[status]
    if now > deadline:
        return JobState.expired
    if declined:
        return JobState.declined
    if status is JobStatus.NONE:
        return JobState.requested
    return JobState.accepted if accepted else JobState.funded


class JobOfferFields(m.RequestModel):
    name: m.Name
    description: m.Description = ""
    category: m.Category
    price: Annotated[m.Uint128, Field(gt=0)] = Field(description="base units of `asset` for the whole job")
    asset: m.Symbol
    delivery_seconds: Annotated[int, Field(ge=MIN_DELIVERY_SECONDS, le=MAX_DELIVERY_SECONDS, strict=True)]
    review_window_seconds: Annotated[int, Field(ge=0, le=MAX_REVIEW_WINDOW, strict=True)]
    is_active: bool = True


class JobOffer(m.WireModel):
    id: m.Ident
    type: Literal["job"] = "job"
    name: m.Name
    description: m.Description = ""
    category: m.Category
    price: Annotated[m.Uint128, Field(gt=0)]
    asset: m.Symbol
    delivery_seconds: Annotated[int, Field(ge=MIN_DELIVERY_SECONDS, le=MAX_DELIVERY_SECONDS)]
    review_window_seconds: Annotated[int, Field(ge=0, le=MAX_REVIEW_WINDOW)]
    is_active: bool
    vendor: m.VendorInfo


class JobOfferPage(m.WireModel):
    items: Annotated[list[JobOffer], Field(max_length=500)]
    total: Annotated[int, Field(ge=0)]


class JobRequest(m.RequestModel):
    offer_id: m.Ident
    brief: Brief


class JobTerms(m.WireModel):
    """PayGoJobs.Job on the wire."""

    client: m.Address
    worker: m.Address
    token: m.Address
    price: Annotated[m.Uint128, Field(gt=0)]
    deadline: m.Seconds
    review_window: m.Seconds
    terms: m.Bytes32
    salt: m.Bytes32

    def to_job(self) -> Job:
        return Job(
            client=self.client,
            worker=self.worker,
            token=self.token,
            price=self.price,
            deadline=self.deadline,
            review_window=self.review_window,
            terms=bytes.fromhex(self.terms[2:]),
            salt=bytes.fromhex(self.salt[2:]),
        )

    @classmethod
    def from_job(cls, job: Job) -> JobTerms:
        return cls(
            client=job.client,
            worker=job.worker,
            token=job.token,
            price=job.price,
            deadline=job.deadline,
            review_window=job.review_window,
            terms="0x" + job.terms.hex(),
            salt="0x" + job.salt.hex(),
        )


class Delivery(m.WireModel):
    kind: Literal["file", "link"]
    sha256: m.Bytes32
    file_name: FileName | None = None
    size: Annotated[int, Field(ge=0, le=2**40)] | None = None
    url: HttpUrl | None = None


class DeliveryLink(m.RequestModel):
    url: HttpUrl
    sha256: m.Bytes32


class JobInfo(m.WireModel):
    job_id: m.Bytes32
    offer_id: m.Ident
    brief: Brief
    job: JobTerms
    chain_id: Annotated[int, Field(ge=1, le=2**53)]
    contract: m.Address
    state: JobState
    on_chain: Annotated[int, Field(ge=0, le=6)] = Field(description="PayGoJobs.Status")
    chain_time: m.Seconds
    requested_at: m.UnixTime
    accepted: bool = False
    declined: bool = False
    cancel_signature: m.Signature | None = Field(
        default=None,
        description="the provider's Cancel(jobId, 0) once it declined: cancel() refunds the client",
    )
    delivery: Delivery | None = Field(
        default=None, description="what the provider delivered, once the chain holds its hash"
    )
    chain_delivery: m.Bytes32 | None = Field(default=None, description="the delivery's hash on chain")
    delivered_at: m.Seconds | None = None
    review_ends_at: m.Seconds | None = None
    deliver_tx: m.Bytes32 | None = None


class JobList(m.WireModel):
    items: Annotated[list[JobInfo], Field(max_length=500)]


def review_window_text(seconds: int) -> str:
    """“1 day”, “12 hours”, “none”."""
    if seconds == 0:
        return "none"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} s"
