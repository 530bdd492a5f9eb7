"""What the app knows of providers: their registry entries (folded from the chain) and their record (what
their receipts said beside the app's own meter)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygo_desktop.store.models.base import Base, utcnow


class RegistryEntryRow(Base):
    """A provider's current entry in a PayGoRegistry, folded from the registry's events (the chain is the
    truth). The text is what the chain said, bounded by the log decoder, unchecked: the Services page checks
    it before use (``services.registry``)."""

    __tablename__ = "registry_entries"
    __table_args__ = (UniqueConstraint("chain_id", "contract", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(42), nullable=False)  # the registry's address
    provider: Mapped[str] = mapped_column(String(42), nullable=False)  # the registrant: its payTo
    signing_key: Mapped[str] = mapped_column(String(42), nullable=False)
    catalog_url: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    block_number: Mapped[int] = mapped_column(Integer, nullable=False)  # of the event that wrote it
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)


class ProviderNoteRow(Base):
    """What a provider's receipt (or report) said beside what the app's own meter said, once per session
    (or permission) and verdict: the provider's record on the Services page (``reports.provider_record``)."""

    __tablename__ = "provider_notes"
    __table_args__ = (
        UniqueConstraint("source", "ref", "verdict"),
        Index("ix_provider_notes_provider", "provider_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    provider_key: Mapped[str] = mapped_column(String(200), nullable=False)  # its payTo address, or its URL
    provider_url: Mapped[str] = mapped_column(Text, nullable=False)
    provider_name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # session | zcash (later: job, x402)
    ref: Mapped[str] = mapped_column(String(100), nullable=False)  # the session's local id, the permission id
    verdict: Mapped[str] = mapped_column(String(20), nullable=False)  # agreed | disagreed | over_claimed | …
    asset_symbol: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decimals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    meter_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)  # what the app's meter said
    provider_amount: Mapped[str | None] = mapped_column(String(80), nullable=True)  # what the provider said
    detail: Mapped[str] = mapped_column(Text, nullable=False)
