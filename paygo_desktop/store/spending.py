"""Spending records: what the user paid, when, for which service, in which asset (for the charts).

Amounts are exact integers. SQLite integers are 64-bit and wei overflow them, so each amount is stored
split at 10**9 (``amount_giga``, ``amount_rem``); sums of each half stay far inside 64 bits and
``join_amount`` puts a total back together exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SpendingRow, utcnow

SPLIT = 10**9


def split_amount(amount: int) -> tuple[int, int]:
    if amount < 0:
        raise ValueError("a spending amount cannot be negative")
    return divmod(amount, SPLIT)


def join_amount(giga: int | None, rem: int | None) -> int:
    return (giga or 0) * SPLIT + (rem or 0)


def asset_key(network: str, symbol: str, address: str | None) -> str:
    """Which asset a record is in; amounts with different keys are never added together."""
    return f"{network}:{symbol}:{(address or 'native').lower()}"


@dataclass(frozen=True)
class SpendingEntry:
    """One amount spent. ``asset_address`` None is the network's native coin."""

    account: str
    network: str
    funding: str  # escrow | zcash | x402
    asset_symbol: str
    asset_address: str | None
    decimals: int
    provider_url: str
    provider_name: str
    service_id: str
    service_name: str
    category: str
    amount: int
    at: datetime | None = None
    session_id: int | None = None


def spending_values(entry: SpendingEntry) -> dict[str, Any]:
    """The columns of ``entry``'s record (for an ORM row, or a Core insert on a per-voucher path)."""
    giga, rem = split_amount(entry.amount)
    return {
        "at": (entry.at or utcnow()).astimezone(UTC),  # SQLite keeps the wall time only: always UTC
        "session_id": entry.session_id,
        "account": entry.account,
        "network": entry.network,
        "funding": entry.funding,
        "asset_key": asset_key(entry.network, entry.asset_symbol, entry.asset_address),
        "asset_symbol": entry.asset_symbol,
        "decimals": entry.decimals,
        "provider_url": entry.provider_url,
        "provider_name": entry.provider_name,
        "service_id": entry.service_id,
        "service_name": entry.service_name,
        "category": entry.category,
        "amount_giga": giga,
        "amount_rem": rem,
    }


def spending_row(entry: SpendingEntry) -> SpendingRow:
    return SpendingRow(**spending_values(entry))


class SpendingLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, entry: SpendingEntry) -> None:
        if entry.amount == 0:
            return
        with self._store.session() as s:
            s.add(spending_row(entry))
