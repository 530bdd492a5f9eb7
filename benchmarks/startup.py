"""Start-up to first paint and peak memory: `paygo-desktop --self-test` beside a bare PySide6 window.

Both run as fresh processes, alternately, several times; each exits right after its first paint, so the
wall time of the process is start-to-first-paint plus a short teardown, the same for both. Peak RSS comes
from os.wait4 for that very process. Prints a Markdown table for docs/performance.md.

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE_WINDOW = """
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 760)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, app.quit)
        return False

window.installEventFilter(FirstPaint())
window.show()
app.exec()
"""


def run(argv: list[str]) -> tuple[float, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{argv} failed with {proc.returncode}: {err[-500:]}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="paygo-bench-")
    app = [sys.executable, "-m", "paygo_desktop", "--self-test", "--data-dir", data_dir]
    bare = [sys.executable, "-c", BARE_WINDOW]
    run(app)  # the first run creates the data directory and warms the file cache for both
    run(bare)
    results: dict[str, list[tuple[float, float]]] = {"app": [], "bare": []}
    for _ in range(args.runs):
        results["bare"].append(run(bare))
        results["app"].append(run(app))
    rows = []
    for name, label in (
        ("bare", "bare PySide6 QMainWindow (baseline)"),
        ("app", "paygo-desktop --self-test"),
    ):
        times = [t for t, _ in results[name]]
        rss = [m for _, m in results[name]]
        rows.append((label, statistics.median(times), min(times), max(rss)))
    ratio = rows[1][1] / rows[0][1]
    print(f"runs: {args.runs} each, alternating, warm file cache, {os.cpu_count()} cores")
    print("| process | first paint, median | best | peak RSS |")
    print("|---|---|---|---|")
    for label, median, best, rss in rows:
        print(f"| {label} | {median:.2f} s | {best:.2f} s | {rss:.0f} MB |")
    print(f"\nratio app/baseline: {ratio:.2f}x (goal ≤ 2x); app peak RSS {rows[1][3]:.0f} MB (goal < 100 MB)")


if __name__ == "__main__":
    main()
