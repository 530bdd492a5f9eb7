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
    assert "heavy modules loaded when ready: none; sqlalchemy loaded when ready: no" in result.stdout
    ready = re.search(r"ready after \d+\.\d+ s \((\w+) screen painted\)", result.stdout)
    assert ready and ready[1] == "onboarding", result.stdout  # a new data directory: the wizard, painted
    assert re.search(r"self-test: store open after \d+\.\d+ s", result.stdout), (
        result.stdout
    )  # then the store


def _data_dir_with_wallet(root: Path, *, revision: str | None = None) -> Path:
    """A data directory whose store lists a wallet (cheap scrypt: start-up never decrypts it), optionally
    with the database moved back to an older schema ``revision``."""
    from paygo_desktop.context import AppContext
    from paygo_desktop.paths import DataDir
    from paygo_desktop.wallet import KdfParams, Wallet

    ctx = AppContext.open(DataDir(root))
    Wallet(ctx.data_dir.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4)).create_from_mnemonic(
        "test test test test test test test test test test test junk", "correct horse 1"
    )
    if revision is not None:
        from alembic import command

        from paygo_desktop.store.database import alembic_config

        with ctx.store.engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), revision)
    ctx.close()
    return root


def test_with_a_wallet_the_lock_screen_is_ready_before_sqlalchemy_then_the_store_opens(
    tmp_path: Path,
) -> None:
    data = _data_dir_with_wallet(tmp_path / "data")
    result = run_app("--data-dir", str(data), "--self-test")
    assert result.returncode == 0, result.stderr
    ready = re.search(r"ready after \d+\.\d+ s \((\w+) screen painted\)", result.stdout)
    assert ready and ready[1] == "locked", result.stdout
    assert "heavy modules loaded when ready: none; sqlalchemy loaded when ready: no" in result.stdout
    assert re.search(r"self-test: store open after \d+\.\d+ s", result.stdout), result.stdout


def test_an_upgrade_that_fails_behind_the_lock_screen_fails_the_self_test_with_a_clear_message(
    tmp_path: Path,
) -> None:
    """The lock screen comes first (the wallet is listed), then the store's upgrade fails: the window says
    why, the self-test exits 2, no traceback, and the copy taken before the upgrade keeps the wallet."""
    import contextlib
    import sqlite3

    from paygo_desktop.store.revision import SCHEMA_HEAD

    previous = f"{int(SCHEMA_HEAD) - 1:04d}"
    data = _data_dir_with_wallet(tmp_path / "data", revision=previous)
    database = data / "paygo.sqlite3"
    with sqlite3.connect(database) as conn:  # whatever the migration does, its last step is refused
        conn.execute(
            "CREATE TRIGGER refuse_upgrade BEFORE UPDATE ON alembic_version "
            "BEGIN SELECT RAISE(ABORT, 'upgrade refused by a test'); END"
        )
    conn.close()
    result = run_app("--data-dir", str(data), "--self-test")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "(locked screen painted)" in result.stdout  # ready first, then the error
    assert "cannot be read (upgrade refused by a test)" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "store open" not in result.stdout
    # the copy taken before the upgrade holds the wallet as it was (the failed upgrade itself may have left
    # DDL behind: pysqlite commits DDL outside the upgrade's transaction, a store matter outside start-up)
    with contextlib.closing(sqlite3.connect(data / f"paygo.sqlite3.before-{SCHEMA_HEAD}")) as kept:
        assert kept.execute("SELECT version_num FROM alembic_version").fetchall() == [(previous,)]
        assert kept.execute("SELECT count(*) FROM accounts").fetchone() == (1,)


def test_every_page_builds_without_the_heavy_libraries(tmp_path: Path) -> None:
    """Pages are built when first shown; building any of them still loads no web3, eth_account or
    pyqtgraph (they wait for a feature that needs them), nor Alembic on a new database."""
    program = f"""
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from paygo_desktop.context import AppContext
from paygo_desktop.gui.main_pages import PAGE_ORDER
from paygo_desktop.gui.main_window import MainWindow
from paygo_desktop.paths import DataDir
window = MainWindow(AppContext.open(DataDir(Path({str(tmp_path / "data")!r}))), poll_network=False)
print("built before", len(window.pages))
for key in PAGE_ORDER:
    window.pages[key]
print("built after", len(window.pages))
print("heavy", sorted(m for m in ("web3", "eth_account", "pyqtgraph", "alembic") if m in sys.modules))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["built before 0", "built after 9", "heavy []"]
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
# what the first frame does not show is not imported for it: money and networks (no account or network is
# known yet), log rotation (the log is written through a plain handler until the paint)
NOT_FOR_THE_FRAME = {"paygo_desktop.money", "paygo_desktop.networks", "decimal", "logging.handlers"}


@pytest.mark.parametrize("wallet", [False, True], ids=["new data directory", "with a wallet"])
def test_self_test_paints_before_loading_the_heavy_modules(tmp_path: Path, wallet: bool) -> None:
    """-X importtime and the self-test's lines share one pipe, in order: nothing heavy before the paint,
    and not even SQLAlchemy (nor Alembic) before the first screen, lock screen or wizard, is ready."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-X", "importtime", "-m", "paygo_desktop", "--self-test"]
    data = _data_dir_with_wallet(tmp_path / "data") if wallet else tmp_path / "data"
    result = subprocess.run(
        [*argv, "--data-dir", str(data)],
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
    before_by_name = {line.rsplit("|", 1)[-1].strip() for line in lines[:paint] if "|" in line}
    assert not before_by_name & NOT_FOR_THE_FRAME, sorted(before_by_name & NOT_FOR_THE_FRAME)
    assert "logging.handlers" in imported  # the log rotates from the paint on
    assert any(name.startswith("sqlalchemy") for name in imported)  # and the store did load, after the paint
    ready = [i for i, line in enumerate(lines) if i > paint and "ready after" in line]
    assert ready and re.search(r"first paint after \d+\.\d+ s; ready after \d+\.\d+ s", lines[ready[0]])
    until_ready = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines[: ready[0]] if "|" in line}
    assert "sqlalchemy" not in until_ready and "alembic" not in until_ready
    assert f"({'locked' if wallet else 'onboarding'} screen painted)" in lines[ready[0]]


def test_a_full_log_file_is_rotated_once_the_window_has_painted(tmp_path: Path) -> None:
    """The app's first lines go through a plain handler (no log rotation loaded before the paint); from the
    paint on the file rotates as before: a log at its size limit does not grow past it."""
    from paygo_desktop.logs import LOG_FILE_NAME, MAX_BYTES
    from paygo_desktop.paths import DataDir

    data = DataDir(tmp_path / "data")
    data.log_dir.mkdir(parents=True)
    full = data.log_dir / LOG_FILE_NAME
    full.write_text("x" * (MAX_BYTES - 10) + "\n")
    result = run_app("--data-dir", str(data.root), "--self-test")
    assert result.returncode == 0, result.stderr
    rotated = full.with_name(LOG_FILE_NAME + ".1")
    assert rotated.exists() and rotated.stat().st_size >= MAX_BYTES - 10
    assert full.stat().st_size < MAX_BYTES
    assert "creating database" in full.read_text()  # logged after the paint, into the fresh file


def test_broken_store_fails_the_self_test_after_the_paint(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "paygo.sqlite3").write_bytes(b"not sqlite" * 100)
    result = run_app("--data-dir", str(data), "--self-test")
    assert result.returncode == 2
    assert "first paint after" in result.stdout  # the window painted, then said what is wrong
    assert "ready after" not in result.stdout
    assert "cannot be read" in result.stderr and "Traceback" not in result.stderr


def test_pyside_source_check_answers_as_before_without_filling_linecache() -> None:
    """PySide6 asks of every imported module whether its source mentions PySide6; the app's cheaper
    check gives the same answers and keeps no source in memory."""
    program = """
import inspect, linecache, sys
from paygo_desktop.gui import pyside_import_check
assert pyside_import_check.install()
feature = sys.modules["shibokensupport.feature"]
import json, paygo_desktop.gui.theme, paygo_desktop.money
for module in (json, paygo_desktop.gui.theme, paygo_desktop.money, sys, inspect):
    try:
        expected = "PySide6" in inspect.getsource(module)
    except (OSError, TypeError):
        expected = False
    assert feature._mod_uses_pyside(module) is expected, module
linecache.clearcache()
import email.mime.text, sqlite3
print(len(linecache.cache))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0"


BLOCK_NUMPY = """
import sys


class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" or name.startswith("numpy."):
            raise ImportError("numpy cannot load here (a test stands in for a broken install)")
        return None


sys.meta_path.insert(0, Block())
"""


def test_a_chart_library_that_cannot_load_leaves_the_page_working(tmp_path: Path) -> None:
    """The frozen bundle once shipped a numpy whose native library would not load: the Activity page's
    chart raised on show and --screenshot waited for ever. The page now says the chart is unavailable
    and the process ends."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_NUMPY)
    target = tmp_path / "activity.png"
    shot = ["--screenshot", str(target), "--page", "activity"]
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "paygo_desktop", "--data-dir", str(tmp_path / "data"), *shot],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert target.stat().st_size > 0
    log = (tmp_path / "data" / "logs" / "paygo-desktop.log").read_text()
    assert "the chart's libraries did not load" in log
    assert "unhandled error" not in log


def test_a_chart_that_cannot_be_built_is_replaced_by_a_note(qtbot: Any) -> None:
    """The helper both chart pages (Activity, Vendor) load their charts through."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from paygo_desktop.gui.widgets.chart_loader import load_chart

    holder_widget = QWidget()
    qtbot.addWidget(holder_widget)
    holder = QVBoxLayout(holder_widget)

    def build() -> QWidget:
        raise ImportError("libscipy_openblas64_.so: ELF load command address/offset not page-aligned")

    assert load_chart(build, holder) is None
    (note,) = holder_widget.findChildren(QLabel)
    assert note.accessibleName() == "Chart unavailable" and "ImportError" in note.text()
    assert load_chart(QWidget, holder) is not None  # a chart that builds is returned as it is
