"""What the resident memory of a running session is made of: the design card's stack, layer by layer.

Each row is a fresh process that shows and paints a bare PySide6 ``QMainWindow`` (the first row alone: the
baseline), then imports the layers above it in the order the unlocked app loads them, and reports its
resident set (VmRSS, after a collection) and how much of it is the process's own memory rather than mapped
library files. A layer's figure is what it adds on top of the rows before it (a dependency shared by two
layers counts with the first). PySide6's costly source check on every later import is replaced first, as
the app does (``gui/pyside_import_check.py``).

The real app's figure through a session (unlocked, the meter on screen) comes from
``benchmarks/session_stall.py``; this script says which parts of that no code of ours can shed.

    QT_QPA_PLATFORM=offscreen python benchmarks/memory_layers.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine import Load  # noqa: E402

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bare PySide6 window, painted (baseline)", ()),
    ("+ SQLAlchemy (ORM, SQLite)", ("sqlalchemy.orm", "sqlalchemy.dialects.sqlite")),
    ("+ eth-account (keys, EIP-712 signing)", ("paygo_desktop.deferred_bls", "eth_account")),
    ("+ web3 (JSON-RPC, contracts)", ("web3",)),
    ("+ httpx (providers' HTTP)", ("httpx",)),
    (
        "+ the app's session engine, escrow payer and pages",
        (
            "paygo_desktop.sessions.engine",
            "paygo_desktop.sessions.escrow_payer",
            "paygo_desktop.gui.main_window",
            "paygo_desktop.gui.pages.sessions_page",
            "paygo_desktop.gui.sessions.meter_view",
        ),
    ),
    ("+ pyqtgraph and numpy (the charts)", ("pyqtgraph",)),
)

CHILD = """
import gc, importlib, json, os, sys
sys.path.insert(0, {repo!r})
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
from paygo_desktop.gui import pyside_import_check
pyside_import_check.install()
app = QApplication([])
window = QMainWindow()
window.resize(800, 600)
window.show()
QTimer.singleShot(200, app.quit)
app.exec()
for name in {modules!r}:
    importlib.import_module(name)
gc.collect()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
kib = lambda key: int(status[key].split()[0]) if key in status else 0
print(json.dumps({{"rss": kib("VmRSS"), "anon": kib("RssAnon"), "file": kib("RssFile")}}))
"""


def measure(modules: tuple[str, ...]) -> dict[str, int]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO), modules=modules)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    rows = []
    with Load() as load:
        modules: tuple[str, ...] = ()
        for label, layer in LAYERS:
            modules += layer
            rows.append((label, measure(modules)))
    print(load.line())
    print("| layers (cumulative) | resident | added | of which the process's own (not library files) |")
    print("|---|---:|---:|---:|")
    previous: dict[str, int] | None = None
    for label, row in rows:
        added = "—" if previous is None else f"+{(row['rss'] - previous['rss']) / 1024:.0f} MB"
        own = "—" if previous is None else f"+{(row['anon'] - previous['anon']) / 1024:.0f} MB"
        print(f"| {label} | {row['rss'] / 1024:.0f} MB | {added} | {own} |")
        previous = row


if __name__ == "__main__":
    main()
