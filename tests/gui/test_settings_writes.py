"""Settings: a network, an idle time or a theme chosen takes effect in the app, and is written to the settings
file (and the activity log) in a worker thread, never on the GUI thread; two quick choices leave the last
one on disk; a file that cannot be written is said on the page, and the app goes on.

The GUI thread is watched by ``gui.blocking_guard`` (SQL through the store, a file opened), and the real
settings write notes the thread it runs in."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.settings import Settings
from tests.gui.helpers import TIMEOUT


@pytest.fixture
def written_in(monkeypatch: Any) -> list[int]:
    """The threads the settings file is written in (the real atomic write, each call noted)."""
    import paygo_desktop.settings as settings_module

    real, threads = settings_module.atomic_write_text, []

    def noted(*args: Any, **kwargs: Any) -> None:
        threads.append(threading.get_ident())
        real(*args, **kwargs)

    monkeypatch.setattr(settings_module, "atomic_write_text", noted)
    return threads


@pytest.fixture
def page(qtbot: Any, qapp: Any, unlocked_window: Any) -> Any:
    from paygo_desktop.gui.theme import ThemeManager

    window = unlocked_window
    window.theme = ThemeManager(qapp, "light")  # as the app has: a theme chosen is applied
    window.show_page("settings")
    page = window.settings_page
    qtbot.waitUntil(lambda: page.loaded and not window.runner.busy, timeout=TIMEOUT)
    return page


def choose(combo: Any, key: str) -> None:
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)
    combo.activated.emit(index)  # what a click on the item does


def on_disk(page: Any) -> dict[str, Any]:
    return dict(json.loads(page.ctx.data_dir.settings_file.read_text("utf-8")))


def settled(qtbot: Any, page: Any) -> None:
    window, writes = page.window(), getattr(page, "writes", None)  # (none: the page wrote on the GUI thread)
    qtbot.waitUntil(lambda: not (writes and writes.busy) and not window.runner.busy, timeout=TIMEOUT)


def choose_network(page: Any) -> None:
    choose(page.network_combo, "base-sepolia")


def choose_idle(page: Any) -> None:
    page.idle_spin.setValue(3)


def choose_theme(page: Any) -> None:
    choose(page.theme_combo, "dark")


CHOICES: dict[str, tuple[Callable[[Any], None], str, object]] = {
    "network": (choose_network, "network", "base-sepolia"),
    "idle": (choose_idle, "idle_lock_minutes", 3),
    "theme": (choose_theme, "theme", "dark"),
}


@pytest.mark.parametrize("choice", list(CHOICES))
def test_a_choice_writes_nothing_on_the_gui_thread(
    qtbot: Any, page: Any, written_in: list[int], choice: str
) -> None:
    window = page.window()
    act, setting, value = CHOICES[choice]
    guard = BlockingCallGuard(window.ctx.store.engine, watch_signing=False).start()
    try:
        act(page)
        if choice == "theme":  # in use at once
            assert window.theme.mode == "dark" and window.theme.scheme == "dark"
        if choice == "idle":
            assert window.ctx.settings.idle_lock_minutes == 3  # what the idle watcher asks for
        settled(qtbot, page)
        qtbot.wait(20)  # anything the last write set off on the GUI thread
    finally:
        guard.stop()
    assert not guard.violations, "\n".join(guard.violations)
    assert written_in and threading.get_ident() not in written_in
    assert on_disk(page)[setting] == value
    if choice == "network":  # switched, as the window shows it, and noted in the activity log
        assert window.ctx.settings.network == "base-sepolia"
        assert window.ctx.network.key == "base-sepolia"
        assert window.status.network_label.text() == "Base Sepolia"
        assert window.ctx.activity.recent(1)[0].message == "Switched to Base Sepolia"


def test_two_quick_choices_leave_the_last_one_on_disk(qtbot: Any, page: Any) -> None:
    choose(page.theme_combo, "dark")
    choose(page.theme_combo, "light")
    page.idle_spin.setValue(5)
    page.idle_spin.setValue(7)
    choose(page.network_combo, "base-sepolia")
    choose(page.network_combo, "sandbox")
    settled(qtbot, page)
    saved = Settings.load(page.ctx.data_dir.settings_file)
    assert (saved.theme, saved.idle_lock_minutes, saved.network) == ("light", 7, "sandbox")
    assert page.ctx.network.key == "sandbox" and page.network_combo.currentData() == "sandbox"
    lines = [entry.message for entry in page.ctx.activity.recent(2)]
    assert lines == [
        "Switched to Sandbox (local)",
        "Switched to Base Sepolia",
    ]  # newest first: in the order chosen


def test_a_settings_file_that_cannot_be_written_is_said_and_the_app_goes_on(qtbot: Any, page: Any) -> None:
    """The settings file's place is taken by a folder (the tests run as root here, for whom a read-only
    file or folder is no obstacle): every write fails as a read-only one would."""
    window = page.window()
    path = window.ctx.data_dir.settings_file
    path.unlink(missing_ok=True)
    path.mkdir()
    choose(page.theme_combo, "dark")
    page.idle_spin.setValue(4)
    choose(page.network_combo, "base-sepolia")
    settled(qtbot, page)
    for message in (page.appearance_message, page.security_message, page.network_message):
        assert message.isVisible() and message.objectName() == "ErrorText"
        assert "could not be saved" in message.text() and "Traceback" not in message.text()
    # in use all the same, and the app goes on
    assert window.theme.mode == "dark" and window.ctx.settings.idle_lock_minutes == 4
    assert window.ctx.network.key == "base-sepolia" and window.status.network_label.text() == "Base Sepolia"
    assert window.ctx.activity.recent(1)[0].message == "Switched to Base Sepolia"
    path.rmdir()
    choose(page.theme_combo, "light")
    settled(qtbot, page)
    assert on_disk(page)["theme"] == "light" and on_disk(page)["idle_lock_minutes"] == 4


# -- the other choices that reach the settings file: the active account, a provider added -----------------


def window_settled(qtbot: Any, window: Any) -> None:
    writes = getattr(window, "settings_writes", None)  # (none: the window wrote on the GUI thread)
    qtbot.waitUntil(lambda: not (writes and writes.busy) and not window.runner.busy, timeout=TIMEOUT)


def on_the_gui_thread(
    qtbot: Any, window: Any, act: Callable[[], None], done: Callable[[], bool]
) -> list[str]:
    """What blocking work ``act`` and what it sets off until ``done`` ran on the GUI thread."""
    guard = BlockingCallGuard(window.ctx.store.engine, watch_signing=False).start()
    try:
        act()
        qtbot.waitUntil(done, timeout=TIMEOUT)
        qtbot.wait(20)  # anything the last write set off on the GUI thread
    finally:
        guard.stop()
    return list(guard.violations)


def saved(window: Any, setting: str) -> Any:
    return json.loads(window.ctx.data_dir.settings_file.read_text("utf-8"))[setting]


def test_an_account_chosen_is_saved_off_the_gui_thread(
    qtbot: Any, unlocked_window: Any, written_in: list[int]
) -> None:
    window, other = unlocked_window, "0x" + "2" * 40
    window_settled(qtbot, window)

    def choose() -> None:
        window.set_active_account(other)
        assert window.ctx.settings.active_account == other  # in use at once

    idle = lambda: not window.settings_writes.busy and not window.runner.busy  # noqa: E731
    violations = on_the_gui_thread(qtbot, window, choose, idle)
    assert not violations, "\n".join(violations)
    assert written_in and threading.get_ident() not in written_in
    assert saved(window, "active_account") == other


def test_an_active_account_gone_gives_way_to_the_first_without_sql_on_the_gui_thread(
    qtbot: Any, unlocked_window: Any, written_in: list[int]
) -> None:
    """Unlocking with an active account the wallet no longer has (removed elsewhere): the accounts are read
    in a worker, the first one takes its place, is saved in a worker and shown."""
    window = unlocked_window
    window_settled(qtbot, window)
    first = window.ctx.accounts.list()[0].address
    window.ctx.settings.active_account = "0x" + "9" * 40

    def done() -> bool:
        return window.ctx.settings.active_account == first and not window.settings_writes.busy

    violations = on_the_gui_thread(qtbot, window, lambda: window.show_app("home"), done)
    assert not violations, "\n".join(violations)
    assert written_in and threading.get_ident() not in written_in
    assert saved(window, "active_account") == first
    assert window.status.account_button.isVisible()


def test_a_provider_added_is_saved_off_the_gui_thread(
    qtbot: Any, unlocked_window: Any, written_in: list[int]
) -> None:
    window, url = unlocked_window, "http://127.0.0.1:9"  # nothing answers there: only the list is saved
    window.show_page("services")
    page = window.pages["services"]
    window_settled(qtbot, window)

    def add() -> None:
        page.provider_url.setText(url)
        page.add_provider()
        assert window.ctx.settings.providers == [url]

    violations = on_the_gui_thread(qtbot, window, add, lambda: not page.settings_writes.busy)
    assert not violations, "\n".join(violations)
    assert written_in and threading.get_ident() not in written_in
    assert saved(window, "providers") == [url]
