"""Zcash spending permissions bought from providers: the app's own record of each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class ZcashPermissionRow(Base):
    """A Zcash spending permission bought from a provider: the app's own record of it.

    What was bought (``amount_zat``, ``rate_per_hour_zat``, ``expires_at``) is fixed at buying; the app's
    own meter fills ``used_seconds`` and ``metered_zat``; ``status`` is the app's own (see
    ``paygo_desktop.zcash.cross_check``). The provider's last answer is kept beside it, never over it:
    ``reported`` (its JSON, without any token), ``reported_at`` and ``deducted_zat``; ``verification`` and
    ``confirmations`` are the provider's view of the payment (the app cannot see the chain). A session the
    provider ended as "exhausted" while the app's meter had more than a tick left leaves
    ``exhaustion_claim_left_zat``.

    The provider's bearer token is never kept in clear: ``token_sealed`` holds it encrypted (AES-GCM) under
    a key derived from the private key of ``account`` (see ``paygo_desktop.zcash.token_seal``), so only
    the unlocked wallet can read it.
    """

    __tablename__ = "zcash_permissions"
    __table_args__ = (UniqueConstraint("provider_url", "permission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    permission_id: Mapped[str] = mapped_column(String(100), nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    user_address: Mapped[str | None] = mapped_column(Text, nullable=True)  # the user's Zcash address
    pay_address: Mapped[str] = mapped_column(Text, nullable=False)
    payment_uri: Mapped[str] = mapped_column(Text, nullable=False)
    amount_zat: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_per_hour_zat: Mapped[int] = mapped_column(Integer, nullable=False)
    used_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the app's meter says
    deducted_zat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the provider says
    metered_zat: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # as the app's meter says
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    verification: Mapped[str | None] = mapped_column(String(20), nullable=True)
    confirmations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    token_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # AES-GCM, never the clear token
    allow_fallback: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    reported: Mapped[str | None] = mapped_column(Text, nullable=True)  # the provider's last answer (JSON)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the provider ended a session saying the permission ran out while the app's meter had this much
    # (zatoshi) left (the most of such claims; None: it never did): kept, so the Zcash page keeps flagging it
    exhaustion_claim_left_zat: Mapped[int | None] = mapped_column(Integer, nullable=True)
