"""Locking and unlocking: the lock screen, a wrong password, Lock now, and the idle timer."""

from __future__ import annotations

from typing import Any

from tests.gui.conftest import PASSWORD
from tests.gui.helpers import click


def test_starts_locked_and_unlocks(qtbot: Any, wallet_ctx: Any, event_loop_qt: Any) -> None:
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(wallet_ctx, poll_network=False)
    qtbot.addWidget(window)
    window.start()
    window.show()
    assert window.mode == "locked"
    assert window.root.currentWidget() is window.lock_screen
    assert not window.statusBar().isVisible()
    qtbot.keyClicks(window.lock_screen.password, PASSWORD)
    click(qtbot, window.lock_screen.unlock_button)
    qtbot.waitUntil(lambda: window.mode == "app", timeout=10_000)
    assert not wallet_ctx.wallet.is_locked
    assert window.lock_screen.password.text() == ""


def test_wrong_password_shows_message_and_changes_nothing(
    qtbot: Any, wallet_ctx: Any, event_loop_qt: Any
) -> None:
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(wallet_ctx, poll_network=False)
    qtbot.addWidget(window)
    window.start()
    window.show()
    before = wallet_ctx.accounts.list()
    screen = window.lock_screen
    qtbot.keyClicks(screen.password, "not the password")
    click(qtbot, screen.unlock_button)
    qtbot.waitUntil(lambda: screen.message.isVisible(), timeout=10_000)
    assert "wrong" in screen.message.text().lower()
    assert screen.password.text() == ""
    assert screen.password.isEnabled() and screen.unlock_button.isEnabled()
    assert window.mode == "locked"
    assert wallet_ctx.wallet.is_locked
    assert wallet_ctx.accounts.list() == before


def test_lock_now_locks_the_wallet(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    window.show_page("settings")
    click(qtbot, window.settings_page.lock_button)
    assert window.mode == "locked"
    assert window.ctx.wallet.is_locked
    assert window.root.currentWidget() is window.lock_screen


def test_auto_lock_after_idle(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    assert window.mode == "app"
    window.idle.timeout_seconds = lambda: 0.2
    window.idle.timer.setInterval(20)
    window.idle.start()
    qtbot.waitUntil(lambda: window.mode == "locked", timeout=5_000)
    assert window.ctx.wallet.is_locked


def test_activity_postpones_auto_lock(qtbot: Any, unlocked_window: Any) -> None:
    """Keys and the mouse reach the window as the system delivers them (QTest on the QWindow goes through
    Qt's window-system input, as a real key press does), in the main window and in a dialog opened after
    the watch began."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialog

    window = unlocked_window
    window.idle.timeout_seconds = lambda: 0.4
    window.idle.timer.setInterval(20)
    window.idle.start()
    window.home_page.accounts.setFocus()  # the keys go where the focus is, as a user's do
    for _ in range(6):
        qtbot.wait(100)
        QTest.keyClick(window.windowHandle(), Qt.Key.Key_Down)
    assert window.mode == "app"
    dialog = QDialog(window)
    dialog.resize(200, 100)
    dialog.show()
    qtbot.waitExposed(dialog)
    for step in range(6):
        qtbot.wait(100)
        QTest.mouseMove(dialog.windowHandle(), QPoint(10 + step, 10))
    assert window.mode == "app"
    dialog.close()
    qtbot.waitUntil(lambda: window.mode == "locked", timeout=5_000)
