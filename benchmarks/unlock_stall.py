"""Does unlocking freeze the window? The longest gap between 10 ms GUI-thread timer ticks while the real
lock screen unlocks a wallet with production scrypt (n = 2**18), beside the same measurement while idle.

    QT_QPA_PLATFORM=offscreen python benchmarks/unlock_stall.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PHRASE = "test test test test test test test test test test test junk"
PASSWORD = "benchmark-password"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.lock_screen import LockScreen
    from paygo_desktop.paths import DataDir
    from paygo_desktop.wallet import Wallet

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    data = DataDir(Path(tempfile.mkdtemp(prefix="paygo-unlock-"))).ensure()
    ctx = AppContext.open(data)
    wallet = Wallet(data.wallet_dir, ctx.accounts)  # production scrypt parameters
    wallet.create_from_mnemonic(PHRASE, PASSWORD)
    runner = TaskRunner()
    screen = LockScreen(runner, lambda: wallet)
    screen.show()

    async def largest_gap(action: str) -> tuple[float, float]:
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        done = asyncio.Event()
        screen.unlocked.connect(done.set)
        wallet.lock()
        started = time.perf_counter()
        timer.start()
        if action == "unlock":
            screen.password.setText(PASSWORD)
            screen.submit()
            await asyncio.wait_for(done.wait(), 30)
        else:
            await asyncio.sleep(1.0)
        took = time.perf_counter() - started
        timer.stop()
        screen.unlocked.disconnect(done.set)
        gaps = [b - a for a, b in pairwise(ticks)]
        return (max(gaps) if gaps else took), took

    async def run() -> None:
        idle, unlock, durations = [], [], []
        for _ in range(args.runs):
            idle.append((await largest_gap("idle"))[0])
            gap, took = await largest_gap("unlock")
            unlock.append(gap)
            durations.append(took)
        print(f"runs: {args.runs}, 10 ms timer on the GUI thread, {os.cpu_count()} cores")
        print("| while | largest gap between ticks, median | worst |")
        print("|---|---|---|")
        print(f"| idle (baseline) | {statistics.median(idle) * 1000:.0f} ms | {max(idle) * 1000:.0f} ms |")
        print(
            f"| unlocking (scrypt n=2^18, {statistics.median(durations):.2f} s) | "
            f"{statistics.median(unlock) * 1000:.0f} ms | {max(unlock) * 1000:.0f} ms |"
        )
        app.quit()

    with loop:
        loop.run_until_complete(run())
    ctx.close()


if __name__ == "__main__":
    main()
