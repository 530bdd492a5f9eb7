"""The chart data against figures computed independently: plain Python over the generated records and a
second, plain SQL query. Bucket boundaries in a real time zone with daylight saving; assets kept apart."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from paygo_desktop.reports.periods import (
    Bucket,
    BucketSpan,
    Period,
    PeriodError,
    RangeKind,
    auto_bucket,
    bucket_floor,
    buckets,
    period_for,
)
from paygo_desktop.reports.spending_report import (
    ChartQuery,
    Dimension,
    SpendingReport,
    chart_data,
    whole_slots,
)
from paygo_desktop.store import Store
from paygo_desktop.store.spending import join_amount
from tests.reports.spending_data import ETH_VIDEO, KINDS, USDC_FEED, USDC_GPU, Spent, generate, utc, write

BERLIN = ZoneInfo("Europe/Berlin")  # DST: 2025-03-30 02:00 → 03:00, 2025-10-26 03:00 → 02:00
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def store(tmp_path: Path):
    s = Store.open(tmp_path / "paygo.sqlite3")
    yield s
    s.close()


def by_key(report: SpendingReport):
    return {a.asset.symbol: a for a in report.assets()}


def test_day_buckets_equal_python_sums_over_local_dates(store: Store) -> None:
    made = generate(store, count=600, start=utc(2025, 3, 20), days=20, seed=3)
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    period = Period(utc(2025, 3, 19), utc(2025, 4, 12))
    series = report.series(usdc, buckets(period, Bucket.day, BERLIN))
    expected: dict[date, int] = defaultdict(int)
    for spent, _ in made:
        if spent.kind.symbol == "USDC":
            expected[spent.at.astimezone(BERLIN).date()] += spent.amount
    got = {b.span.start.astimezone(BERLIN).date(): b.amount.units for b in series}
    assert {d: v for d, v in got.items() if v} == dict(expected)
    assert all(b.span.start.astimezone(BERLIN).time() == datetime.min.time() for b in series[1:])
    assert series[-1].cumulative.units == sum(expected.values())
    running = 0
    for b in series:
        running += b.amount.units
        assert b.cumulative.units == running
    assert all(b.amount.asset == usdc.asset for b in series)


def test_bucket_totals_equal_a_plain_sql_group_by(store: Store) -> None:
    generate(store, count=400, start=utc(2025, 1, 1), days=90, seed=11)
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    series = report.series(usdc, buckets(Period(utc(2025, 1, 1), utc(2025, 4, 1)), Bucket.month, UTC))
    with store.engine.connect() as conn:
        plain = conn.execute(
            text(
                "SELECT strftime('%Y-%m', at), SUM(amount_giga), SUM(amount_rem) FROM spending "
                "WHERE asset_key = :k GROUP BY 1"
            ),
            {"k": usdc.key},
        ).all()
    assert {b.span.start.strftime("%Y-%m"): b.amount.units for b in series} == {
        month: join_amount(g, r) for month, g, r in plain
    }


def test_assets_are_never_added_together(store: Store) -> None:
    at = utc(2025, 6, 1, 12)
    eth_amounts = [5 * 10**18 + 1, 7 * 10**18 + 3, 3 * 10**18]  # 15 ETH: past 2**63 wei
    write(store, [Spent(ETH_VIDEO, at, a) for a in eth_amounts] + [Spent(USDC_FEED, at, 2_500_000)])
    report = SpendingReport(store)
    assets = by_key(report)
    assert set(assets) == {"ETH", "USDC"}
    day = buckets(Period(utc(2025, 6, 1), utc(2025, 6, 2)), Bucket.day, UTC)
    eth = report.series(assets["ETH"], day)
    usdc = report.series(assets["USDC"], day)
    assert eth[0].amount.units == sum(eth_amounts) > 2**63
    assert eth[0].amount.format() == "15.000000000000000004 ETH"
    assert usdc[0].amount.format() == "2.5 USDC"
    assert assets["ETH"].asset.address is None and assets["USDC"].asset.address == USDC_FEED.address.lower()
    lines = report.breakdown(assets["USDC"], Period(utc(2025, 6, 1), utc(2025, 6, 2)), Dimension.service)
    assert [line.label for line in lines] == ["Market data feed"]  # no ETH service among USDC spending


def test_day_on_which_the_clocks_change_has_its_real_length(store: Store) -> None:
    # 23:30 and 00:30 local around the spring change; 01:30 at 02:30 UTC is after the jump
    times = [
        datetime(2025, 3, 29, 23, 30, tzinfo=BERLIN),
        datetime(2025, 3, 30, 0, 30, tzinfo=BERLIN),
        datetime(2025, 3, 30, 23, 59, tzinfo=BERLIN),
        datetime(2025, 3, 31, 0, 0, tzinfo=BERLIN),
    ]
    write(store, [Spent(USDC_FEED, t, 1_000 * (i + 1)) for i, t in enumerate(times)])
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    spans = buckets(
        period_for(
            RangeKind.custom, utc(2025, 4, 1), custom=(date(2025, 3, 29), date(2025, 3, 31)), zone=BERLIN
        ),
        Bucket.day,
        BERLIN,
    )
    assert [s.end - s.start for s in spans] == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert [b.amount.units for b in report.series(usdc, spans)] == [1_000, 2_000 + 3_000, 4_000]
    autumn = buckets(
        Period(datetime(2025, 10, 26, tzinfo=BERLIN), datetime(2025, 10, 27, tzinfo=BERLIN)),
        Bucket.hour,
        BERLIN,
    )
    assert len(autumn) == 25  # the repeated hour is its own bar, not added to its twin


def test_week_and_month_buckets_start_on_monday_and_the_first(store: Store) -> None:
    monday = bucket_floor(datetime(2025, 5, 15, 8, tzinfo=TOKYO), Bucket.week, TOKYO)
    assert monday.astimezone(TOKYO) == datetime(2025, 5, 12, tzinfo=TOKYO)
    first = bucket_floor(datetime(2025, 12, 31, 23, tzinfo=TOKYO), Bucket.month, TOKYO)
    assert first.astimezone(TOKYO) == datetime(2025, 12, 1, tzinfo=TOKYO)
    spans = buckets(Period(utc(2025, 11, 20), utc(2026, 2, 2)), Bucket.month, TOKYO)
    assert [s.start.astimezone(TOKYO).strftime("%Y-%m-%d") for s in spans[1:]] == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]
    assert spans[0].start == utc(2025, 11, 20)  # the first bar is clipped to the range


def test_ranges_in_local_time() -> None:
    now = datetime(2025, 7, 10, 15, 0, tzinfo=TOKYO)
    today = period_for(RangeKind.today, now, zone=TOKYO)
    assert today == Period(datetime(2025, 7, 10, tzinfo=TOKYO), datetime(2025, 7, 11, tzinfo=TOKYO))
    week = period_for(RangeKind.days7, now, zone=TOKYO)
    assert week.start == datetime(2025, 7, 4, tzinfo=TOKYO) and week.end == today.end
    month = period_for(RangeKind.days30, now, zone=TOKYO)
    assert (month.end - month.start).days == 30
    everything = period_for(RangeKind.all, now, first=utc(2024, 1, 5, 3), zone=TOKYO)
    assert everything.start == datetime(2024, 1, 5, tzinfo=TOKYO) and everything.end == today.end
    with pytest.raises(PeriodError, match="before its first day"):
        period_for(RangeKind.custom, now, custom=(date(2025, 7, 2), date(2025, 7, 1)), zone=TOKYO)
    with pytest.raises(PeriodError, match="coarser"):
        buckets(Period(utc(2000, 1, 1), utc(2025, 1, 1)), Bucket.hour, UTC)
    assert auto_bucket(today) is Bucket.hour and auto_bucket(month) is Bucket.day
    assert auto_bucket(everything) is Bucket.week  # 18 months: 79 weekly bars
    assert auto_bucket(period_for(RangeKind.all, now, first=utc(2021, 1, 1), zone=TOKYO)) is Bucket.month


def test_the_computers_own_time_zone_is_the_default(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        moment = utc(2025, 11, 2, 12)  # the day New York falls back: 25 hours long
        assert period_for(RangeKind.today, moment) == period_for(
            RangeKind.today, moment, zone=ZoneInfo("America/New_York")
        )
        today = period_for(RangeKind.today, moment)
        assert today.end - today.start == timedelta(hours=25)
        assert len(buckets(today, Bucket.hour)) == 25
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert os.environ.get("TZ") is None


def test_breakdowns_equal_python_sums(store: Store) -> None:
    made = generate(store, count=500, start=utc(2025, 2, 1), days=30, seed=5)
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    period = Period(utc(2025, 2, 10), utc(2025, 2, 20))
    inside = [(s, sid) for s, sid in made if s.kind.symbol == "USDC" and period.start <= s.at < period.end]
    for dimension, key in (
        (Dimension.service, lambda k: k.service_name),
        (Dimension.category, lambda k: k.category.capitalize()),
        (Dimension.provider, lambda k: k.provider_name),
    ):
        expected: dict[str, int] = defaultdict(int)
        sessions: dict[str, set[int]] = defaultdict(set)
        for spent, sid in inside:
            expected[key(spent.kind)] += spent.amount
            sessions[key(spent.kind)].add(sid)
        lines = report.breakdown(usdc, period, dimension)
        assert {line.label: line.amount.units for line in lines} == dict(expected)
        assert {line.label: line.sessions for line in lines} == {k: len(v) for k, v in sessions.items()}
        assert [line.amount.units for line in lines] == sorted(expected.values(), reverse=True)
    assert report.total(usdc, period).units == sum(s.amount for s, _ in inside)


def test_a_bars_sessions_are_the_ones_that_spent_in_it(store: Store) -> None:
    made = generate(store, count=300, start=utc(2025, 8, 1), days=3, seed=9, kinds=(USDC_FEED, USDC_GPU))
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    spans = buckets(Period(utc(2025, 8, 1), utc(2025, 8, 5)), Bucket.day, UTC)
    series = report.series(usdc, spans)
    busiest = max(series, key=lambda b: b.amount.units)
    listed = report.sessions_in(usdc, busiest.span)
    expected: dict[int, int] = defaultdict(int)
    for spent, sid in made:
        if busiest.span.start <= spent.at < busiest.span.end:
            expected[sid] += spent.amount
    assert {s.session_id: s.spent.units for s in listed} == dict(expected)
    assert sum(s.spent.units for s in listed) == busiest.amount.units
    assert all(s.cost is not None and s.cost >= s.spent for s in listed)
    assert all(s.service_name in {k.service_name for k in KINDS} for s in listed)


def test_records_whose_session_was_deleted_still_count(store: Store) -> None:
    generate(store, count=10, start=utc(2025, 9, 1), days=1, seed=1, kinds=(USDC_FEED,))
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions"))
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    span = buckets(Period(utc(2025, 9, 1), utc(2025, 9, 2)), Bucket.day, UTC)[0]
    listed = report.sessions_in(usdc, span)
    assert [(s.session_id, s.status) for s in listed] == [(None, "record removed")]
    assert listed[0].spent == report.series(usdc, [span])[0].amount


def test_an_empty_store_has_no_assets(store: Store) -> None:
    assert SpendingReport(store).assets() == []


# -- the chart's sums kept ahead of time (spending_slots) agree with the records, bucket by bucket ---------

ZONES = (UTC, BERLIN, TOKYO, ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/St_Johns"))  # +5:45, -3:30
SLOTTED_FROM = utc(2025, 3, 25)


@pytest.fixture(scope="module")
def slotted(tmp_path_factory: pytest.TempPathFactory):
    """Records over 10 days across Berlin's spring change, with some on, just before and just after a
    quarter hour, and ETH amounts past 64 bits."""
    s = Store.open(tmp_path_factory.mktemp("slots") / "paygo.sqlite3")
    made = [spent for spent, _ in generate(s, count=1_500, start=SLOTTED_FROM, days=10, seed=21)]
    edges = []
    for i in range(60):
        edge = SLOTTED_FROM + timedelta(minutes=15 * 37 * i)
        for at, kind in ((edge, USDC_FEED), (edge - timedelta(microseconds=1), USDC_GPU), (edge, ETH_VIDEO)):
            edges.append(Spent(kind, at, 10**19 + i if kind is ETH_VIDEO else 1_000 + i))
    write(s, edges)
    yield Slotted(s, made + edges)
    s.close()


@dataclass
class Slotted:
    store: Store
    made: list[Spent] = field(repr=False)  # hypothesis prints the arguments of a failing example


def python_sum(made: list[Spent], symbol: str, start: datetime, end: datetime) -> tuple[int, int]:
    inside = [m.amount for m in made if m.kind.symbol == symbol and start <= m.at < end]
    return sum(inside), len(inside)


instants = st.builds(
    lambda seconds, micro: SLOTTED_FROM + timedelta(seconds=seconds, microseconds=micro),
    st.integers(min_value=-86_400, max_value=11 * 86_400),
    st.sampled_from([0, 0, 1, 999_999, 123_456]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=instants,
    length=st.integers(min_value=1, max_value=12 * 86_400),
    bucket=st.sampled_from(list(Bucket)),
    zone=st.sampled_from(ZONES),
    symbol=st.sampled_from(["USDC", "ETH"]),
)
def test_slot_sums_equal_the_records_for_any_buckets(slotted, start, length, bucket, zone, symbol) -> None:
    """Buckets of any kind in zones whose hours are not on UTC's, over a range starting and ending at any
    instant (so the first and last buckets cut slots): the new path, the old query and Python agree."""
    store, made = slotted.store, slotted.made
    report = SpendingReport(store)
    asset = by_key(report)[symbol]
    spans = buckets(Period(start, start + timedelta(seconds=length)), bucket, zone)
    series = report.series(asset, spans)
    assert series == report.series_from_records(asset, spans)
    assert [(b.amount.units, b.records) for b in series] == [
        python_sum(made, symbol, span.start, span.end) for span in spans
    ]


def test_slot_sums_of_short_and_scattered_spans(slotted) -> None:
    """Spans inside one slot, straddling one edge, and not adjacent to each other."""
    store, made = slotted.store, slotted.made
    report = SpendingReport(store)
    usdc = by_key(report)["USDC"]
    edge = SLOTTED_FROM + timedelta(minutes=15 * 37 * 3)
    spans = [
        BucketSpan(edge - timedelta(microseconds=1), edge + timedelta(microseconds=1)),
        BucketSpan(edge - timedelta(minutes=5), edge + timedelta(minutes=5)),
        BucketSpan(edge, edge + timedelta(minutes=15)),
        BucketSpan(edge + timedelta(minutes=1), edge + timedelta(minutes=14)),
        BucketSpan(edge - timedelta(days=3, seconds=7), edge + timedelta(days=2, seconds=11)),
    ]
    series = report.series(usdc, spans)
    assert series == report.series_from_records(usdc, spans)
    assert [(b.amount.units, b.records) for b in series] == [
        python_sum(made, "USDC", s.start, s.end) for s in spans
    ]
    assert series[0].records == 2  # the record 1 µs before the edge and the one on it


@pytest.mark.parametrize("kind", [RangeKind.today, RangeKind.days7, RangeKind.days30, RangeKind.all])
@pytest.mark.parametrize("zone", ZONES)
def test_chart_data_equals_the_old_query(slotted, kind, zone) -> None:
    store = slotted.store
    report = SpendingReport(store)
    for asset in report.assets():
        data = chart_data(report, ChartQuery(range_kind=kind, asset_key=asset.key), utc(2025, 4, 2, 13), zone)
        assert data.series == report.series_from_records(asset, [b.span for b in data.series])
        assert data.total is not None and data.total.units == data.series[-1].cumulative.units


def test_local_hours_and_midnights_are_slot_edges_in_every_zone() -> None:
    """So a chart's buckets read only whole slots and no record at all; a range cut mid-slot reads only
    the cut parts from the records."""
    for zone in ZONES:
        for bucket in Bucket:
            for span in buckets(Period(utc(2025, 3, 1), utc(2025, 4, 2)), bucket, zone)[1:-1]:
                assert whole_slots(span) == (span.start, span.end)
    cut = BucketSpan(utc(2025, 3, 1, 10, 7), utc(2025, 3, 1, 11, 52))
    assert whole_slots(cut) == (utc(2025, 3, 1, 10, 15), utc(2025, 3, 1, 11, 45))
    inside = BucketSpan(utc(2025, 3, 1, 10, 1), utc(2025, 3, 1, 10, 14))
    assert whole_slots(inside) == (inside.end, inside.end)
