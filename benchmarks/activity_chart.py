"""The Activity chart over 1,000,000 spending records: aggregate and render the "All time" range, beside the
same on 10,000 records and an empty chart, in the same run; then the frame time while panning and zooming;
then what the ``spending_slots`` triggers add to writing a spending record.

    QT_QPA_PLATFORM=offscreen python benchmarks/activity_chart.py [--rows 1000000] [--runs 7]

"Aggregate + render" is what the Activity page does before its chart is on screen: ``chart_data`` (the
asset list with each asset's first and last record, and every bucket's sum; SQLite) and
``SpendingChart.set_bars`` plus one full paint of the chart. The bucket sums come from the per-slot totals
the triggers keep (``spending_slots``), with a bucket's partial slots at its edges from the records; the
same aggregate + render with every sum read from the records (the path before the slots,
``series_from_records``) is timed beside it. The breakdown by service, which the page computes afterwards
in its own task, is timed on its own row. For scale, the same bucket sums are also timed the textbook way
(``GROUP BY strftime`` over the rows). Goal (issue 21): aggregate + render of 1M records ≤ 150 ms.

Insert cost: a voucher the provider acks stores one spending record in its own transaction
(``SpendingLog.record``). Timed as the app does it, one record per transaction, into the 10k store with
its triggers and into a copy without them, alternating; and, to see the triggers' own work without the
commit, 100,000 records in one transaction each way. The machine's load over each timed part is printed
with the figures.
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
    """``rows`` records, one every 30 s back from ``end`` (1M rows: about a year), written like the app's."""
    from paygo_desktop.store import Store

    Store.open(path).close()  # the schema, with its indexes
    con = sqlite3.connect(path)
    rnd = random.Random(1)
    batch = []
    for i in range(rows):
        key, symbol, decimals, sid, name, category = KINDS[i % 7 % 4]
        at = end - timedelta(seconds=30 * (rows - i))
        amount = rnd.randrange(1, 5_000) * 10 ** max(0, decimals - 4)
        batch.append(
            (
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
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


def _insert(con: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    con.executemany(
        "INSERT INTO spending (at, account, network, funding, asset_key, asset_symbol, decimals, "
        "provider_url, provider_name, service_id, service_name, category, amount_giga, amount_rem) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
    from paygo_desktop.reports.periods import RangeKind, bucket_label, bucket_tick
    from paygo_desktop.reports.spending_report import ChartQuery, Dimension, SpendingReport, chart_data
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
        breakdown = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report.breakdown(data.asset, data.period, Dimension.service)  # type: ignore[arg-type]
            breakdown.append(time.perf_counter() - started)
        results[f"breakdown by service (after the chart), {label}"] = breakdown
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
    shutil.rmtree(tmp, ignore_errors=True)  # the 1M-record store is ~360 MB


def insert_cost(store: object, tmp: Path, end: datetime, records: int = 1_000, rounds: int = 5) -> None:
    """Per record: one record per transaction as a voucher writes it, and 100k in one transaction; into a
    store with the ``spending_slots`` triggers and into a copy without them, alternating rounds."""
    from paygo_desktop.store import Store
    from paygo_desktop.store.spending import SpendingEntry, SpendingLog

    with_triggers: Store = store  # type: ignore[assignment]
    bare_path = tmp / "no-triggers.sqlite3"
    shutil.copy(with_triggers.path, bare_path)
    con = sqlite3.connect(bare_path)
    for name in ("insert", "delete", "update"):
        con.execute(f"DROP TRIGGER spending_slots_{name}")
    con.commit()
    con.close()
    without = Store.open(bare_path)
    logs = {"with the triggers": SpendingLog(with_triggers), "without (baseline)": SpendingLog(without)}
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
        for label, target in (("with the triggers", with_triggers), ("without (baseline)", without)):
            rows = [
                (
                    (end + timedelta(days=30 + r, seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f"),
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
    without.close()
    print(f"\ninsert cost per spending record, microseconds ({rounds} rounds, median of rounds)")
    print(load.line())
    print("| how | with the triggers | without (baseline) | the triggers add |\n|---|---:|---:|---:|")
    for how, times in (
        (f"one per transaction ({records:,} per round)", one),
        ("100,000 in one transaction", bulk),
    ):
        w, wo = (statistics.median(times[label]) * 1e6 for label in logs)
        print(f"| {how} | {w:.1f} | {wo:.1f} | {w - wo:.1f} |")


if __name__ == "__main__":
    main()
