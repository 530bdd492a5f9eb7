"""The Activity chart over 1,000,000 spending records: aggregate and render the "All time" range, beside the
same on 10,000 records and an empty chart, in the same run; then the frame time while panning and zooming;
then what the ``spending_slots`` and ``spending_session_spans`` triggers add to writing a spending record,
and what migration 0016 takes.

    QT_QPA_PLATFORM=offscreen python benchmarks/activity_chart.py [--rows 1000000] [--runs 7]

"Aggregate + render" is what the Activity page does before its chart is on screen: ``chart_data`` (the
asset list with each asset's first and last record, and every bucket's sum; SQLite) and
``SpendingChart.set_bars`` plus one full paint of the chart. The bucket sums come from the per-slot totals
the triggers keep (``spending_slots``), with a bucket's partial slots at its edges from the records; the
same aggregate + render with every sum read from the records (the path before the slots,
``series_from_records``) is timed beside it. For scale, the same bucket sums are also timed the textbook way
(``GROUP BY strftime`` over the rows). Goal (issue 21): aggregate + render of 1M records ≤ 150 ms.

The breakdown by service (its amounts and its distinct sessions), which the page computes afterwards in its
own task, is timed on its own rows for "All time", the last 30 days and today (the last day of records):
read from each session's spending per slot and per day (``spending_session_spans``, the path used), and
from the records (the path before it, ``breakdown_from_records``, main's query); the script stops if the
two ever differ. The records belong to sessions as the app's do: each service runs one session after
another, each lasting 10 to 110 minutes (about 33,000 sessions in 1M records, 24,708 of them in USDC).
Then migration 0016 is timed on a copy of the 1M store taken back to 0015: the whole ``Store.open`` an
upgrade goes through (the copy of the database it keeps first included) and the migration alone.

Insert cost: a voucher the provider acks stores one spending record in its own transaction
(``SpendingLog.record``). Timed as the app does it, one record per transaction, into the 10k store with
all its triggers, into a copy with the ``spending_slots`` triggers only (before ``spending_session_spans``)
and into a copy without any, alternating; and, to see the triggers' own work without the commit, 100,000
records in one transaction each way. The machine's load over each timed part is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import Load

KINDS = [
    (
        "sandbox:USDC:0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "USDC",
        6,
        "feed",
        "Market data feed",
        "finance",
    ),
    ("sandbox:USDC:0x5fbdb2315678afecb367f032d93f642f64180aa3", "USDC", 6, "gpu", "GPU notebook", "compute"),
    ("sandbox:USDC:0x5fbdb2315678afecb367f032d93f642f64180aa3", "USDC", 6, "news", "Newswire", "news"),
    ("sandbox:ETH:native", "ETH", 18, "video", "4K video", "video"),
]


def make_store(path: Path, rows: int, end: datetime) -> None:
    """``rows`` records, one every 30 s back from ``end`` (1M rows: about a year), written like the app's;
    each service's records in sessions of 10 to 110 minutes, one after another."""
    from sqlalchemy import insert

    from paygo_desktop.store import Store
    from paygo_desktop.store.models import SessionRow

    Store.open(path).close()  # the schema, with its indexes and triggers
    con = sqlite3.connect(path)
    rnd = random.Random(1)
    sessions: list[dict[str, object]] = []
    current: dict[int, tuple[int, datetime]] = {}  # kind → (session id, until)
    batch = []
    for i in range(rows):
        k = i % 7 % 4
        key, symbol, decimals, sid, name, category = KINDS[k]
        at = end - timedelta(seconds=30 * (rows - i))
        if k not in current or at >= current[k][1]:
            sessions.append(_session(len(sessions) + 1, KINDS[k], at))
            current[k] = (len(sessions), at + timedelta(minutes=rnd.randint(10, 110)))
        amount = rnd.randrange(1, 5_000) * 10 ** max(0, decimals - 4)
        batch.append(
            (
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                current[k][0],
                "0x" + "1" * 40,
                "sandbox",
                "escrow",
                key,
                symbol,
                decimals,
                "http://127.0.0.1:8600",
                "Sandbox provider",
                sid,
                name,
                category,
                amount // 10**9,
                amount % 10**9,
            )
        )
        if len(batch) == 100_000:
            _insert(con, batch)
            batch = []
    if batch:
        _insert(con, batch)
    con.close()
    store = Store.open(path)
    with store.session() as s:
        s.execute(insert(SessionRow), sessions)
    store.close()


def _session(number: int, kind: tuple[str, str, int, str, str, str], started: datetime) -> dict[str, object]:
    _, symbol, decimals, sid, name, category = kind
    return {
        "id": number,
        "local_id": f"bench-{number}",
        "account": "0x" + "1" * 40,
        "network": "sandbox",
        "funding": "escrow",
        "provider_url": "http://127.0.0.1:8600",
        "provider_name": "Sandbox provider",
        "service_id": sid,
        "service_name": name,
        "category": category,
        "asset_symbol": symbol,
        "decimals": decimals,
        "rate_amount": "1",
        "rate_unit": "per_second",
        "tick_seconds": 5,
        "grace_seconds": 5,
        "budget": "0",
        "status": "stopped",
        "started_at": started,
    }


def _insert(con: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    con.executemany(
        "INSERT INTO spending (at, session_id, account, network, funding, asset_key, asset_symbol, decimals, "
        "provider_url, provider_name, service_id, service_name, category, amount_giga, amount_rem) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        batch,
    )
    con.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from paygo_desktop.gui.widgets.spending_chart import ChartBar, SpendingChart
    from paygo_desktop.reports.periods import RANGE_LABELS, RangeKind, bucket_label, bucket_tick
    from paygo_desktop.reports.spending_report import (
        BreakdownLine,
        ChartQuery,
        Dimension,
        SpendingReport,
        chart_data,
    )
    from paygo_desktop.store import Store

    class FromRecords(SpendingReport):
        """The path before ``spending_slots``: every bucket summed from the records."""

        series = SpendingReport.series_from_records

    end = datetime(2026, 11, 1, tzinfo=UTC)
    tmp = Path(tempfile.mkdtemp(prefix="paygo-bench-chart-"))
    sizes = {"10k records (baseline)": 10_000, f"{args.rows:,} records": args.rows}
    stores = {}
    for label, rows in sizes.items():
        path = tmp / f"{rows}.sqlite3"
        started = time.perf_counter()
        make_store(path, rows, end)
        print(f"generated {label} in {time.perf_counter() - started:.1f} s", flush=True)
        stores[label] = Store.open(path)

    chart = SpendingChart()
    chart.resize(1000, 420)
    chart.show()
    for _ in range(5):
        app.processEvents()

    def render(data: object) -> None:
        d = data  # ChartData
        bars = [
            ChartBar(
                bucket_label(b.span.start, d.bucket),
                bucket_tick(b.span.start, d.bucket),
                b.amount,
                b.cumulative,
            )
            for b in d.series
        ]  # type: ignore[attr-defined]
        chart.set_bars(bars, d.asset.asset.symbol if d.asset else "")  # type: ignore[attr-defined]
        chart.plot.viewport().repaint()

    now = end
    answers: dict[tuple[str, RangeKind, str], list[BreakdownLine]] = {}
    sessions: dict[str, int] = {}
    load = Load().start()
    results: dict[str, list[float]] = {"empty chart (baseline)": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        chart.set_bars([], "USDC")
        chart.plot.viewport().repaint()
        results["empty chart (baseline)"].append(time.perf_counter() - started)
    bars = 0
    for label, store in stores.items():
        report = SpendingReport(store)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            data = chart_data(report, ChartQuery(range_kind=RangeKind.all), now)
            render(data)
            times.append(time.perf_counter() - started)
        results[f"aggregate + render, {label}"] = times
        before = FromRecords(store)
        results[f"aggregate + render, {label}, sums from the records (before)"] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            render(chart_data(before, ChartQuery(range_kind=RangeKind.all), now))
            results[f"aggregate + render, {label}, sums from the records (before)"].append(
                time.perf_counter() - started
            )
        bars = len(data.series)
        for kind in (RangeKind.all, RangeKind.days30, RangeKind.today):
            # a second before the last record's day ends, so that "Today" holds a day of records
            period = chart_data(report, ChartQuery(range_kind=kind), now - timedelta(seconds=1)).period
            for name, breakdown in (
                ("session spans + edges (used)", report.breakdown),
                ("from the records (before)", report.breakdown_from_records),
            ):
                row = f"breakdown by service, {RANGE_LABELS[kind]}, {name}, {label}"
                results[row] = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    lines = breakdown(data.asset, period, Dimension.service)  # type: ignore[arg-type]
                    results[row].append(time.perf_counter() - started)
                answers[(label, kind, name)] = lines
            used, before = (
                answers[(label, kind, n)]
                for n in ("session spans + edges (used)", "from the records (before)")
            )
            if used != before:
                sys.exit(f"the breakdown's two paths differ ({label}, {kind}): {used} != {before}")
            sessions[f"{RANGE_LABELS[kind]}, {label}"] = sum(line.sessions for line in used)
        # the textbook query, for scale: GROUP BY a strftime bucket over the rows (same asset, same weeks)
        con = sqlite3.connect(store.path)
        key = data.asset.key if data.asset else ""
        textbook = []
        for _ in range(args.runs):
            started = time.perf_counter()
            con.execute(
                "SELECT strftime('%Y-%W', at, 'localtime'), SUM(amount_giga), SUM(amount_rem) FROM spending "
                "WHERE asset_key = ? GROUP BY 1",
                (key,),
            ).fetchall()
            textbook.append(time.perf_counter() - started)
        con.close()
        results[f"bucket sums only, GROUP BY strftime, {label}"] = textbook
        spans = [b.span for b in data.series]
        for name, series in (
            ("slots + edges (used)", report.series),
            ("from the records (before)", report.series_from_records),
        ):
            results[f"bucket sums only, {name}, {label}"] = []
            for _ in range(args.runs):
                started = time.perf_counter()
                series(data.asset, spans)  # type: ignore[arg-type]
                results[f"bucket sums only, {name}, {label}"].append(time.perf_counter() - started)

    load.stop()
    print(f"\n'All time' over {args.rows:,} records: {bars} weekly bars; {args.runs} runs each, milliseconds")
    print(load.line())
    print("| what | median | best | worst |\n|---|---:|---:|---:|")
    for label, times in results.items():
        ms = [t * 1000 for t in times]
        print(f"| {label} | {statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} |")
    print(
        "sessions counted by the breakdown (both paths): "
        + ", ".join(f"{k}: {v:,}" for k, v in sessions.items())
    )

    # frame time while panning and zooming the big chart, beside an empty chart's frame
    def frames(moves: int) -> list[float]:
        vb = chart.plot.getPlotItem().vb
        out = []
        for i in range(moves):
            started = time.perf_counter()
            if i % 2:
                vb.scaleBy(x=0.9 if (i // 20) % 2 == 0 else 1 / 0.9)
            else:
                vb.translateBy(x=0.5 if (i // 10) % 2 == 0 else -0.5)
            chart.plot.viewport().repaint()
            app.processEvents()
            out.append((time.perf_counter() - started) * 1000)
        return out

    chart.set_bars([], "USDC")
    empty = frames(200)
    render(
        chart_data(
            SpendingReport(stores[f"{args.rows:,} records"]), ChartQuery(range_kind=RangeKind.all), now
        )
    )
    busy = frames(200)
    print("\nframe time while panning and zooming (200 frames, ms)")
    print("| chart | median | p95 | worst |\n|---|---:|---:|---:|")
    for label, ms in (("empty chart (baseline)", empty), (f"'All time', {bars} bars", busy)):
        ms_sorted = sorted(ms)
        p95 = ms_sorted[int(len(ms_sorted) * 0.95) - 1]
        print(f"| {label} | {statistics.median(ms):.1f} | {p95:.1f} | {max(ms):.1f} |")
    insert_cost(stores["10k records (baseline)"], tmp, end)
    for store in stores.values():
        store.close()
    migration_cost(tmp / f"{args.rows}.sqlite3", tmp)
    shutil.rmtree(tmp, ignore_errors=True)  # the 1M-record store is ~360 MB


SESSION_SPAN_TRIGGERS = tuple(f"spending_session_spans_{w}" for w in ("insert", "delete", "update"))
SLOT_TRIGGERS = tuple(f"spending_slots_{w}" for w in ("insert", "delete", "update"))


def _copy_without(source: Path, target: Path, triggers: tuple[str, ...]) -> None:
    shutil.copy(source, target)
    con = sqlite3.connect(target)
    for name in triggers:
        con.execute(f"DROP TRIGGER {name}")
    con.commit()
    con.close()


def insert_cost(store: object, tmp: Path, end: datetime, records: int = 1_000, rounds: int = 5) -> None:
    """Per record: one record per transaction as a voucher writes it, and 100k in one transaction; into a
    store with all its triggers, a copy with the ``spending_slots`` triggers only, and a copy without any,
    alternating rounds."""
    from paygo_desktop.store import Store
    from paygo_desktop.store.spending import SpendingEntry, SpendingLog

    with_triggers: Store = store  # type: ignore[assignment]
    _copy_without(with_triggers.path, tmp / "slots-only.sqlite3", SESSION_SPAN_TRIGGERS)
    _copy_without(with_triggers.path, tmp / "no-triggers.sqlite3", SESSION_SPAN_TRIGGERS + SLOT_TRIGGERS)
    targets = {
        "all triggers": with_triggers,
        "spending_slots' only (before)": Store.open(tmp / "slots-only.sqlite3"),
        "none (baseline)": Store.open(tmp / "no-triggers.sqlite3"),
    }
    logs = {label: SpendingLog(target) for label, target in targets.items()}
    entry = SpendingEntry(
        account="0x" + "1" * 40,
        network="sandbox",
        funding="escrow",
        asset_symbol="USDC",
        asset_address="0x5fbdb2315678afecb367f032d93f642f64180aa3",
        decimals=6,
        provider_url="http://127.0.0.1:8600",
        provider_name="Sandbox provider",
        service_id="feed",
        service_name="Market data feed",
        category="finance",
        amount=1_234,
        session_id=1,
    )
    one: dict[str, list[float]] = {label: [] for label in logs}
    bulk: dict[str, list[float]] = {label: [] for label in logs}
    load = Load().start()
    for r in range(rounds):
        for label, log in logs.items():
            started = time.perf_counter()
            for i in range(records):
                at = end + timedelta(seconds=r * records + i)
                log.record(replace(entry, at=at))
            one[label].append((time.perf_counter() - started) / records)
        for label, target in targets.items():
            rows = [
                (
                    (end + timedelta(days=30 + r, seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    1,
                    entry.account,
                    "sandbox",
                    "escrow",
                    "sandbox:USDC:0x5fbdb2315678afecb367f032d93f642f64180aa3",
                    "USDC",
                    6,
                    entry.provider_url,
                    entry.provider_name,
                    entry.service_id,
                    entry.service_name,
                    entry.category,
                    0,
                    1_234 + i,
                )
                for i in range(100_000)
            ]
            con = sqlite3.connect(target.path)
            started = time.perf_counter()
            _insert(con, rows)
            bulk[label].append((time.perf_counter() - started) / len(rows))
            con.close()
    load.stop()
    for target in targets.values():
        if target is not with_triggers:
            target.close()
    print(f"\ninsert cost per spending record, microseconds ({rounds} rounds, median of rounds)")
    print(load.line())
    print("| how | " + " | ".join(logs) + " | session spans add | all triggers add |")
    print("|---|" + "---:|" * (len(logs) + 2))
    for how, times in (
        (f"one per transaction ({records:,} per round)", one),
        ("100,000 in one transaction", bulk),
    ):
        every, slots, none = (statistics.median(times[label]) * 1e6 for label in logs)
        print(
            f"| {how} | {every:.1f} | {slots:.1f} | {none:.1f} | {every - slots:.1f} | {every - none:.1f} |"
        )


def migration_cost(path: Path, tmp: Path, runs: int = 3) -> None:
    """Migration 0016 on the big store taken back to 0015 (its table and triggers dropped): ``Store.open``
    as the app upgrades (the copy kept before it included), and the migration alone (``upgrade_to``)."""
    from paygo_desktop.store import Store

    old = tmp / "at-0015.sqlite3"
    _copy_without(path, old, SESSION_SPAN_TRIGGERS)
    con = sqlite3.connect(old)
    con.execute("DROP TABLE spending_session_spans")
    con.execute("UPDATE alembic_version SET version_num = '0015'")
    con.commit()
    con.execute("VACUUM")
    con.close()
    times: dict[str, list[float]] = {
        "Store.open, 0015 → 0016 (the copy kept before it included)": [],
        "the migration alone": [],
    }
    load = Load().start()
    for r in range(runs):
        target = tmp / f"upgrade-{r}.sqlite3"
        shutil.copy(old, target)
        started = time.perf_counter()
        Store.open(target).close()
        times["Store.open, 0015 → 0016 (the copy kept before it included)"].append(
            time.perf_counter() - started
        )
        for kept in tmp.glob(f"upgrade-{r}.sqlite3*"):
            kept.unlink()
        shutil.copy(old, target)
        store = Store.open(target, upgrade=False)
        started = time.perf_counter()
        store.upgrade_to("head")
        times["the migration alone"].append(time.perf_counter() - started)
        with sqlite3.connect(target) as con:
            spans = con.execute("SELECT COUNT(*) FROM spending_session_spans").fetchone()[0]
        store.close()
        for kept in tmp.glob(f"upgrade-{r}.sqlite3*"):
            kept.unlink()
    load.stop()
    print(f"\nmigration 0016 on {path.name} ({runs} runs, seconds; {spans:,} rows made)")
    print(load.line())
    print("| what | median | best | worst |\n|---|---:|---:|---:|")
    for label, seconds in times.items():
        print(f"| {label} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} |")


if __name__ == "__main__":
    main()
