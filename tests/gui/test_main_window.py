"""The main window's pages, shortcuts, status bar, and the custom network check against a real server."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QWidget

from paygo_desktop.gui.main_pages import PAGE_ORDER
from paygo_desktop.gui.widgets.empty_state import EmptyState
from tests.gui.conftest import TEST_ADDRESS
from tests.gui.helpers import click, home_addresses

LATER_PAGES = ("services", "sessions", "zcash", "activity", "vendor")  # escrow: tests/gui/test_escrow_page.py


def test_every_page_reachable_by_shortcut(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    window.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is not None, timeout=5_000)
    for number, key in reversed(list(enumerate(PAGE_ORDER, start=1))):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page() == key, key
        assert window.sidebar.currentRow() == number - 1


@pytest.mark.parametrize("key", LATER_PAGES)
def test_later_pages_show_an_honest_empty_state(qtbot: Any, unlocked_window: Any, key: str) -> None:
    window = unlocked_window
    window.show_page(key)
    page = window.pages[key]

    def empties() -> list[EmptyState]:  # once the page has read (in a worker thread) that it has nothing
        return [e for e in page.findChildren(EmptyState) if e.isVisible()]

    qtbot.waitUntil(lambda: len(empties()) == 1, timeout=5_000)
    qtbot.wait(50)  # and it stays one
    assert len(empties()) == 1
    empty = empties()[0]
    assert empty.title.text() and empty.explanation.text() and empty.what_appears.text()


def test_controls_have_accessible_names(unlocked_window: Any) -> None:
    window = unlocked_window
    missing = [
        f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}"
        for w in window.findChildren(QWidget)
        if isinstance(w, QAbstractButton | QLineEdit)
        and not w.accessibleName()
        and not w.objectName().startswith("qt_")
    ]
    assert missing == []


def test_home_shows_accounts_network_and_activity(qtbot: Any, unlocked_window: Any) -> None:
    from paygo_desktop.changes import Changes

    window = unlocked_window
    window.ctx.activity.record("test", "Something real happened")
    window.changes.announce(Changes(activity=True))  # as whatever writes to the activity log does
    window.show_page("home")
    qtbot.waitUntil(lambda: home_addresses(window) == [TEST_ADDRESS], timeout=5_000)
    assert "Sandbox" in window.home_page.network_label.text()

    def texts() -> list[str]:
        return [window.home_page.activity.item(i).text() for i in range(window.home_page.activity.count())]

    qtbot.waitUntil(lambda: any("Something real happened" in t for t in texts()), timeout=5_000)


def test_status_bar_copies_the_full_address(qtbot: Any, unlocked_window: Any) -> None:
    bar = unlocked_window.status
    qtbot.waitUntil(lambda: bar.account_button.text() == "0xf39F…2266", timeout=5_000)  # (read in a worker)
    assert TEST_ADDRESS in bar.account_button.toolTip()
    QGuiApplication.clipboard().clear()
    with qtbot.waitSignal(bar.address_copied, timeout=2_000):
        click(qtbot, bar.account_button)
    assert QGuiApplication.clipboard().text() == TEST_ADDRESS


def test_status_bar_reports_connected_and_wrong_network(
    qtbot: Any, unlocked_window: Any, chain_server: Any
) -> None:
    from paygo_desktop.networks import custom_network

    bar = unlocked_window.status
    bar.set_network(custom_network("Local", chain_server.url, 31337))
    bar.poll()
    qtbot.waitUntil(lambda: bar.connection_label.text() == "Connected", timeout=10_000)
    bar.set_network(custom_network("Other", chain_server.url, 5))
    bar.poll()
    qtbot.waitUntil(lambda: bar.connection_label.text() == "Wrong network", timeout=10_000)


def test_status_bar_claims_no_check_it_does_not_make(
    qtbot: Any, unlocked_window: Any, chain_server: Any
) -> None:
    """Polling off (a screenshot, --self-test): the bar said "Checking connection…" for ever, in the README's
    pictures too. Now it says nothing until it asks, and then what the node answered."""
    from paygo_desktop.networks import custom_network

    bar = unlocked_window.status
    assert not bar.timer.isActive()
    assert bar.connection_label.text() == ""
    bar.set_network(custom_network("Local", chain_server.url, 31337))
    assert bar.connection_label.text() == ""
    bar.start_polling()
    assert bar.connection_label.text() in ("Checking connection…", "Connected")
    qtbot.waitUntil(lambda: bar.connection_label.text() == "Connected", timeout=10_000)
    bar.stop_polling()


def test_status_bar_offline(qtbot: Any, unlocked_window: Any) -> None:
    from paygo_desktop.networks import custom_network

    bar = unlocked_window.status
    bar.set_network(custom_network("Nowhere", "http://127.0.0.1:9", 1))
    bar.poll()
    qtbot.waitUntil(lambda: bar.connection_label.text() == "Offline", timeout=10_000)


def _fill_custom(page: Any, name: str, url: str, chain_id: str) -> None:
    page.custom_name.setText(name)
    page.custom_url.setText(url)
    page.custom_chain.setText(chain_id)


@pytest.mark.parametrize(
    "chain_id, said",
    [
        ("8453", ("31337", "8453")),  # the endpoint's chain is another
        ("\u00b2", ("as a number",)),  # "²" passes str.isdigit, int refuses it: that was a traceback
    ],
)
def test_custom_network_with_a_wrong_chain_id_is_refused(
    qtbot: Any, unlocked_window: Any, chain_server: Any, chain_id: str, said: tuple[str, ...]
) -> None:
    window = unlocked_window
    window.show_page("settings")
    page = window.settings_page
    _fill_custom(page, "My node", chain_server.url, chain_id)
    click(qtbot, page.add_network_button)
    qtbot.waitUntil(lambda: page.network_message.isVisible(), timeout=10_000)
    assert all(words in page.network_message.text() for words in said)
    assert page.network_message.objectName() == "ErrorText"
    assert all(n.is_builtin for n in window.ctx.networks.all())
    assert window.ctx.settings.network == "sandbox"


def test_custom_network_with_matching_chain_id_is_saved_and_used(
    qtbot: Any, unlocked_window: Any, chain_server: Any
) -> None:
    window = unlocked_window
    window.show_page("settings")
    page = window.settings_page
    _fill_custom(page, "My node", chain_server.url, "31337")
    click(qtbot, page.add_network_button)
    qtbot.waitUntil(lambda: page.network_message.isVisible(), timeout=10_000)
    assert page.network_message.objectName() == "OkText", page.network_message.text()
    assert window.ctx.settings.network == "custom-my-node"
    assert window.status.network_label.text() == "My node"


def test_custom_network_form_errors_inline(qtbot: Any, unlocked_window: Any) -> None:
    page = unlocked_window.settings_page
    unlocked_window.show_page("settings")
    _fill_custom(page, "x", "ftp://nope", "1")
    click(qtbot, page.add_network_button)
    assert "http" in page.network_message.text()


def test_switching_network_and_theme_persists(qtbot: Any, unlocked_window: Any) -> None:
    window = unlocked_window
    page = window.settings_page
    window.show_page("settings")
    qtbot.waitUntil(lambda: page.loaded, timeout=5_000)  # the networks are read in a worker thread
    index = page.network_combo.findData("base-sepolia")
    page.network_combo.setCurrentIndex(index)
    page.network_combo.activated.emit(index)
    # switched once the network's record is read, in a worker
    qtbot.waitUntil(lambda: window.ctx.settings.network == "base-sepolia", timeout=5_000)
    assert window.status.network_label.text() == "Base Sepolia"
    page.idle_spin.setValue(3)
    assert window.ctx.settings.idle_lock_minutes == 3


def test_add_hd_account_from_settings(qtbot: Any, unlocked_window: Any, monkeypatch: Any) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = unlocked_window
    window.show_page("settings")
    qtbot.waitUntil(lambda: window.settings_page.add_hd_button.isEnabled(), timeout=5_000)  # accounts read
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Second", True)))
    click(qtbot, window.settings_page.add_hd_button)
    qtbot.waitUntil(lambda: len(window.ctx.accounts.list()) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: window.settings_page.account_list.count() == 2, timeout=5_000)
    assert window.ctx.accounts.list()[1].label == "Second"


def test_task_runner_hides_unexpected_errors(qtbot: Any, event_loop_qt: Any) -> None:
    from paygo_desktop.errors import UserFacingError
    from paygo_desktop.gui.async_tasks import GENERIC_ERROR, TaskRunner

    runner = TaskRunner()
    errors: list[str] = []

    def boom() -> None:
        raise KeyError("internal detail")

    def polite() -> None:
        raise UserFacingError("Say it plainly.")

    runner.run(boom, on_error=errors.append)
    runner.run(polite, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5_000)
    assert sorted(errors) == sorted([GENERIC_ERROR, "Say it plainly."])


def test_a_task_cancelled_before_it_ran_leaves_the_runner_idle(qtbot: Any, event_loop_qt: Any) -> None:
    """Closing the window cancels what is still queued; the runner must not stay busy for ever (whatever
    waits for it to be idle, like the app's exit, would wait for nothing)."""
    from paygo_desktop.gui.async_tasks import TaskRunner

    runner = TaskRunner()
    finished: list[str] = []
    task = runner.run(lambda: "never", on_success=finished.append)
    task.finished.connect(lambda: finished.append("finished"))
    assert runner.busy
    runner.cancel_all()  # before the loop ever ran it
    qtbot.waitUntil(lambda: not runner.busy, timeout=5_000)
    assert finished == ["finished"]


def test_the_frame_paints_before_the_data_then_takes_the_pages(
    qtbot: Any, ctx: Any, event_loop_qt: Any
) -> None:
    from paygo_desktop.gui.main_pages import PAGE_TITLES
    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.gui.shell import LOADING_TEXT

    window = MainWindow(poll_network=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.first_painted, timeout=5_000):
        window.show()
    assert window.mode == "loading" and not window.is_loaded
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == list(
        PAGE_TITLES.values()
    )
    assert window.placeholder.isVisible() and window.placeholder.text() == LOADING_TEXT
    assert window.status.isVisible() and len(window.pages) == 0
    window._shortcut_page("settings")  # nothing to show yet: ignored, no error
    window.attach(ctx)
    window.start()
    assert window.is_loaded and window.mode == "onboarding" and not window.placeholder.isVisible()
    assert list(window.pages) == []  # no page is built before it is shown: start-up builds the wizard only
    window.show_app("settings")
    assert list(window.pages) == ["settings"] and window.current_page() == "settings"
    window.show_page("escrow")
    assert list(window.pages) == ["settings", "escrow"] and window.current_page() == "escrow"


def test_the_frame_says_when_the_data_cannot_be_opened(qtbot: Any) -> None:
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(poll_network=False)
    qtbot.addWidget(window)
    window.show()
    window.show_load_error("The database cannot be read.")
    assert window.mode == "error"
    assert window.placeholder.isVisible() and window.placeholder.text() == "The database cannot be read."
    window.close()  # closing before anything loaded saves nothing and raises nothing


def test_after_unlocking_the_next_steps_modules_load_in_a_worker_thread(
    qtbot: Any, unlocked_window: Any, monkeypatch: Any
) -> None:
    """Once the first page is on screen, the core modules of the Escrow page, the session engine and the
    charts are imported off the GUI thread (a first import on it froze the window for up to 1.5 s)."""
    import threading

    from paygo_desktop.gui import warm_up

    imported_on: list[str] = []
    real = warm_up.warm_up

    def recording(modules: tuple[str, ...] = warm_up.MODULES) -> list[str]:
        imported_on.append(threading.current_thread().name)
        return real(modules)

    monkeypatch.setattr(warm_up, "warm_up", recording)
    window = unlocked_window
    window._warmed_up = False  # as after this unlock's first page
    window.lock()
    window.show_app("home")
    qtbot.waitUntil(lambda: bool(imported_on), timeout=5_000)
    assert imported_on[0] != threading.main_thread().name
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    window.show_app("escrow")
    assert len(imported_on) == 1  # once per run


def test_warm_up_imports_every_module_it_names_and_reports_one_that_fails() -> None:
    from paygo_desktop.gui.warm_up import warm_up

    assert warm_up() == []  # a renamed module must be renamed here too
    assert warm_up(("json", "paygo_desktop.no_such_module")) == ["paygo_desktop.no_such_module"]
