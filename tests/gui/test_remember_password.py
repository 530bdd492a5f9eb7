"""“Remember the password”: stored in a keychain after checking it, used once at start-up to unlock."""

from __future__ import annotations

from typing import Any

from tests.gui.conftest import PASSWORD


class MemoryKeychain:
    """Stands in for the OS keychain (same methods as paygo_desktop.wallet.keychain.PasswordKeychain)."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def available(self) -> bool:
        return True

    def remember(self, wallet_id: str, password: str) -> None:
        self.items[wallet_id] = password

    def recall(self, wallet_id: str) -> str | None:
        return self.items.get(wallet_id)

    def forget(self, wallet_id: str) -> None:
        self.items.pop(wallet_id, None)


def make_window(qtbot: Any, ctx: Any, keychain: MemoryKeychain) -> Any:
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(ctx, poll_network=False, keychain=keychain)
    qtbot.addWidget(window)
    window.show()
    return window


def test_turning_on_checks_the_password_and_stores_it(
    qtbot: Any, wallet_ctx: Any, event_loop_qt: Any, monkeypatch: Any
) -> None:
    from paygo_desktop.gui.dialogs import PasswordDialog

    keychain = MemoryKeychain()
    window = make_window(qtbot, wallet_ctx, keychain)
    wallet_ctx.wallet.unlock(PASSWORD)
    window.show_app("settings")
    page = window.settings_page
    monkeypatch.setattr(PasswordDialog, "ask", classmethod(lambda cls, *a: "wrong password"))
    page.remember_check.click()
    qtbot.waitUntil(lambda: page.security_message.isVisible(), timeout=10_000)
    assert not page.remember_check.isChecked()
    assert keychain.items == {} and not wallet_ctx.settings.remember_password

    monkeypatch.setattr(PasswordDialog, "ask", classmethod(lambda cls, *a: PASSWORD))
    page.remember_check.click()
    qtbot.waitUntil(lambda: wallet_ctx.settings.remember_password, timeout=10_000)
    assert keychain.items == {wallet_ctx.wallet.wallet_id: PASSWORD}


def test_remembered_password_unlocks_at_start(qtbot: Any, wallet_ctx: Any, event_loop_qt: Any) -> None:
    keychain = MemoryKeychain()
    keychain.remember(wallet_ctx.wallet.wallet_id, PASSWORD)
    wallet_ctx.settings.remember_password = True
    window = make_window(qtbot, wallet_ctx, keychain)
    window.start()
    qtbot.waitUntil(lambda: window.mode == "app", timeout=10_000)
    assert not wallet_ctx.wallet.is_locked
