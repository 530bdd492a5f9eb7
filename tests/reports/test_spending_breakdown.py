"""The breakdown by service, category and provider read from each session's spending per slot and per day
(``spending_session_spans``) equals the one read from the records and one computed in Python, to the base
unit and session by session: for ranges cut at any instant, at quarter hours, at local midnights in zones
with daylight saving and odd offsets, after receipts' corrections, deleted records and deleted sessions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from paygo_desktop.reports.periods import Period, RangeKind, period_for
from paygo_desktop.reports.spending_report import (
    BreakdownLine,
    Dimension,
    SpendingAsset,
    SpendingReport,
    breakdown_parts,
)
from paygo_desktop.sessions.history import SessionHistory
from paygo_desktop.store import Store
from paygo_desktop.store.models import SessionRow, SpendingRow
from paygo_desktop.store.spending import join_amount
from tests.reports.spending_data import (
    ETH_VIDEO,
    USDC_FEED,
    USDC_GPU,
    USDC_NEWS,
    Spent,
    add_session,
    generate,
    utc,
    write,
)

BERLIN = ZoneInfo("Europe/Berlin")  # spring change 2025-03-30
ZONES = (UTC, BERLIN, ZoneInfo("Asia/Tokyo"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/St_Johns"))
FROM = utc(2025, 3, 25)


@dataclass
class Spans:
    store: Store
    report: SpendingReport
    assets: dict[str, SpendingAsset]


@pytest.fixture(scope="module")
def spans(tmp_path_factory: pytest.TempPathFactory):
    """Sessions over 10 days across Berlin's spring change, records without a session (as x402 payments
    and deleted sessions leave), records on, just before and just after quarter hours and UTC midnights,
    ETH past 64 bits; then the app's own corrections: receipts lowering sessions' records (to zero too) and
    adding to others, records deleted, sessions deleted, a service renamed on some of its records."""
    store = Store.open(tmp_path_factory.mktemp("spans") / "paygo.sqlite3")
    made = generate(store, count=1_500, start=FROM, days=10, seed=31, per_session=30)
    edges = []
    for i in range(60):
        edge = FROM + timedelta(minutes=15 * 37 * i)
        for at, kind in ((edge, USDC_FEED), (edge - timedelta(microseconds=1), USDC_GPU), (edge, ETH_VIDEO)):
            edges.append(Spent(kind, at, 10**19 + i if kind is ETH_VIDEO else 1_000 + i))
        midnight = FROM + timedelta(days=i % 10)
        edges.append(Spent(USDC_NEWS, midnight - timedelta(microseconds=1 + i), 7 + i))
    write(store, edges)  # no session
    history = SessionHistory(store)
    sessions = sorted({sid for _, sid in made})
    with store.session() as s:
        local = {sid: lid for sid, lid in s.execute(select(SessionRow.id, SessionRow.local_id))}
    spent: dict[int, int] = defaultdict(int)
    for record, sid in made:
        spent[sid] += record.amount
    for n, sid in enumerate(sessions[::5]):  # receipts: less than recorded (to zero), or more
        history.settle_spending(
            local[sid], 0 if n % 3 == 0 else spent[sid] // 2 if n % 3 == 1 else spent[sid] + 9
        )
    with store.session() as s:
        s.execute(delete(SpendingRow).where(SpendingRow.id % 13 == 0))
        s.execute(delete(SessionRow).where(SessionRow.id.in_(sessions[1::17])))  # spending.session_id NULL
        s.execute(
            update(SpendingRow)
            .where(SpendingRow.service_id == USDC_GPU.service_id, SpendingRow.id % 4 == 0)
            .values(service_name="GPU notebook (renamed)")
        )
    report = SpendingReport(store)
    yield Spans(store, report, {a.asset.symbol: a for a in report.assets()})
    store.close()


def python_breakdown(store: Store, asset: SpendingAsset, period: Period, by: Dimension) -> dict[str, tuple]:
    """Each group's label, detail, total and distinct sessions, from the records in plain Python."""
    groups: dict[str, list] = {}
    with store.session() as s:
        rows = s.scalars(select(SpendingRow).where(SpendingRow.asset_key == asset.key)).all()
    for row in rows:
        if not period.start <= row.at.replace(tzinfo=UTC) < period.end:
            continue
        keys = {
            Dimension.service: (row.provider_url, row.service_id),
            Dimension.category: (row.category,),
            Dimension.provider: (row.provider_url,),
        }[by]
        group = groups.setdefault("\x1f".join(keys), [keys, "", "", 0, set()])
        group[1] = max(group[1], row.service_name)
        group[2] = max(group[2], row.provider_name)
        group[3] += join_amount(row.amount_giga, row.amount_rem)
        if row.session_id is not None:
            group[4].add(row.session_id)
    found = {}
    for key, (keys, service_name, provider_name, units, sessions) in groups.items():
        label, detail = {
            Dimension.service: (service_name, provider_name),
            Dimension.category: (keys[0].capitalize(), ""),
            Dimension.provider: (provider_name, keys[0]),
        }[by]
        found[key] = (label, detail, units, len(sessions))
    return found


def as_dict(lines: list[BreakdownLine]) -> dict[str, tuple]:
    return {line.key: (line.label, line.detail, line.amount.units, line.sessions) for line in lines}


def check(spans: Spans, symbol: str, period: Period) -> list[BreakdownLine]:
    asset = spans.assets[symbol]
    for by in Dimension:
        lines = spans.report.breakdown(asset, period, by)
        assert lines == spans.report.breakdown_from_records(asset, period, by)
        assert as_dict(lines) == python_breakdown(spans.store, asset, period, by)
        assert all(line.amount.asset == asset.asset for line in lines)
    return spans.report.breakdown(asset, period, Dimension.service)


instants = st.builds(
    lambda seconds, micro: FROM + timedelta(seconds=seconds, microseconds=micro),
    st.integers(min_value=-86_400, max_value=11 * 86_400),
    st.sampled_from([0, 0, 1, 999_999, 123_456]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=instants,
    length=st.integers(min_value=1, max_value=12 * 86_400),
    quarter=st.booleans(),
    symbol=st.sampled_from(["USDC", "ETH"]),
)
@example(start=FROM, length=10 * 86_400, quarter=True, symbol="USDC")  # whole days only
@example(start=FROM + timedelta(minutes=1), length=600, quarter=False, symbol="USDC")  # inside one slot
@example(start=FROM - timedelta(minutes=20), length=86_400 + 2_400, quarter=False, symbol="USDC")
def test_breakdown_equals_the_records_for_any_range(spans, start, length, quarter, symbol) -> None:
    """Ranges starting and ending at any instant (cutting slots, days or both), or on quarter hours."""
    end = start + timedelta(seconds=length)
    if quarter:  # the ends on quarter hours, as local midnights are: no record read
        start, end = (
            FROM + (t - FROM) // timedelta(minutes=15) * timedelta(minutes=15) for t in (start, end)
        )
        if start == end:
            end = start + timedelta(minutes=15)
    check(spans, symbol, Period(start, end))


@pytest.mark.parametrize("kind", [RangeKind.today, RangeKind.days7, RangeKind.days30, RangeKind.all])
@pytest.mark.parametrize("zone", ZONES)
def test_the_pages_ranges_equal_the_records(spans, kind, zone) -> None:
    """The Activity page's own ranges, in zones with daylight saving and offsets of 45 and 30 minutes: the
    same lines, and only whole slots and days read (their ends are local midnights, on quarter hours)."""
    for symbol, asset in spans.assets.items():
        for now in (utc(2025, 3, 30, 13), utc(2025, 4, 3, 23, 50)):
            period = period_for(kind, now, first=asset.first, zone=zone)
            (s0, s1), _ = breakdown_parts(period)
            assert (s0, s1) == (period.start, period.end)
            lines = check(spans, symbol, period)
            if kind is RangeKind.all:
                assert sum(line.sessions for line in lines) >= 5


def test_breakdown_parts() -> None:
    """Whole days inside whole slots inside the range; without a whole day, or a whole slot, the ends."""
    cut = Period(utc(2025, 3, 1, 10, 7), utc(2025, 3, 4, 11, 52))
    assert breakdown_parts(cut) == (
        (utc(2025, 3, 1, 10, 15), utc(2025, 3, 4, 11, 45)),
        (utc(2025, 3, 2), utc(2025, 3, 4)),
    )
    short = Period(utc(2025, 3, 1, 22, 7), utc(2025, 3, 2, 1, 52))
    end_slot = utc(2025, 3, 2, 1, 45)
    assert breakdown_parts(short) == ((utc(2025, 3, 1, 22, 15), end_slot), (end_slot, end_slot))
    inside = Period(utc(2025, 3, 1, 10, 1), utc(2025, 3, 1, 10, 14))
    assert breakdown_parts(inside) == ((inside.end, inside.end), (inside.end, inside.end))


def test_a_session_cut_by_both_ends_is_counted_once(tmp_path: Path) -> None:
    """One session spending before, across and after a range that cuts a slot at each end and holds whole
    days and slots: one session, and its amount inside the range only."""
    store = Store.open(tmp_path / "paygo.sqlite3")
    sid = add_session(store, USDC_FEED, utc(2025, 5, 1), 0)
    moments = [utc(2025, 5, 1) + timedelta(minutes=7 * i) for i in range(1, 1_000)]
    write(store, [Spent(USDC_FEED, at, 1_000 + i, 0) for i, at in enumerate(moments)], [sid])
    report = SpendingReport(store)
    usdc = report.assets()[0]
    period = Period(utc(2025, 5, 1, 20, 3), utc(2025, 5, 4, 2, 58))
    (lines,) = report.breakdown(usdc, period, Dimension.service)
    assert lines.sessions == 1
    assert lines.amount.units == sum(
        1_000 + i for i, at in enumerate(moments) if period.start <= at < period.end
    )
    assert [lines] == report.breakdown_from_records(usdc, period, Dimension.service)
    store.close()
