"""The live meter card's side of a running session: how evenly it repaints and what it costs in CPU.

Real ``MeterView`` cards (gui/sessions/meter_view.py), each reading a real ``Meter`` on the monotonic clock,
in a window with the app's theme (its style sheet) and its idle watcher filtering every event, as in the
app; offscreen platform. For ``--seconds`` per row it measures this process's CPU time as a share of one
core and the largest gap between two reads of a card's meter (goal < 100 ms), for:
- no card (baseline: the same window, theme and event filter, idle);
- 1 card on screen; 10 cards on screen (a 2 × 5 grid in a window large enough to show them all — the row
  says how many were really visible and read);
- 1 card on another page (a stacked widget showing its other page), 1 card scrolled out of view, 1 card in
  a minimised window: its timer stops, so these should cost what the baseline costs.
Two more rows say what any number repainted at the card's rate costs before a card's own work: the same
window with a bare timer at that rate (``timer``), and with that timer repainting an empty opaque widget the
size of the cost label (``repaint``: Qt's repaint and flush alone, timer to ``QWidget.update`` in C++, no
Python and nothing drawn). The rows alternate ``--rounds`` times; the table gives each row's median.
The engine's own CPU per session (vouchers, HTTP, store) is measured by benchmarks/sessions_engine.py, and
what one running session costs the whole app by benchmarks/session_stall.py.

    QT_QPA_PLATFORM=offscreen python benchmarks/meter_repaint.py [--seconds 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import Load

ROWS = (
    ("none", "no card (baseline)"),
    ("timer", "no card, a timer at the card's rate (floor)"),
    ("repaint", "no card, that timer repainting an empty widget (floor)"),
    ("one", "1 card on screen"),
    ("ten", "10 cards on screen"),
    ("other_page", "1 card on another page"),
    ("scrolled", "1 card scrolled out of view"),
    ("minimised", "1 card, window minimised"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import (
        QApplication,
        QGridLayout,
        QLabel,
        QScrollArea,
        QStackedWidget,
        QVBoxLayout,
        QWidget,
    )

    from paygo_desktop.gui.idle import IdleWatcher
    from paygo_desktop.gui.sessions.meter_view import REPAINT_MS, MeterView
    from paygo_desktop.gui.theme import ThemeManager
    from paygo_desktop.metering.meter import Meter, Price
    from paygo_desktop.money import Asset
    from paygo_desktop.sessions.live import LiveSession
    from paygo_desktop.sessions.status import SessionStatus
    from paygo_desktop.sessions.terms import Funding, SessionTerms

    app = QApplication(sys.argv[:1])  # kept alive for the whole run
    ThemeManager(app, "light")
    idle = IdleWatcher(lambda: 3600.0)
    idle.start()
    usdc = Asset("USDC", 6, "0x" + "5" * 40)
    price = Price(1000, "per_second")
    terms = SessionTerms(
        account="0x" + "1" * 40, network="sandbox", provider_url="http://127.0.0.1:1",
        provider_name="PayGo Sandbox Provider", provider_address=None, service_id="market-data",
        service_name="Market Data Feed", category="data", service_type="data", asset=usdc, price=price,
        tick_seconds=5, grace_seconds=5, cap=10**9, funding=Funding.ESCROW,
    )  # fmt: skip

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def run(kind: str) -> tuple[float | None, float, int, int]:
        """(largest gap in ms, CPU % of one core, cards read during the window, cards)"""
        count = {"none": 0, "timer": 0, "repaint": 0, "ten": 10}.get(kind, 1)
        stack = QStackedWidget()
        area = QScrollArea()
        area.setWidgetResizable(True)
        body = QWidget()
        grid = QGridLayout(body)
        column = QVBoxLayout()
        grid.addLayout(column, 0, 0)
        views = []
        stamps: list[list[float]] = []
        for i in range(count):
            meter = Meter(price, budget=10**9, tick_seconds=5)
            live = LiveSession(f"s-{i}", terms, meter, status=SessionStatus.RUNNING)
            view = MeterView(live)
            times: list[float] = []
            view.timer.timeout.connect(lambda times=times: times.append(time.perf_counter()))
            stamps.append(times)
            grid.addWidget(view, i // 2, i % 2)
            views.append(view)
        floor_timer = QTimer()
        floor_timer.setInterval(REPAINT_MS)
        if kind == "repaint":
            blank = QWidget()  # draws nothing; opaque: Qt paints nothing under it either
            blank.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
            blank.setFixedSize(876, 40)  # about the cost label's size on a card
            grid.addWidget(blank, 0, 0)
            floor_timer.timeout.connect(blank.update)
        if kind in ("timer", "repaint"):
            floor_timer.start()
        if kind == "scrolled":
            filler = QLabel("older sessions")
            filler.setMinimumHeight(4000)
            grid.addWidget(filler, 10, 0, 1, 2)
        area.setWidget(body)
        stack.addWidget(area)
        stack.addWidget(QLabel("another page"))
        stack.resize(1500, 1400 if kind == "ten" else 700)
        stack.show()
        wait(400)  # first layout and paint
        if kind == "other_page":
            stack.setCurrentIndex(1)
        elif kind == "scrolled":
            area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
        elif kind == "minimised":
            stack.showMinimized()
        wait(300)
        on_screen = sum(1 for v in views if not v.visibleRegion().isEmpty() and v.isVisible())
        for times in stamps:
            times.clear()
        cpu_start = time.process_time()
        wall_start = time.perf_counter()
        wait(int(args.seconds * 1000))
        wall = time.perf_counter() - wall_start
        cpu = time.process_time() - cpu_start
        floor_timer.stop()
        read = sum(1 for times in stamps if times)
        gaps = [b - a for times in stamps for a, b in pairwise(times)]
        stack.close()
        stack.deleteLater()
        wait(50)
        if kind == "ten" and on_screen != count:
            raise SystemExit(f"only {on_screen} of {count} cards were on screen: enlarge the window")
        return (max(gaps) * 1000 if gaps else None), cpu / wall * 100, read, count

    results: dict[str, list[tuple[float | None, float, int, int]]] = {kind: [] for kind, _ in ROWS}
    with Load() as load:
        for _ in range(args.rounds):
            for kind, _label in ROWS:
                results[kind].append(run(kind))
    print(
        f"{args.seconds:.0f} s per row, {args.rounds} rounds alternating, {app.platformName()} platform, "
        "the app's theme and idle watcher"
    )
    print(load.line())
    print("| cards | cards read | largest gap between reads | CPU, % of one core (median) |")
    print("|---|---|---|---|")
    for kind, label in ROWS:
        rows = results[kind]
        gaps = [g for g, *_ in rows if g is not None]
        cpu = statistics.median(c for _, c, _, _ in rows)
        read = max(r for _, _, r, _ in rows)
        count = rows[0][3]
        gap = f"{max(gaps):.0f} ms" if gaps else "—"
        print(f"| {label} | {read} of {count} | {gap} | {cpu:.2f}% |")


if __name__ == "__main__":
    main()
