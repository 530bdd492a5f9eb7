"""Start-up: first paint, "ready" and peak memory of `paygo-desktop --self-test`, beside a bare PySide6 window
(and Electrum, when given), each a fresh process, alternating, in the same run.

What is measured, per process, from its own start (/proc/self/stat), the same way for all of them:
- first paint: the end of the main window's first paint (the frame: sidebar, status bar, "Loading…");
- ready: the first screen a person can use (the onboarding wizard on a new data directory, the lock screen
  on one with a wallet) has been built *and painted*; the self-test prints it, with the peak resident
  memory until then ("peak RSS at ready");
- store open: the app opens its store (SQLAlchemy, SQLite, any migration) behind that first screen once
  it has painted; the self-test prints when it is open and exits then (an older checkout exits at ready);
- peak RSS through start-up: the whole process's peak resident memory (os.wait4), until that exit.
Three app cases: a new data directory every run (wizard; the database is created), an existing data
directory with a wallet (lock screen), and the bare PySide6 ``QMainWindow`` (baseline) that exits on its
first paint. With ``--electrum PYTHON:SOURCE_DIR`` it also runs Electrum from a source checkout on a new
data directory each run, ``--offline``, until its first window (the first-run wizard) has painted.

Warm means the files are in the page cache and bytecode is cached, as for an installed app: every process
gets PYTHONPYCACHEPREFIX (a throw-away directory) in place of PYTHONDONTWRITEBYTECODE, so nothing is
written into the source trees. The machine's load is printed with the figures.

With ``--before DIR`` it also runs the app from another checkout (say, the commit before a change) on
the same two data directories, for a before/after in the same run; an older checkout may print "ready"
before its screen has painted.

    python benchmarks/startup.py [--runs 7] [--electrum /path/venv/bin/python:/path/electrum] [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import Load

SINCE_START = """
def since_start():  # as paygo_desktop.app.seconds_since_process_start
    stat = open("/proc/self/stat", "rb").read()
    ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
"""

BARE_WINDOW = (
    """
import os, resource, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1200, 760)
"""
    + SINCE_START
    + """
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
)

# Runs Electrum's own entry point (run_electrum) in-process and reports, the same way, when its first
# top-level window has painted; then exits at once. Nothing of Electrum is changed or kept.
ELECTRUM = (
    """
import os, resource, runpy, sys, time
"""
    + SINCE_START
    + """
from PyQt6 import QtWidgets
from PyQt6.QtCore import QEvent, QObject, QTimer

class FirstWindowPaint(QObject):
    seen = False
    def eventFilter(self, obj, event):
        window = isinstance(obj, QtWidgets.QWidget) and obj.isWindow()
        if not self.seen and event.type() == QEvent.Type.Paint and window:
            self.seen = True
            name = type(obj).__name__
            def report():
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                at = since_start()
                print(f"first paint after {at:.3f} s; peak RSS at first paint {rss:.0f} MB", flush=True)
                print(f"ready after {at:.3f} s ({name} painted)", flush=True)
                os._exit(0)
            QTimer.singleShot(0, report)
        return False

class App(QtWidgets.QApplication):  # Electrum subclasses QApplication: hand it this one
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._first_paint = FirstWindowPaint()
        self.installEventFilter(self._first_paint)

QtWidgets.QApplication = App
source = sys.argv.pop(1)
sys.path.insert(0, source)
sys.argv = ["run_electrum", *sys.argv[1:]]
runpy.run_path(os.path.join(source, "run_electrum"), run_name="__main__")
"""
)

PAINT = re.compile(r"first paint after (\d+\.\d+) s; peak RSS at first paint (\d+) MB")
READY = re.compile(r"ready after (\d+\.\d+) s")
READY_RSS = re.compile(r"peak RSS when ready (\d+) MB")
STORE_OPEN = re.compile(r"store open after (\d+\.\d+) s")
PASSWORD = "benchmark-password"
PHRASE = "test test test test test test test test test test test junk"


def child_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": pycache}


def run(argv: list[str], env: dict[str, str], cwd: str | None = None) -> dict[str, float]:
    """paint, ready and store open (seconds since the process started), RSS at paint, at ready and the
    process's peak (MB), wall time."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
        deadline = start + 90
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise SystemExit(f"{argv[:4]} did not finish within 90 s")
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{argv[:4]} failed with {code}: {err[-800:]}")
    paint = PAINT.search(stdout)
    ready = READY.search(stdout)
    ready_rss = READY_RSS.search(stdout)
    store_open = STORE_OPEN.search(stdout)
    if paint is None or (ready is None and "-c" not in argv[:2]):
        raise SystemExit(f"{argv[:4]} printed no paint or ready line: {stdout[-500:]}")
    return {
        "paint": float(paint[1]),
        "paint_rss": float(paint[2]),
        "ready": float(ready[1]) if ready else float(paint[1]),
        "ready_rss": float(ready_rss[1]) if ready_rss else float(paint[2]),
        "store_open": float(store_open[1]) if store_open else float("nan"),
        "peak_rss": usage.ru_maxrss / 1024,  # KiB on Linux
        "wall": elapsed,
    }


def wallet_data_dir(env: dict[str, str]) -> str:
    """A data directory with a wallet (one account), so the app starts on its lock screen."""
    data_dir = tempfile.mkdtemp(prefix="paygo-bench-wallet-")
    program = (
        "import sys; from pathlib import Path; from paygo_desktop.context import AppContext; "
        "from paygo_desktop.paths import DataDir; "
        "ctx = AppContext.open(DataDir(Path(sys.argv[1]))); "
        "ctx.wallet.create_from_mnemonic(sys.argv[2], sys.argv[3]); ctx.close()"
    )
    subprocess.run([sys.executable, "-c", program, data_dir, PHRASE, PASSWORD], env=env, check=True)
    return data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--electrum", metavar="PYTHON:SOURCE_DIR", help="also run Electrum from source")
    parser.add_argument("--before", metavar="DIR", help="also run the app from this checkout")
    args = parser.parse_args()
    pycache = tempfile.mkdtemp(prefix="paygo-bench-pycache-")
    env = child_env(pycache)
    new_dirs = Path(tempfile.mkdtemp(prefix="paygo-bench-new-"))
    wallet_dir = wallet_data_dir(env)
    app = [sys.executable, "-m", "paygo_desktop", "--self-test", "--data-dir"]
    cases: dict[str, object] = {
        "bare": [sys.executable, "-c", BARE_WINDOW],
        "new": lambda i: [*app, str(new_dirs / f"run-{i}")],
        "wallet": [*app, wallet_dir],
    }
    labels = {
        "bare": "bare PySide6 QMainWindow (baseline)",
        "new": "paygo-desktop, new data directory (wizard)",
        "wallet": "paygo-desktop, data directory with a wallet (lock screen)",
    }
    if args.electrum:
        python, _, source = args.electrum.partition(":")
        cases["electrum"] = lambda i: [
            *(python, "-c", ELECTRUM, source, "--offline", "-D", str(new_dirs / f"electrum-{i}"))
        ]
        labels["electrum"] = "Electrum from source, new data directory (first-run wizard)"

    envs = {name: env for name in cases}
    cwds: dict[str, str | None] = {name: None for name in cases}
    if args.before:  # "-m paygo_desktop" imports from the working directory first: run it in that checkout
        before = str(Path(args.before).resolve())
        before_env = {**env, "PYTHONPATH": before}
        cases["new_before"] = lambda i: [*app, str(new_dirs / f"before-{i}")]
        cases["wallet_before"] = [*app, wallet_dir]
        envs["new_before"] = envs["wallet_before"] = before_env
        cwds["new_before"] = cwds["wallet_before"] = before
        labels["new_before"] = f"{labels['new']}, before (--before)"
        labels["wallet_before"] = f"{labels['wallet']}, before (--before)"

    def argv(name: str, i: int) -> list[str]:
        case = cases[name]
        return case(i) if callable(case) else case  # type: ignore[return-value]

    for name in cases:  # warm the file and bytecode caches for every case
        run(argv(name, -1), envs[name], cwds[name])
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    with Load() as load:
        for i in range(args.runs):
            for name in cases:
                results[name].append(run(argv(name, i), envs[name], cwds[name]))
    shutil.rmtree(new_dirs, ignore_errors=True)
    shutil.rmtree(wallet_dir, ignore_errors=True)
    shutil.rmtree(pycache, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(f"runs: {args.runs} each, alternating, warm file and bytecode cache")
    print(load.line())
    print(
        "| process | first paint, median | best | ready, median | best | store open, median "
        "| RSS at first paint | peak RSS at ready | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in cases:
        rows = results[name]
        best_paint = min(r["paint"] for r in rows)
        best_ready = min(r["ready"] for r in rows)
        paint_rss = max(r["paint_rss"] for r in rows)
        ready_rss = max(r["ready_rss"] for r in rows)
        peak = max(r["peak_rss"] for r in rows)
        ready = "—" if name == "bare" else f"{median(name, 'ready'):.2f} s"
        ready_best = "—" if name == "bare" else f"{best_ready:.2f} s"
        opened = [r["store_open"] for r in rows if r["store_open"] == r["store_open"]]  # not NaN
        store_open = f"{statistics.median(opened):.2f} s" if opened else "—"
        print(
            f"| {labels[name]} | {median(name, 'paint'):.2f} s | {best_paint:.2f} s | {ready} | {ready_best} "
            f"| {store_open} | {paint_rss:.0f} MB | {ready_rss:.0f} MB | {peak:.0f} MB |"
        )
    bare = median("bare", "paint")
    print()
    for name in cases:
        if name != "bare":
            peak = max(r["peak_rss"] for r in results[name])
            ready_rss = max(r["ready_rss"] for r in results[name])
            print(
                f"{labels[name]}: first paint {median(name, 'paint') / bare:.2f}× the baseline's; "
                f"ready {median(name, 'ready'):.2f} s; "
                f"peak RSS {ready_rss:.0f} MB at ready, {peak:.0f} MB in all"
            )
    print("goals (issue 21): first paint ≤ 1.5× the baseline; ready ≤ 0.5 s warm; peak RSS ≤ 100 MB")


if __name__ == "__main__":
    main()
