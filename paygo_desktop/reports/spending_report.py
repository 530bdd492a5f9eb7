"""Where the money went: spending per bucket, cumulative, by service, category and provider, per asset.

Every figure is summed by SQLite, never by a Python loop over records: a bucket's total is
``SUM(amount_giga), SUM(amount_rem)`` over an index range (the covering index ``ix_spending_asset_at`` on
asset, time and both halves, so the table itself is not read), joined exactly in Python once per bucket.
Amounts of different assets are never added: every query names one ``asset_key``.

Bucket boundaries come from ``reports.periods`` (local time, DST included) and are passed to one SQL
statement as a JSON array; correlated sub-selects sum each bucket. A chart's buckets are not summed from
the records: ``spending_slots`` keeps each asset's total per 15-minute slot (SQLite triggers on
``spending`` maintain it, see ``store.models.SpendingSlotRow``), so a bucket reads its whole slots from
there and only the parts of a slot at its edges, when an edge is not on a quarter hour, from the records.
Every UTC offset in use is a multiple of 15 minutes, so local hours, midnights and months are slot edges
and those partial reads are empty in practice; either way every bucket's sum is the records' sum, to the
base unit. ``series_from_records`` is the same answer from the records alone (the reference, slower).

The breakdown by service, category or provider counts distinct sessions as well, which per-asset slots
cannot: it reads ``spending_session_spans``, each session's total per slot and per UTC day (triggers again),
so a range is its whole days, the whole slots between its ends and the nearest day edges, and the parts of
a slot its ends cut, from the records; distinct sessions are counted over all of these parts together.
``breakdown_from_records`` is the same answer from the records alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import text

from paygo_desktop.money import Amount, Asset
from paygo_desktop.reports.periods import (
    Bucket,
    BucketSpan,
    Period,
    RangeKind,
    auto_bucket,
    buckets,
    period_for,
)
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import DAY_SECONDS, NO_SESSION, SLOT_SECONDS
from paygo_desktop.store.spending import join_amount

DB_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy writes a DateTime into SQLite (UTC, by our rule)


def db_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(UTC).strftime(DB_TIME)


def from_db_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


# DISTINCT as a skip-scan: one index probe per asset instead of reading every record's key
DISTINCT_ASSET_KEYS = """
WITH RECURSIVE k(key) AS (
    SELECT MIN(asset_key) FROM spending
    UNION ALL
    SELECT (SELECT MIN(asset_key) FROM spending WHERE asset_key > k.key) FROM k WHERE k.key IS NOT NULL
)
SELECT key FROM k WHERE key IS NOT NULL
"""


FIRST_AT = "SELECT MIN(at) FROM spending WHERE asset_key = :k"
LAST_AT = "SELECT MAX(at) FROM spending WHERE asset_key = :k"


class Dimension(StrEnum):
    service = "service"
    category = "category"
    provider = "provider"


DIMENSION_LABELS = {
    Dimension.service: "Service",
    Dimension.category: "Category",
    Dimension.provider: "Provider",
}


@dataclass(frozen=True)
class SpendingAsset:
    """One asset the user has spent, as the records name it."""

    key: str  # "<network>:<symbol>:<address|native>"
    network: str
    asset: Asset
    first: datetime  # UTC
    last: datetime  # UTC

    @property
    def label(self) -> str:
        return f"{self.asset.symbol} on {self.network}"


@dataclass(frozen=True)
class BucketTotal:
    span: BucketSpan
    amount: Amount
    cumulative: Amount  # from the start of the range to the end of this bucket
    records: int


@dataclass(frozen=True)
class BreakdownLine:
    key: str
    label: str
    detail: str  # e.g. the provider of a service
    amount: Amount
    sessions: int


@dataclass(frozen=True)
class SessionSpend:
    """A session that spent in a bucket: what it spent there, and what it cost in all."""

    session_id: int | None  # None: records whose session was deleted
    service_name: str
    provider_name: str
    started_at: datetime | None
    ended_at: datetime | None
    status: str
    spent: Amount
    cost: Amount | None


def asset_from_key(key: str, symbol: str, decimals: int) -> tuple[str, Asset]:
    network, _, rest = key.partition(":")
    _, _, address = rest.rpartition(":")
    return network, Asset(symbol, decimals, None if address == "native" else address)


def _amount(asset: Asset, giga: object, rem: object) -> Amount:
    return Amount(asset, join_amount(int(giga or 0), int(rem or 0)))  # type: ignore[call-overload]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SLOT = timedelta(seconds=SLOT_SECONDS)
_DAY = timedelta(seconds=DAY_SECONDS)
# a correlated sub-select: the records of asset :k from the instant at {start} to the one at {end} of b.value
_RECORDS = (
    "(SELECT json_array(SUM(amount_giga), SUM(amount_rem), COUNT(*)) FROM spending WHERE asset_key = :k "
    "AND at >= json_extract(b.value, '{start}') AND at < json_extract(b.value, '{end}'))"
)


def whole_slots(span: BucketSpan | Period) -> tuple[datetime, datetime]:
    """The slots lying wholly inside ``span``, as [first, last): the start of the first slot that begins
    at or after the span's start and the start of the slot holding its end. A span shorter than a slot, or
    straddling one edge only, holds none: then both are ``span.end`` (the records cover it all)."""
    return _whole(span.start, span.end, _SLOT)


def _whole(start: datetime, end: datetime, width: timedelta) -> tuple[datetime, datetime]:
    """The UTC-aligned stretches of ``width`` lying wholly inside [start, end), as [first, last); when
    there is none, both are ``end``."""
    first = _EPOCH - ((_EPOCH - start) // width) * width  # round up to an edge
    last = _EPOCH + ((end - _EPOCH) // width) * width  # round down
    return (first, last) if first < last else (end, end)


def slot_number(moment: datetime) -> int:
    """``spending_slots.slot`` of a slot edge: its whole seconds since 1970 (UTC)."""
    return (moment - _EPOCH) // timedelta(seconds=1)


def _running(asset: SpendingAsset, spans: list[BucketSpan], rows: Sequence[Any]) -> list[BucketTotal]:
    """Each bucket's parts (JSON cells of giga, rem and records) joined, and the running total."""
    totals: list[BucketTotal] = []
    running = 0
    for span, cells in zip(spans, rows, strict=True):
        units = count = 0
        for cell in cells:
            giga, rem, records = json.loads(cell)
            units += join_amount(giga, rem)
            count += int(records)
        running += units
        totals.append(BucketTotal(span, Amount(asset.asset, units), Amount(asset.asset, running), count))
    return totals


_GROUPS = {
    Dimension.service: "provider_url, service_id",
    Dimension.category: "category",
    Dimension.provider: "provider_url",
}
_NAMES = "provider_url, service_id, category, service_name, provider_name"
# one part of a breakdown's range: the session spans of asset :k (its width and starts added), or the records
_SPANS = f"SELECT session, {_NAMES}, amount_giga, amount_rem FROM spending_session_spans WHERE asset_key = :k"
_CUT = (
    f"SELECT COALESCE(session_id, {NO_SESSION}), {_NAMES}, amount_giga, amount_rem FROM spending "
    "WHERE asset_key = :k"
)


def breakdown_parts(period: Period) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """How ``breakdown`` reads ``period``: its whole slots [s0, s1) and, inside them, its whole UTC days
    [d0, d1). The records are read from the period's start to s0 and from s1 to its end (empty when the
    period's ends are on quarter hours, as local midnights are), the slots from s0 to d0 and from d1 to s1,
    the days from d0 to d1. With no whole day, d0 = d1 = s1; with no whole slot, all four are the end."""
    slots = whole_slots(period)
    return slots, _whole(slots[0], slots[1], _DAY)


def _lines(asset: SpendingAsset, by: Dimension, rows: Sequence[Any]) -> list[BreakdownLine]:
    """A breakdown's rows (the group's keys, the names, giga, rem, sessions) as lines, largest first."""
    lines: list[BreakdownLine] = []
    for row in rows:
        *keys, service_name, provider_name, giga, rem, sessions = row
        if by is Dimension.service:
            label, detail = service_name, provider_name
        elif by is Dimension.category:
            label, detail = (keys[0] or "uncategorised").replace("-", " ").capitalize(), ""
        else:
            label, detail = provider_name, keys[0]
        lines.append(
            BreakdownLine(
                "\x1f".join(map(str, keys)), label, detail, _amount(asset.asset, giga, rem), sessions
            )
        )
    return sorted(lines, key=lambda line: (-line.amount.units, line.label))


class SpendingReport:
    """Read-only queries over the ``spending`` table (and ``sessions`` for click-through)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def assets(self) -> list[SpendingAsset]:
        """Every asset with spending, the most recently used first."""
        found: list[SpendingAsset] = []
        with self._store.engine.connect() as conn:
            keys = [row[0] for row in conn.execute(text(DISTINCT_ASSET_KEYS))]
            for key in keys:
                symbol, decimals = conn.execute(
                    text("SELECT asset_symbol, decimals FROM spending WHERE asset_key = :k LIMIT 1"),
                    {"k": key},
                ).one()
                # Two statements, not one: SQLite answers a lone MIN or MAX with one probe of the index
                # (asset_key, at); "MIN(at), MAX(at)" together walks all the asset's entries (131 ms at 857k).
                first = conn.execute(text(FIRST_AT), {"k": key}).scalar_one()
                last = conn.execute(text(LAST_AT), {"k": key}).scalar_one()
                network, asset = asset_from_key(key, symbol, int(decimals))
                found.append(SpendingAsset(key, network, asset, from_db_time(first), from_db_time(last)))
        return sorted(found, key=lambda a: a.last, reverse=True)

    def series(self, asset: SpendingAsset, spans: list[BucketSpan]) -> list[BucketTotal]:
        """The total of each bucket, and the running total since the first bucket began: whole slots from
        ``spending_slots``, the partial slots at a bucket's edges from the records."""
        if not spans:
            return []
        bounds = []
        for span in spans:
            first, last = whole_slots(span)
            bounds.append(
                [
                    db_time(span.start),
                    db_time(span.end),
                    db_time(first),
                    db_time(last),
                    slot_number(first),
                    slot_number(last),
                ]
            )
        sql = text(
            "SELECT (SELECT json_array(SUM(amount_giga), SUM(amount_rem), COALESCE(SUM(records), 0)) "
            "  FROM spending_slots WHERE asset_key = :k "
            "  AND slot >= json_extract(b.value, '$[4]') AND slot < json_extract(b.value, '$[5]')), "
            f"{_RECORDS.format(start='$[0]', end='$[2]')}, {_RECORDS.format(start='$[3]', end='$[1]')} "
            "FROM json_each(:bounds) AS b ORDER BY b.key"
        )
        with self._store.engine.connect() as conn:
            rows = conn.execute(sql, {"k": asset.key, "bounds": json.dumps(bounds)}).all()
        return _running(asset, spans, rows)

    def series_from_records(self, asset: SpendingAsset, spans: list[BucketSpan]) -> list[BucketTotal]:
        """``series`` read from the records alone (every index entry of the range): the reference the
        slots are checked against, and the old path the benchmark times beside the new one."""
        if not spans:
            return []
        bounds = json.dumps([[db_time(s.start), db_time(s.end)] for s in spans])
        sql = text(
            f"SELECT {_RECORDS.format(start='$[0]', end='$[1]')} FROM json_each(:bounds) AS b ORDER BY b.key"
        )
        with self._store.engine.connect() as conn:
            rows = conn.execute(sql, {"k": asset.key, "bounds": bounds}).all()
        return _running(asset, spans, rows)

    def total(self, asset: SpendingAsset, period: Period) -> Amount:
        sql = text(
            "SELECT SUM(amount_giga), SUM(amount_rem) FROM spending "
            "WHERE asset_key = :k AND at >= :start AND at < :end"
        )
        with self._store.engine.connect() as conn:
            giga, rem = conn.execute(
                sql, {"k": asset.key, "start": db_time(period.start), "end": db_time(period.end)}
            ).one()
        return _amount(asset.asset, giga, rem)

    def breakdown(self, asset: SpendingAsset, period: Period, by: Dimension) -> list[BreakdownLine]:
        """Totals by service, category or provider, largest first, each with the distinct sessions that
        spent there: whole days and slots from ``spending_session_spans``, the cut slots at the ends from the
        records (``breakdown_parts``)."""
        group = _GROUPS[by]
        sql = text(
            f"WITH parts AS ({_SPANS} AND width = :day AND start >= :d0 AND start < :d1 "
            f"UNION ALL {_SPANS} AND width = :slot AND start >= :s0 AND start < :d0 "
            f"UNION ALL {_SPANS} AND width = :slot AND start >= :d1 AND start < :s1 "
            f"UNION ALL {_CUT} AND at >= :start AND at < :cut0 "
            f"UNION ALL {_CUT} AND at >= :cut1 AND at < :end) "
            f"SELECT {group}, MAX(service_name), MAX(provider_name), SUM(amount_giga), SUM(amount_rem), "
            f"COUNT(DISTINCT NULLIF(session, {NO_SESSION})) FROM parts GROUP BY {group}"
        )
        slots, days = breakdown_parts(period)
        params = {
            "k": asset.key,
            "day": DAY_SECONDS,
            "slot": SLOT_SECONDS,
            "s0": slot_number(slots[0]),
            "s1": slot_number(slots[1]),
            "d0": slot_number(days[0]),
            "d1": slot_number(days[1]),
            "start": db_time(period.start),
            "cut0": db_time(slots[0]),
            "cut1": db_time(slots[1]),
            "end": db_time(period.end),
        }
        with self._store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        return _lines(asset, by, rows)

    def breakdown_from_records(
        self, asset: SpendingAsset, period: Period, by: Dimension
    ) -> list[BreakdownLine]:
        """``breakdown`` read from the records alone (every record of the range): the reference the session
        spans are checked against, and the old path the benchmark times beside the new one."""
        group = _GROUPS[by]
        sql = text(
            f"SELECT {group}, MAX(service_name), MAX(provider_name), SUM(amount_giga), SUM(amount_rem), "
            "COUNT(DISTINCT session_id) FROM spending "
            f"WHERE asset_key = :k AND at >= :start AND at < :end GROUP BY {group}"
        )
        params = {"k": asset.key, "start": db_time(period.start), "end": db_time(period.end)}
        with self._store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        return _lines(asset, by, rows)

    def sessions_in(self, asset: SpendingAsset, span: BucketSpan) -> list[SessionSpend]:
        """The sessions that spent in a bucket (a bar's click-through), the largest spend first."""
        sql = text(
            "SELECT sp.session_id, SUM(sp.amount_giga), SUM(sp.amount_rem), MAX(sp.service_name), "
            "MAX(sp.provider_name), s.started_at, s.ended_at, s.status, s.cost "
            "FROM spending AS sp LEFT JOIN sessions AS s ON s.id = sp.session_id "
            "WHERE sp.asset_key = :k AND sp.at >= :start AND sp.at < :end "
            "GROUP BY sp.session_id ORDER BY s.started_at"
        )
        params = {"k": asset.key, "start": db_time(span.start), "end": db_time(span.end)}
        with self._store.engine.connect() as conn:
            rows = conn.execute(sql, params).all()
        found = [
            SessionSpend(
                session_id=session_id,
                service_name=service_name,
                provider_name=provider_name,
                started_at=from_db_time(started) if started else None,
                ended_at=from_db_time(ended) if ended else None,
                status=status or "record removed",
                spent=_amount(asset.asset, giga, rem),
                cost=Amount(asset.asset, int(cost)) if cost is not None else None,
            )
            for session_id, giga, rem, service_name, provider_name, started, ended, status, cost in rows
        ]
        return sorted(found, key=lambda s: -s.spent.units)


@dataclass(frozen=True)
class ChartQuery:
    """What the Activity page asks for. ``asset_key`` None: the most recently used asset;
    ``bucket`` None: one that suits the range (``periods.auto_bucket``)."""

    range_kind: RangeKind = RangeKind.days30
    asset_key: str | None = None
    bucket: Bucket | None = None
    dimension: Dimension = Dimension.service
    custom: tuple[date, date] | None = None


@dataclass(frozen=True)
class ChartData:
    assets: list[SpendingAsset]
    asset: SpendingAsset | None  # None: nothing was ever spent
    period: Period | None
    bucket: Bucket
    series: list[BucketTotal]
    total: Amount | None


def chart_data(
    report: SpendingReport, query: ChartQuery, now: datetime, zone: tzinfo | None = None
) -> ChartData:
    """The chart of one view of the Activity page: the assets, then one statement for every bucket's sum.
    The breakdown (``report.breakdown``) is asked for separately, so the chart never waits for it."""
    assets = report.assets()
    asset = next((a for a in assets if a.key == query.asset_key), assets[0] if assets else None)
    if asset is None:
        return ChartData([], None, None, query.bucket or Bucket.day, [], None)
    period = period_for(query.range_kind, now, first=asset.first, custom=query.custom, zone=zone)
    bucket = query.bucket or auto_bucket(period)
    series = report.series(asset, buckets(period, bucket, zone))
    total = series[-1].cumulative if series else Amount.zero(asset.asset)
    return ChartData(assets, asset, period, bucket, series, total)
