"""Metered sessions: their status and funding (the columns' enums), their rows and their vouchers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow, values_of


class SessionStatus(StrEnum):
    """A metered session's status: the store keeps it, the session engine and the GUI read it."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    RECEIPT_INVALID = "receipt_invalid"  # stopped, but the receipt was forged, disagreed or never came
    INTERRUPTED = "interrupted"  # left by a crash or by a start with no answer: recovery settles it
    RECOVERED = "recovered"  # settled with the provider by recovery, at a later start

    @property
    def is_open(self) -> bool:
        """Not settled yet: what recovery looks at."""
        return self in OPEN_STATUSES

    @property
    def is_active(self) -> bool:
        """A session of this run that has not ended."""
        return self in (SessionStatus.STARTING, SessionStatus.RUNNING, SessionStatus.STOPPING)


OPEN_STATUSES = (
    SessionStatus.STARTING,
    SessionStatus.RUNNING,
    SessionStatus.STOPPING,
    SessionStatus.INTERRUPTED,
)


class Funding(StrEnum):
    """How a session is paid."""

    ESCROW = "escrow"  # vouchers on the app's channel with the provider
    ZCASH = "zcash"  # a prepaid Zcash spending permission
    X402 = "x402"  # spending only: one HTTP request paid with x402 (x402.payer), no session


class SessionRow(Base):
    """A metered session the user started, from the start request to the provider's receipt.

    Amounts are integer base units of the session's asset, kept as decimal strings (wei overflow SQLite's
    64-bit integers). ``channel_base`` is the channel's cumulative total before this session: the
    session's cost is the last cumulative signed minus it.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    remote_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    network: Mapped[str] = mapped_column(String(60), nullable=False)
    chain_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    funding: Mapped[Funding] = mapped_column(values_of(Funding, 10), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    zcash_permission_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    provider_address: Mapped[str | None] = mapped_column(String(42), nullable=True)
    service_id: Mapped[str] = mapped_column(String(100), nullable=False)
    service_name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    service_type: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    asset_address: Mapped[str | None] = mapped_column(String(42), nullable=True)  # None: the native coin
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_amount: Mapped[str] = mapped_column(String(80), nullable=False)
    rate_unit: Mapped[str] = mapped_column(String(20), nullable=False)
    tick_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    grace_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    budget: Mapped[str] = mapped_column(String(80), nullable=False)
    channel_base: Mapped[str] = mapped_column(String(80), nullable=False, default="0")
    signed: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # last cumulative signed
    acked: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # last cumulative acked
    cost: Mapped[str] = mapped_column(String(80), nullable=False, default="0")  # what this session cost
    # when it ended: what the chain had paid the provider on the channel beyond the sessions' settled
    # costs (a voucher one tick ahead claimed before the session settled lower); the next session uses it
    paid_ahead_credit: Mapped[str] = mapped_column(
        String(80), nullable=False, default="0", server_default="0"
    )
    seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[SessionStatus] = mapped_column(values_of(SessionStatus, 20), nullable=False, index=True)
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    receipt: Mapped[str | None] = mapped_column(Text, nullable=True)  # the provider's signed receipt, JSON
    receipt_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # for the session's proof file (receipts.proof): the provider's signed quote (JSON), the key that signed
    # it (from the provider's /provider answer) and the channel's parameters (JSON, wire form)
    quote: Mapped[str | None] = mapped_column(Text, nullable=True)
    signing_key: Mapped[str | None] = mapped_column(String(42), nullable=True)
    channel: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SessionVoucherRow(Base):
    """A voucher exactly as signed, written before it is sent; ``acked_at`` once the provider took it."""

    __tablename__ = "session_vouchers"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    cumulative: Mapped[str] = mapped_column(String(80), nullable=False)
    signature: Mapped[str] = mapped_column(String(140), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
