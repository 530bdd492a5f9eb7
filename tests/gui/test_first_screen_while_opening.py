"""The first screen shown before the store has opened: ``app._Startup`` shows the lock screen (a wallet
is listed: ``store.wallet_probe``) or the first-run wizard at once, and opens the store behind it.

The store here really is slow: the database is one revision old, so opening it runs a real Alembic upgrade,
and another process holds SQLite's write lock meanwhile, so the upgrade waits (SQLite's busy timeout) until
that process lets go. The password is typed and Enter pressed (or the wizard finished) while it waits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer

from paygo_desktop.context import AppContext
from paygo_desktop.paths import DataDir
from paygo_desktop.store.database import alembic_config
from paygo_desktop.store.revision import SCHEMA_HEAD
from paygo_desktop.store.wallet_probe import wallet_listed
from tests.gui.conftest import PASSWORD, TEST_MNEMONIC, cheap_wallet

PREVIOUS = f"{int(SCHEMA_HEAD) - 1:04d}"

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock: readers go on (WAL), writers wait
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


def _one_revision_old(root: Path, *, wallet: bool = True) -> DataDir:
    from alembic import command

    data_dir = DataDir(root)
    ctx = AppContext.open(data_dir)
    if wallet:
        cheap_wallet(ctx).create_from_mnemonic(TEST_MNEMONIC, PASSWORD, "Main")
    with ctx.store.engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), PREVIOUS)
    ctx.close()
    assert wallet_listed(data_dir.database_file) is wallet  # so start-up shows this screen first
    return data_dir


def _hold_write_lock(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(10)


@contextlib.contextmanager
def _first_screen_over_a_waiting_upgrade(
    qtbot: Any, root: Path, *, wallet: bool = True
) -> Iterator[tuple[Any, DataDir, subprocess.Popen[str]]]:
    """A window showing its first screen (the lock screen, or the wizard with no wallet) over a store one
    revision old, whose upgrade will wait for the write lock another process holds (``_release`` lets go;
    it is let go at the end in any case)."""
    from paygo_desktop.gui.main_window import MainWindow

    data_dir = _one_revision_old(root, wallet=wallet)
    holder = _hold_write_lock(data_dir.database_file)
    try:
        window = MainWindow(poll_network=False)
        qtbot.addWidget(window)
        window.show()
        window.show_first_screen_while_opening(wallet)
        yield window, data_dir, holder
    finally:
        _release(holder)


def _open_behind(window: Any, data_dir: DataDir) -> asyncio.Future[Any]:
    """What start-up does once the lock screen has painted: the real open in a worker thread, then
    attach (or the error in the window). The test's wallet has cheap scrypt; nothing else differs."""

    def open_store() -> AppContext:
        ctx = AppContext.open(data_dir)
        ctx.__dict__["wallet"] = cheap_wallet(ctx)
        return ctx

    async def open_and_attach() -> AppContext | None:
        from paygo_desktop.errors import UserFacingError

        try:
            ctx = await asyncio.to_thread(open_store)
        except UserFacingError as exc:
            window.show_load_error(str(exc))
            return None
        window.attach(ctx)
        return ctx

    return asyncio.ensure_future(open_and_attach())


@contextlib.contextmanager
def _window_goes_on(qtbot: Any) -> Iterator[None]:
    """Wait 1.2 s while the store is held, a 10 ms timer ticking on the GUI thread; then the block's own
    checks; on leaving, the window went on: many ticks, none more than 250 ms after the one before."""
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.wait(1_200)
    try:
        yield
    finally:
        timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 0.25, max(gaps, default=None)


def _busy_texts(screen: Any) -> list[str]:
    """Every caption the lock screen's busy indicator shows from now on (its label's setText, spied)."""
    texts: list[str] = []
    label = screen.busy.label
    set_text = label.setText

    def spy(text: str) -> None:
        texts.append(text)
        set_text(text)

    label.setText = spy
    return texts


def test_enter_before_the_store_has_opened_unlocks_once_it_has(
    qtbot: Any, tmp_path: Path, event_loop_qt: Any
) -> None:
    """It says "Opening your wallet…" while it waits for the store, then "Checking the password…"."""
    from paygo_desktop.gui.lock_screen import CHECKING_TEXT, OPENING_TEXT

    with _first_screen_over_a_waiting_upgrade(qtbot, tmp_path / "data") as (window, data_dir, holder):
        assert window.mode == "locked" and window.root.currentWidget() is window.lock_screen
        opening = _open_behind(window, data_dir)
        screen = window.lock_screen
        texts = _busy_texts(screen)
        qtbot.keyClicks(screen.password, PASSWORD)
        qtbot.keyClick(screen.password, Qt.Key.Key_Return)
        assert screen.busy.isVisible() and not screen.password.isEnabled()
        assert screen.busy.label.text() == OPENING_TEXT
        with _window_goes_on(qtbot):  # the upgrade waits for the lock; the window goes on
            assert not opening.done() and not window.is_loaded
            assert window.mode == "locked" and screen.busy.isVisible()
            assert screen.busy.label.text() == OPENING_TEXT and texts == [OPENING_TEXT]
        _release(holder)
        qtbot.waitUntil(lambda: window.mode == "app", timeout=20_000)
        ctx = opening.result()
        assert window.is_loaded and not ctx.wallet.is_locked
        assert ctx.store.revision() == SCHEMA_HEAD
        assert [a.label for a in ctx.accounts.list()] == ["Main"]
        assert screen.password.text() == ""
        assert texts == [OPENING_TEXT, CHECKING_TEXT]
        backup = data_dir.database_file.with_name(f"{data_dir.database_file.name}.before-{SCHEMA_HEAD}")
        assert backup.exists()  # the upgrade kept a copy first, as always
        window.lock()  # with the store open, an unlock only checks the password
        qtbot.waitUntil(lambda: window.mode == "locked", timeout=5_000)
        texts.clear()
        qtbot.keyClicks(screen.password, PASSWORD)
        qtbot.keyClick(screen.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.mode == "app", timeout=20_000)
        assert texts == [CHECKING_TEXT]
        window.close()
        ctx.close()


def test_a_store_that_fails_to_open_behind_the_lock_screen_says_so_and_changes_nothing(
    qtbot: Any, tmp_path: Path, event_loop_qt: Any
) -> None:
    """The write lock is held past SQLite's busy timeout (5 s): the upgrade gives up. The password typed
    meanwhile goes nowhere; the window shows the store's error where the lock screen was."""
    with _first_screen_over_a_waiting_upgrade(qtbot, tmp_path / "data") as (window, data_dir, holder):
        before = data_dir.database_file.read_bytes()
        opening = _open_behind(window, data_dir)
        screen = window.lock_screen
        qtbot.keyClicks(screen.password, PASSWORD)
        qtbot.keyClick(screen.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.mode == "error", timeout=30_000)
        assert opening.result() is None and not window.is_loaded
        assert window.root.currentWidget() is window.shell
        shown = window.placeholder.text()
        assert window.placeholder.isVisible() and "cannot be read" in shown and "locked" in shown
        assert "Traceback" not in shown
        qtbot.waitUntil(lambda: screen.message.text() == shown, timeout=5_000)  # the unlock ended with it
        assert screen.password.isEnabled() and screen.password.text() == ""
        _release(holder)
        assert data_dir.database_file.read_bytes() == before  # the failed upgrade changed nothing
        assert wallet_listed(data_dir.database_file) is True
        window.close()


def test_finishing_the_wizard_before_the_store_has_opened_creates_the_wallet_once_it_has(
    qtbot: Any, tmp_path: Path, event_loop_qt: Any
) -> None:
    from paygo_desktop.onboarding import Choice, Step
    from tests.gui.helpers import click

    with _first_screen_over_a_waiting_upgrade(qtbot, tmp_path / "data", wallet=False) as (
        window,
        data_dir,
        holder,
    ):
        assert window.mode == "onboarding" and window.root.currentWidget() is window.onboarding
        opening = _open_behind(window, data_dir)
        view = window.onboarding
        click(qtbot, view.welcome.buttons[Choice.IMPORT_MNEMONIC])
        view.enter_mnemonic.phrase.setPlainText(TEST_MNEMONIC)
        click(qtbot, view.next_button)
        view.password.password.setText(PASSWORD)
        view.password.confirm.setText(PASSWORD)
        click(qtbot, view.next_button)
        assert view.machine.step is Step.NETWORK, view.error.text()
        click(qtbot, view.next_button)  # Finish: the store is still opening
        with _window_goes_on(qtbot):
            assert not opening.done() and not window.is_loaded and window.mode == "onboarding"
            assert view.busy.isVisible()
            assert not (data_dir.wallet_dir / "mnemonic.enc").exists()  # nothing is written before the store
        _release(holder)
        qtbot.waitUntil(lambda: window.mode == "app", timeout=20_000)
        ctx = opening.result()
        assert ctx.store.revision() == SCHEMA_HEAD
        assert [a.label for a in ctx.accounts.list()] == ["Account 1"]
        assert not ctx.wallet.is_locked
        assert any("Restored a wallet" in item.message for item in ctx.activity.recent())
        window.close()
        ctx.close()


def test_a_remembered_password_unlocks_once_the_store_behind_the_lock_screen_has_opened(
    qtbot: Any, tmp_path: Path, event_loop_qt: Any
) -> None:
    from paygo_desktop.gui.main_window import MainWindow
    from tests.gui.test_remember_password import MemoryKeychain

    data_dir = DataDir(tmp_path / "data")
    ctx = AppContext.open(data_dir)
    wallet = cheap_wallet(ctx)
    wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD, "Main")
    keychain = MemoryKeychain()
    keychain.remember(wallet.wallet_id, PASSWORD)
    ctx.settings.remember_password = True
    ctx.settings.save()
    ctx.close()
    window = MainWindow(poll_network=False, keychain=keychain)
    qtbot.addWidget(window)
    window.show()
    window.show_first_screen_while_opening(True)
    assert window.mode == "locked"
    opening = _open_behind(window, data_dir)
    qtbot.waitUntil(lambda: window.mode == "app", timeout=20_000)
    assert not opening.result().wallet.is_locked
    window.close()
    opening.result().close()
