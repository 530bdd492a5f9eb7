"""Time for the charts: the ranges a user picks (today, 7 days, 30 days, all, custom) and their buckets.

The store keeps every instant in UTC. People read their spending in their own time: a "day" bucket runs
from local midnight to local midnight, a "week" from Monday, a "month" from the 1st. Bucket boundaries are
therefore computed here, in local time (``zone`` None is the computer's own time zone, daylight saving
included), and handed to SQL as UTC instants. A day on which the clocks change is 23 or 25 hours long,
as it is on the wall; hour buckets step in real hours, so no hour is counted twice or lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum


class Bucket(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"
    month = "month"


class RangeKind(StrEnum):
    today = "today"
    days7 = "7d"
    days30 = "30d"
    all = "all"
    custom = "custom"


RANGE_LABELS = {
    RangeKind.today: "Today",
    RangeKind.days7: "Last 7 days",
    RangeKind.days30: "Last 30 days",
    RangeKind.all: "All time",
    RangeKind.custom: "Custom…",
}
BUCKET_LABELS = {Bucket.hour: "Hourly", Bucket.day: "Daily", Bucket.week: "Weekly", Bucket.month: "Monthly"}
MAX_BUCKETS = 5_000  # a finer bucket over a long range is refused rather than drawn as a smear


class PeriodError(ValueError):
    """A custom range that cannot be used (end before start, too many buckets)."""


@dataclass(frozen=True)
class Period:
    """A half-open span [start, end) of UTC instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's instants must carry a time zone")
        if self.end <= self.start:
            raise PeriodError("The end of the range must be after its start.")


@dataclass(frozen=True)
class BucketSpan:
    """One bar of a chart: [start, end) in UTC."""

    start: datetime
    end: datetime


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(UTC)


def local(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """``moment`` on the wall clock of ``zone`` (None: this computer's time zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone) if zone is not None else moment.astimezone()


def wall_to_utc(wall: datetime, zone: tzinfo | None = None) -> datetime:
    """A naive wall-clock time in ``zone`` (None: this computer's) as a UTC instant."""
    if zone is not None:
        return wall.replace(tzinfo=zone).astimezone(UTC)
    return wall.astimezone(UTC)  # a naive datetime is taken as local time, DST included (mktime)


def local_midnight(day: date, zone: tzinfo | None = None) -> datetime:
    return wall_to_utc(datetime.combine(day, time()), zone)


def bucket_floor(moment: datetime, bucket: Bucket, zone: tzinfo | None = None) -> datetime:
    """The start (UTC) of the bucket holding ``moment``."""
    wall = local(moment, zone).replace(tzinfo=None)
    if bucket is Bucket.hour:
        wall = wall.replace(minute=0, second=0, microsecond=0)
    else:
        day = wall.date()
        if bucket is Bucket.week:
            day -= timedelta(days=day.weekday())
        elif bucket is Bucket.month:
            day = day.replace(day=1)
        wall = datetime.combine(day, time())
    return wall_to_utc(wall, zone)


def next_bucket(start: datetime, bucket: Bucket, zone: tzinfo | None = None) -> datetime:
    """The start (UTC) of the bucket after the one starting at ``start``."""
    if bucket is Bucket.hour:
        return start + timedelta(hours=1)
    day = local(start, zone).date()
    if bucket is Bucket.day:
        day += timedelta(days=1)
    elif bucket is Bucket.week:
        day += timedelta(days=7)
    else:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return local_midnight(day, zone)


def buckets(period: Period, bucket: Bucket, zone: tzinfo | None = None) -> list[BucketSpan]:
    """The buckets covering ``period``; the first and last are clipped to it."""
    spans: list[BucketSpan] = []
    start = bucket_floor(period.start, bucket, zone)
    while start < period.end:
        end = next_bucket(start, bucket, zone)
        if end <= start:  # a zone whose midnight does not exist on some day: never loop forever
            end = start + timedelta(hours=1)
        spans.append(BucketSpan(max(start, period.start), min(end, period.end)))
        if len(spans) > MAX_BUCKETS:
            raise PeriodError(
                f"That range has more than {MAX_BUCKETS:,} {bucket.value}s; choose a coarser view."
            )
        start = end
    return spans


def period_for(
    kind: RangeKind,
    now: datetime,
    *,
    first: datetime | None = None,
    custom: tuple[date, date] | None = None,
    zone: tzinfo | None = None,
) -> Period:
    """The UTC span of a range. ``first`` is the earliest record (for "all"); ``custom`` two local dates,
    both days included."""
    now = to_utc(now)
    today = local(now, zone).date()
    if kind is RangeKind.today:
        return Period(local_midnight(today, zone), local_midnight(today + timedelta(days=1), zone))
    if kind in (RangeKind.days7, RangeKind.days30):
        days = 7 if kind is RangeKind.days7 else 30
        start = local_midnight(today - timedelta(days=days - 1), zone)
        return Period(start, local_midnight(today + timedelta(days=1), zone))
    if kind is RangeKind.all:
        end = local_midnight(today + timedelta(days=1), zone)
        start = (
            bucket_floor(to_utc(first), Bucket.day, zone) if first is not None else end - timedelta(days=1)
        )
        return Period(min(start, end - timedelta(days=1)), end)
    if custom is None:
        raise PeriodError("Choose the first and last day of the range.")
    first_day, last_day = custom
    if last_day < first_day:
        raise PeriodError("The last day of the range is before its first day.")
    return Period(local_midnight(first_day, zone), local_midnight(last_day + timedelta(days=1), zone))


def auto_bucket(period: Period) -> Bucket:
    """A bucket that draws a readable number of bars for the span."""
    span = period.end - period.start
    if span <= timedelta(days=2):
        return Bucket.hour
    if span <= timedelta(days=92):
        return Bucket.day
    if span <= timedelta(days=2 * 366):
        return Bucket.week
    return Bucket.month


def bucket_label(start: datetime, bucket: Bucket, zone: tzinfo | None = None) -> str:
    """How a bucket is named to the user, in local time."""
    wall = local(start, zone)
    if bucket is Bucket.hour:
        return wall.strftime("%Y-%m-%d %H:00")
    if bucket is Bucket.day:
        return wall.strftime("%a %Y-%m-%d")
    if bucket is Bucket.week:
        return "Week of " + wall.strftime("%Y-%m-%d")
    return wall.strftime("%B %Y")


def bucket_tick(start: datetime, bucket: Bucket, zone: tzinfo | None = None) -> str:
    """A bucket's short name, for the chart's axis (the full name is in the hover text)."""
    wall = local(start, zone)
    if bucket is Bucket.hour:
        return wall.strftime("%H:00")
    if bucket in (Bucket.day, Bucket.week):
        return wall.strftime("%b %d")
    return wall.strftime("%b %Y")
