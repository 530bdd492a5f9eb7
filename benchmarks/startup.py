"""Start-up to first paint and peak memory: `paygo-desktop --self-test` beside a bare PySide6 window.

Both run as fresh processes, alternately, several times. The app paints its frame first and loads its
data after, so the process's exit is not its first paint: each process prints the time from its own start
(/proc/self/stat) to the end of its first paint, measured the same way in both, and its peak RSS up to
then. The app also prints when it is ready (data open, first screen built; it exits then). Peak RSS for
the whole run comes from os.wait4. Prints a Markdown table for docs/performance.md.

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

BARE_WINDOW = """
import os, resource, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 760)

def since_start():  # as paygo_desktop.app.seconds_since_process_start
    stat = open("/proc/self/stat", "rb").read()
    ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")

def painted():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"first paint after {since_start():.3f} s; peak RSS at first paint {rss:.0f} MB", flush=True)
    app.quit()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, painted)
        return False

first_paint = FirstPaint()  # keep a reference: an unowned filter would be collected at once
window.installEventFilter(first_paint)
window.show()
app.exec()
"""


PAINT = re.compile(r"first paint after (\d+\.\d+) s; peak RSS at first paint (\d+) MB")
READY = re.compile(r"ready after (\d+\.\d+) s")


def run(argv: list[str]) -> dict[str, float]:
    """paint and ready (seconds since the process started), their RSS (MB), and the process's wall time."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.PIPE)
        deadline = start + 60
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise SystemExit(f"{argv[:3]} did not finish within 60 s")
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{argv} failed with {proc.returncode}: {err[-500:]}")
    paint = PAINT.search(stdout)
    if paint is None:
        raise SystemExit(f"{argv[:3]} printed no first-paint line: {stdout[-500:]}")
    ready = READY.search(stdout)
    return {
        "paint": float(paint[1]),
        "paint_rss": float(paint[2]),
        "ready": float(ready[1]) if ready else float(paint[1]),
        "peak_rss": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "wall": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="paygo-bench-")
    app = [sys.executable, "-m", "paygo_desktop", "--self-test", "--data-dir", data_dir]
    bare = [sys.executable, "-c", BARE_WINDOW]
    run(app)  # the first run creates the data directory and warms the file cache for both
    run(bare)
    results: dict[str, list[dict[str, float]]] = {"app": [], "bare": []}
    for _ in range(args.runs):
        results["bare"].append(run(bare))
        results["app"].append(run(app))

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"runs: {args.runs} each, alternating, warm file cache, {os.cpu_count()} cores")
    print("| process | first paint, median | best | ready, median | RSS at first paint | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, label in (
        ("bare", "bare PySide6 QMainWindow (baseline)"),
        ("app", "paygo-desktop --self-test"),
    ):
        best = min(r["paint"] for r in results[name])
        paint_rss = max(r["paint_rss"] for r in results[name])
        peak = max(r["peak_rss"] for r in results[name])
        print(
            f"| {label} | {median(name, 'paint'):.2f} s | {best:.2f} s | {median(name, 'ready'):.2f} s "
            f"| {paint_rss:.0f} MB | {peak:.0f} MB |"
        )
    ratio = median("app", "paint") / median("bare", "paint")
    app_rss = max(r["paint_rss"] for r in results["app"])
    print(
        f"\nfirst paint app/baseline: {ratio:.2f}x (goal ≤ 2x); app RSS at first paint {app_rss:.0f} MB "
        f"(goal < 100 MB); app ready after {median('app', 'ready'):.2f} s, "
        f"process wall time {median('app', 'wall'):.2f} s"
    )


if __name__ == "__main__":
    main()
