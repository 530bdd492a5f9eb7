"""Tables of the fixed-price jobs, in the provider's database (made by its migrations: 0003, 0008, 0009,
0010): the job offers of the catalog, and each requested job's terms, brief, the provider's answer, its
delivery and the release on its way.

What was paid is never read from here: the job's state is PayGoJobs' (provider/jobs.py reads it for every
answer). Prices are decimal strings of base units; times integer Unix seconds (chain time for the terms).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class JobsBase(DeclarativeBase):
    pass


class JobOfferRow(JobsBase):
    __tablename__ = "provider_job_offers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    price: Mapped[str] = mapped_column(String(40))
    asset: Mapped[str] = mapped_column(String(12))
    delivery_seconds: Mapped[int] = mapped_column(BigInteger)
    review_window_seconds: Mapped[int] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class JobRow(JobsBase):
    """One requested job: its PayGoJobs terms (``id`` is their hash), the brief they commit to, the
    provider's answer (``cancel_signature``: its Cancel(jobId, 0) once it declined) and its delivery."""

    __tablename__ = "provider_jobs"
    __table_args__ = (
        Index("ix_provider_jobs_funded", "funded", "requested_at"),
        Index("ix_provider_jobs_settled", "settled"),
    )
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(42), index=True)
    worker: Mapped[str] = mapped_column(String(42))
    token: Mapped[str] = mapped_column(String(42))
    price: Mapped[str] = mapped_column(String(40))
    deadline: Mapped[int] = mapped_column(BigInteger)
    review_window: Mapped[int] = mapped_column(BigInteger)
    terms: Mapped[str] = mapped_column(String(66))
    salt: Mapped[str] = mapped_column(String(66))
    brief: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[int] = mapped_column(BigInteger, index=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    delivery_kind: Mapped[str | None] = mapped_column(String(4), nullable=True)
    delivery_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    delivery_file_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    delivery_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    deliver_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    # seen funded on chain (a status past None, which never goes back): a job, never dropped as a stale
    # request (migration 0006)
    funded: Mapped[bool] = mapped_column(Boolean, default=False)
    # nothing left to release (provider/job_release.py): seen paid out on chain (approved, released,
    # refunded, cancelled: final), or past its deadline with nothing delivered (migration 0009)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    # the release on its way (provider/job_release_tx.py): its hash, nonce and the provider's time when it
    # was signed, written before it is broadcast and cleared once it is mined or gone (migration 0010)
    release_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    release_nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    release_sent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
