"""The real entry point in a subprocess: --self-test paints and exits 0 without the heavy libraries;
--screenshot writes a PNG of the right size on a fresh data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_app(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "paygo_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


def test_self_test_paints_and_exits_0_without_heavy_imports(tmp_path: Path) -> None:
    result = run_app("--data-dir", str(tmp_path / "data"), "--self-test")
    assert result.returncode == 0, result.stderr
    assert "self-test: painted; heavy modules loaded: none" in result.stdout, result.stdout + result.stderr
    # and none once every page is built either: web3, eth_account and pyqtgraph wait for a feature
    assert "heavy modules loaded when ready: none" in result.stdout, result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("extra", [(), ("--page", "settings", "--theme", "dark")])
def test_screenshot_writes_a_png_of_the_right_size(tmp_path: Path, extra: Any) -> None:
    from PySide6.QtGui import QImage

    target = tmp_path / "shot.png"
    result = run_app("--data-dir", str(tmp_path / "data"), "--screenshot", str(target), *extra)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1200, 760)


def test_unreadable_database_gives_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "paygo.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_app("--data-dir", str(data), "--self-test")
    assert result.returncode == 2
    assert "cannot be read" in result.stderr
    assert "Traceback" not in result.stderr


LATE_MODULES = ("sqlalchemy", "web3", "eth_account", "pyqtgraph")


def test_self_test_paints_before_loading_the_heavy_modules(tmp_path: Path) -> None:
    """-X importtime and the self-test's lines share one pipe, in order: nothing heavy before the paint."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-X", "importtime", "-m", "paygo_desktop", "--self-test"]
    result = subprocess.run(
        [*argv, "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    lines = result.stdout.splitlines()
    paint = next(i for i, line in enumerate(lines) if line.startswith("self-test: first paint after "))
    assert re.fullmatch(r"self-test: first paint after \d+\.\d+ s.*", lines[paint])
    imported = [line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")]
    before = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines[:paint] if "|" in line}
    assert "PySide6" in before  # the check sees the imports at all
    assert not before & set(LATE_MODULES), sorted(before & set(LATE_MODULES))
    assert any(name.startswith("sqlalchemy") for name in imported)  # and the store did load, after the paint
    ready = [line for line in lines[paint:] if "ready after" in line]
    assert ready and re.search(r"first paint after \d+\.\d+ s; ready after \d+\.\d+ s", ready[0])


def test_broken_store_fails_the_self_test_after_the_paint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "paygo.sqlite3").write_bytes(b"not sqlite" * 100)
    result = run_app("--data-dir", str(data), "--self-test")
    assert result.returncode == 2
    assert "first paint after" in result.stdout  # the window painted, then said what is wrong
    assert "ready after" not in result.stdout
    assert "cannot be read" in result.stderr and "Traceback" not in result.stderr
