"""x402: the user's spending limits per site, and the payments this app signed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class X402PolicyRow(Base):
    """The user's spending limits for one site's x402 payments (``x402.policy``): ``origin`` is
    ``scheme://host[:port]``; the limits are base units of the asset named here (decimal strings: uint256
    fits no SQL integer), NULL for none. ``allowed`` False blocks the site; ``ask_first`` asks before each
    payment."""

    __tablename__ = "x402_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    ask_first: Mapped[bool] = mapped_column(Boolean, nullable=False)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    asset: Mapped[str] = mapped_column(String(42), nullable=False)  # the token's address
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    max_per_request: Mapped[str | None] = mapped_column(String(80), nullable=True)
    max_per_day: Mapped[str | None] = mapped_column(String(80), nullable=True)
    max_total: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class X402PaymentRow(Base):
    """One x402 payment this app signed (``x402.payer``), written before the signed authorization is sent:
    ``pending`` until the server's PAYMENT-RESPONSE says ``settled`` (with its transaction) or ``failed``.
    ``nonce``/``valid_before``: the EIP-3009 authorization's (``upto``: the Permit2 nonce, hex, and deadline),
    so a pending one is known to lapse.
    ``valid_after``, ``signature`` and ``requirements`` (the server's quote as JSON, ``extra`` naming the
    EIP-712 domain signed under): what the payment's proof file needs (migration 0011; None before it).
    The signature is the payer's authorization, not a key: it is kept, never logged."""

    __tablename__ = "x402_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    origin: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    scheme: Mapped[str] = mapped_column(String(30), nullable=False)
    network: Mapped[str] = mapped_column(String(60), nullable=False)  # CAIP-2, e.g. eip155:84532
    payer: Mapped[str] = mapped_column(String(42), nullable=False)
    pay_to: Mapped[str] = mapped_column(String(42), nullable=False)
    asset: Mapped[str] = mapped_column(String(42), nullable=False)
    asset_symbol: Mapped[str] = mapped_column(String(20), nullable=False)
    decimals: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[str] = mapped_column(String(80), nullable=False)  # base units: the most it may move
    nonce: Mapped[str] = mapped_column(String(66), nullable=False)
    valid_before: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # pending | settled | failed
    # base units the settlement moved (``upto``: at most ``amount``); None before settlement (migration 0012)
    settled_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    valid_after: Mapped[str | None] = mapped_column(String(80), nullable=True)  # uint256, decimal
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    requirements: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the chain showed its authorization unspent with the chain's own time past ``valid_before``: it can never
    # move money, so it counts no more and is not asked again (``x402.lapsed``; migration 0014)
    never_moves: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
