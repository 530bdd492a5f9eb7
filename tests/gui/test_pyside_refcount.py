"""The guard keeps None alive through far more void PySide6 calls than None had references."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_none_survives_many_void_calls() -> None:
    program = """
import sys
from PySide6.QtCore import QObject
from paygo_desktop.gui.pyside_refcount import guard_none, none_leak_per_call
leak = none_leak_per_call()
guard_none()
probe = QObject()
for _ in range(3 * sys.getrefcount(None) if leak == 0 else 200_000):
    probe.setObjectName("x")
print("alive", leak)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.startswith("alive")
