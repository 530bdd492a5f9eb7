"""A session's row in the store (store.models.SessionRow): read as a SessionRecord, written from its terms,
found by the session's local id, and the spending records it makes.

Amounts are ints here and decimal strings in the table (they overflow SQLite's 64-bit integers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Asset
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import SessionTerms
from paygo_desktop.store.models import SessionRow, SpendingRow
from paygo_desktop.store.spending import SpendingEntry, spending_row

SESSIONS: Table = SessionRow.__table__  # type: ignore[assignment]
# the session's columns a spending record copies (``spending_entry``)
SPENDING_COLUMNS = [
    SESSIONS.c[name]
    for name in (
        "account",
        "network",
        "funding",
        "asset_symbol",
        "asset_address",
        "decimals",
        "provider_url",
        "provider_name",
        "service_id",
        "service_name",
        "category",
    )
]


@dataclass(frozen=True)
class SessionRecord:
    """One session as the store keeps it: its terms, and how far it got."""

    local_id: str
    terms: SessionTerms
    remote_id: str | None
    status: SessionStatus
    signed: int  # channel-wide cumulatives for escrow (base + this session's amount)
    acked: int
    cost: int
    seconds: int
    stop_reason: str | None
    receipt: str | None
    receipt_ok: bool | None
    started_at: datetime
    ended_at: datetime | None
    paid_ahead_credit: int = 0  # see store.models.SessionRow.paid_ahead_credit

    @property
    def is_open(self) -> bool:
        return self.status.is_open


def session_columns(terms: SessionTerms) -> dict[str, Any]:
    """A session's terms as the columns of its row (the row's schema is store.models.SessionRow)."""
    return {
        "account": terms.account,
        "network": terms.network,
        "chain_id": terms.chain_id,
        "funding": terms.funding,
        "channel_id": terms.channel_id,
        "channel_base": str(terms.channel_base),
        "zcash_permission_id": terms.permission_id,
        "provider_url": terms.provider_url,
        "provider_name": terms.provider_name,
        "provider_address": terms.provider_address,
        "service_id": terms.service_id,
        "service_name": terms.service_name,
        "category": terms.category,
        "service_type": terms.service_type,
        "asset_symbol": terms.asset.symbol,
        "asset_address": terms.asset.address,
        "decimals": terms.asset.decimals,
        "rate_amount": str(terms.price.amount),
        "rate_unit": terms.price.unit,
        "tick_seconds": terms.tick_seconds,
        "grace_seconds": terms.grace_seconds,
        "budget": str(terms.cap),
    }


def _terms(row: SessionRow) -> SessionTerms:
    return SessionTerms(
        account=row.account,
        network=row.network,
        provider_url=row.provider_url,
        provider_name=row.provider_name,
        provider_address=row.provider_address,
        service_id=row.service_id,
        service_name=row.service_name,
        category=row.category,
        service_type=row.service_type,
        asset=Asset(row.asset_symbol, row.decimals, row.asset_address),
        price=Price(int(row.rate_amount), row.rate_unit),
        tick_seconds=row.tick_seconds,
        grace_seconds=row.grace_seconds,
        cap=int(row.budget),
        funding=row.funding,
        chain_id=row.chain_id,
        channel_id=row.channel_id,
        channel_base=int(row.channel_base),
        permission_id=row.zcash_permission_id,
    )


def session_record(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        local_id=row.local_id,
        terms=_terms(row),
        remote_id=row.remote_id,
        status=row.status,
        signed=int(row.signed),
        acked=int(row.acked),
        cost=int(row.cost),
        seconds=row.seconds,
        stop_reason=row.stop_reason,
        receipt=row.receipt,
        receipt_ok=row.receipt_ok,
        started_at=row.started_at,
        ended_at=row.ended_at,
        paid_ahead_credit=int(row.paid_ahead_credit),
    )


def row_of(s: Any, local_id: str) -> SessionRow:
    """The session's row in the ORM session ``s``; KeyError when there is none."""
    row = s.scalar(select(SessionRow).where(SessionRow.local_id == local_id))
    if row is None:
        raise KeyError(local_id)
    return row


def spending_entry(row: Any, amount: int) -> SpendingEntry:
    """A spending record of ``amount`` for the session ``row`` (its ORM row, or a Core row of
    ``SPENDING_COLUMNS``)."""
    return SpendingEntry(
        account=row.account,
        network=row.network,
        funding=row.funding,
        asset_symbol=row.asset_symbol,
        asset_address=row.asset_address,
        decimals=row.decimals,
        provider_url=row.provider_url,
        provider_name=row.provider_name,
        service_id=row.service_id,
        service_name=row.service_name,
        category=row.category,
        amount=amount,
        session_id=row.id,
    )


def spending_of(row: SessionRow, amount: int) -> SpendingRow:
    return spending_row(spending_entry(row, amount))
