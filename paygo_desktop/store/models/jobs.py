"""Fixed-price jobs this app's accounts requested."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class JobRow(Base):
    """A fixed-price job this app's account requested (``jobs.service``): its PayGoJobs terms (``id`` is
    their hash), the brief, and where it came from. What was paid is never read from here: the job's state
    is the contract's, read each time. ``cancel_signature``: the provider's Cancel(jobId, 0) once it
    declined (public data: it can only refund this account); ``download_*``: the delivery downloaded and
    checked against the hash on chain."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(42), nullable=False)
    client: Mapped[str] = mapped_column(String(42), nullable=False, index=True)
    worker: Mapped[str] = mapped_column(String(42), nullable=False)
    token: Mapped[str] = mapped_column(String(42), nullable=False)
    asset_symbol: Mapped[str] = mapped_column(String(12), nullable=False)
    asset_decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[str] = mapped_column(String(40), nullable=False)  # base units (uint128: not an SQL int)
    deadline: Mapped[int] = mapped_column(Integer, nullable=False)
    review_window: Mapped[int] = mapped_column(Integer, nullable=False)
    terms: Mapped[str] = mapped_column(String(66), nullable=False)
    salt: Mapped[str] = mapped_column(String(66), nullable=False)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(Text, nullable=False)
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    offer_name: Mapped[str] = mapped_column(Text, nullable=False)
    brief: Mapped[str] = mapped_column(Text, nullable=False)
    cancel_signature: Mapped[str | None] = mapped_column(String(132), nullable=True)
    download_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    download_sha256: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
