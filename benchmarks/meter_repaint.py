"""The live meter's side of a running session: how evenly it repaints and what it costs in CPU.

Real ``MeterView`` cards on the Sessions page's layout, each reading a real ``Meter`` on the monotonic
clock, shown on screen (offscreen platform) for ``--seconds``. Reported: the largest gap between two
repaints of a card (goal < 100 ms) and the process's CPU time as a share of one core, with 1 and with 10
cards, beside the same window with no card (the baseline). The engine's own CPU per session (vouchers,
HTTP, store) is measured separately by benchmarks/sessions_engine.py; the app's total is the sum.

    QT_QPA_PLATFORM=offscreen python benchmarks/meter_repaint.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@dataclass
class Card:
    """What a running session shows its card (see sessions.live.LiveSession)."""

    meter: Any
    price: Any
    budget: int
    asset: Any
    local_id: str
    service_name: str = "Market Data Feed"
    provider_name: str = "PayGo Sandbox Provider"
    tick_seconds: int = 5
    grace_seconds: int = 5
    status: str = "running"
    signed: int = 0
    acked: int = 0
    claimed: int = 0
    access: Any = None
    stop_reason: str | None = None
    is_active: bool = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QScrollArea, QVBoxLayout, QWidget

    from paygo_desktop.gui.sessions.meter_view import MeterView
    from paygo_desktop.metering.meter import Meter, Price
    from paygo_desktop.money import Asset

    app = QApplication(sys.argv[:1])  # kept alive for the whole run
    usdc = Asset("USDC", 6, "0x" + "5" * 40)
    price = Price(1000, "per_second")

    def run(cards: int) -> tuple[float, float]:
        window = QScrollArea()
        body = QWidget()
        box = QVBoxLayout(body)
        window.setWidget(body)
        window.setWidgetResizable(True)
        window.resize(1000, 700)
        stamps: list[list[float]] = []
        views = []
        for i in range(cards):
            meter = Meter(price, budget=10**9, tick_seconds=5)
            view = MeterView(Card(meter, price, 10**9, usdc, f"s-{i}"))
            times: list[float] = []
            view.timer.timeout.connect(lambda times=times: times.append(time.perf_counter()))
            stamps.append(times)
            box.addWidget(view)
            views.append(view)
        window.show()
        wait = QEventLoop()
        QTimer.singleShot(500, wait.quit)  # settle: first layout and paint
        wait.exec()
        for times in stamps:
            times.clear()
        cpu_start = time.process_time()
        clock = QElapsedTimer()
        clock.start()
        QTimer.singleShot(int(args.seconds * 1000), wait.quit)
        wait.exec()
        wall = clock.elapsed() / 1000
        cpu = time.process_time() - cpu_start
        gaps = [b - a for times in stamps for a, b in pairwise(times)]
        window.close()
        window.deleteLater()
        return (max(gaps) * 1000 if gaps else 0.0), cpu / wall * 100

    rows = [(n, *run(n)) for n in (0, 1, 10)]
    print(f"{args.seconds:.0f} s each, {app.platformName()} platform, {os.cpu_count()} cores")
    print("| cards on screen | largest gap between repaints | CPU, % of one core |")
    print("|---|---|---|")
    for n, gap, cpu in rows:
        label = "none (baseline)" if n == 0 else str(n)
        print(f"| {label} | {'—' if n == 0 else f'{gap:.0f} ms'} | {cpu:.1f}% |")


if __name__ == "__main__":
    main()
