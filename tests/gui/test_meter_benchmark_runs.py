"""benchmarks/meter_repaint.py still runs against the real meter card: it once failed for weeks after the
session core changed the card's input, and a benchmark that cannot run measures nothing. A short run, its
table read back (the figures themselves belong to docs/performance.md, not to a test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_meter_benchmark_runs_and_reads_every_card_on_screen() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "meter_repaint.py"), "--seconds", "0.3", "--rounds", "1"],
        capture_output=True, text=True, timeout=180, env=env, check=True,
    ).stdout  # fmt: skip
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip() for line in out.splitlines() if "|" in line
    }
    assert rows["1 card on screen"] == "1 of 1"
    assert rows["10 cards on screen"] == "10 of 10"
    assert rows["1 card on another page"] == "0 of 1"  # its timer stopped: nothing read while hidden
