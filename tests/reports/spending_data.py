"""Spending records for tests, benchmarks and screenshots: sessions and their spending rows, generated.

The session engine writes these tables in the app; here they are written directly, with the store's own
row builder (``spending_row``), so the reports read exactly what the engine would leave behind.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paygo_desktop.store import Store
from paygo_desktop.store.models import SessionRow
from paygo_desktop.store.spending import SpendingEntry, spending_row

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
USDC_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@dataclass(frozen=True)
class Kind:
    """What a generated record is for: a service of a provider, paid in one asset."""

    service_id: str
    service_name: str
    category: str
    provider_name: str
    provider_url: str
    symbol: str
    decimals: int
    address: str | None
    network: str = "sandbox"


USDC_FEED = Kind(
    "market-data-feed",
    "Market data feed",
    "finance",
    "Sandbox provider",
    "http://127.0.0.1:8600",
    "USDC",
    6,
    USDC_ADDRESS,
)
USDC_GPU = Kind(
    "gpu-hour",
    "GPU notebook",
    "compute",
    "Sandbox provider",
    "http://127.0.0.1:8600",
    "USDC",
    6,
    USDC_ADDRESS,
)
USDC_NEWS = Kind(
    "newswire", "Newswire", "news", "Second provider", "http://127.0.0.1:8700", "USDC", 6, USDC_ADDRESS
)
ETH_VIDEO = Kind("video-4k", "4K video", "video", "Second provider", "http://127.0.0.1:8700", "ETH", 18, None)
KINDS = (USDC_FEED, USDC_GPU, USDC_NEWS, ETH_VIDEO)


@dataclass(frozen=True)
class Spent:
    kind: Kind
    at: datetime
    amount: int
    session: int | None = None  # index into the sessions made for the same call


def add_session(store: Store, kind: Kind, started: datetime, cost: int, status: str = "stopped") -> int:
    with store.session() as s:
        row = SessionRow(
            local_id=str(uuid.uuid4()),
            account=ACCOUNT,
            network=kind.network,
            funding="escrow",
            provider_url=kind.provider_url,
            provider_name=kind.provider_name,
            service_id=kind.service_id,
            service_name=kind.service_name,
            category=kind.category,
            asset_symbol=kind.symbol,
            asset_address=kind.address,
            decimals=kind.decimals,
            rate_amount="1000",
            rate_unit="per_second",
            tick_seconds=5,
            grace_seconds=5,
            budget=str(cost * 2 or 1),
            cost=str(cost),
            seconds=0 if status == "running" else 600,  # as long as it ran (ended_at)
            status=status,
            started_at=started,
            ended_at=None if status == "running" else started + timedelta(minutes=10),
        )
        s.add(row)
        s.flush()
        return row.id


def entry(kind: Kind, at: datetime, amount: int, session_id: int | None = None) -> SpendingEntry:
    return SpendingEntry(
        account=ACCOUNT,
        network=kind.network,
        funding="escrow",
        asset_symbol=kind.symbol,
        asset_address=kind.address,
        decimals=kind.decimals,
        provider_url=kind.provider_url,
        provider_name=kind.provider_name,
        service_id=kind.service_id,
        service_name=kind.service_name,
        category=kind.category,
        amount=amount,
        at=at,
        session_id=session_id,
    )


def write(store: Store, records: Iterable[Spent], session_ids: Sequence[int] = ()) -> None:
    with store.session() as s:
        s.add_all(
            spending_row(
                entry(r.kind, r.at, r.amount, session_ids[r.session] if r.session is not None else None)
            )
            for r in records
        )


def generate(
    store: Store,
    *,
    count: int,
    start: datetime,
    days: int,
    seed: int = 7,
    kinds: Sequence[Kind] = KINDS,
    per_session: int = 20,
) -> list[tuple[Spent, int]]:
    """``count`` records at random times over ``days`` days from ``start``, grouped in sessions of about
    ``per_session`` records; returns each record with its session's row id."""
    rnd = random.Random(seed)
    made: list[tuple[Spent, int]] = []
    records: list[Spent] = []
    ids: list[int] = []
    while len(records) < count:
        kind = rnd.choice(kinds)
        began = start + timedelta(seconds=rnd.randrange(days * 86_400))
        n = min(count - len(records), rnd.randint(1, per_session * 2))
        unit = 10 ** max(0, kind.decimals - 4)
        amounts = [rnd.randint(1, 5_000) * unit + rnd.randint(0, unit - 1) for _ in range(n)]
        ids.append(add_session(store, kind, began, sum(amounts)))
        for i, amount in enumerate(amounts):
            records.append(Spent(kind, began + timedelta(seconds=5 * i), amount, len(ids) - 1))
    write(store, records, ids)
    made = [(r, ids[r.session]) for r in records if r.session is not None]
    return made


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
