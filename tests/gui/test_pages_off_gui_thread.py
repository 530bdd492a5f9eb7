"""Showing a page and reading it again blocks nothing: its SQL and files are read in a worker thread, and
what it read reaches its widgets when the read returns (``gui.blocking_guard`` watches the GUI thread).

Each page is shown and then read again (``Page.reread``: what a change announced while it is on screen
does) with the guard on, until the page's background reads are done and their results are on screen; the
guard must have seen no SQL and no file opened on the GUI thread, and the page must show what it read.
The data directory holds some of what the pages show: a custom network beside the built-in ones, a Zcash
permission, an activity entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from paygo_desktop.changes import Changes
from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from tests.gui.conftest import TEST_ADDRESS
from tests.gui.helpers import TIMEOUT

CUSTOM_NETWORK = "My node"


def _jobs(page: Any) -> bool:
    return bool(page.loaded and page.refresh_button.isEnabled() and TEST_ADDRESS in page.account_label.text())


def _escrow(page: Any) -> bool:
    return bool(not page._loading and page.account_label.toolTip() == TEST_ADDRESS)


def _zcash(page: Any) -> bool:
    from paygo_desktop.gui.pages.zcash_page import COLUMNS

    rows = [page.table.item(r, COLUMNS.index("Provider")) for r in range(page.table.rowCount())]
    return page.stack.currentWidget() is page.table and [i.text() for i in rows] == ["Radio Co"]


def _settings(page: Any) -> bool:
    networks = [page.network_combo.itemText(i) for i in range(page.network_combo.count())]
    accounts = [page.account_list.item(i).text() for i in range(page.account_list.count())]
    return bool(
        any(name.startswith(CUSTOM_NETWORK) for name in networks)
        and any(name.startswith("Sandbox") for name in networks)
        and accounts == [f"Main  —  {TEST_ADDRESS}"]
        and page.add_hd_button.isEnabled()
    )


def _activity(page: Any) -> bool:
    return page.data is not None and not page.figures.busy


def _home(page: Any) -> bool:
    table, recent = page.accounts, page.activity
    accounts = [table.item(r, 1).text() for r in range(table.rowCount())]
    lines = [recent.item(i).text() for i in range(recent.count())]
    return accounts == [TEST_ADDRESS] and any(line.endswith("Switched to Sandbox") for line in lines)


def _anything(_page: Any) -> bool:
    return True


#: each page, and what it shows once its reads are in (the window's task runner idle as well)
SHOWS: dict[str, Callable[[Any], bool]] = {
    "home": _home,
    "jobs": _jobs,
    "escrow": _escrow,
    "zcash": _zcash,
    "settings": _settings,
    "services": _anything,
    "sessions": _anything,
    "activity": _activity,
    "vendor": _anything,
}


def _some_data(ctx: Any) -> None:
    from paygo_desktop.networks import custom_network
    from tests.zcash.test_zcash_reminders import START, Clock, add_permission

    ctx.networks.save_custom(custom_network(CUSTOM_NETWORK, "http://127.0.0.1:9", 31337))
    ctx.zcash_book.clock = Clock(START)
    add_permission(ctx.store, "zp_shown")
    ctx.activity.record("network", "Switched to Sandbox", network="sandbox")


@pytest.mark.parametrize("key", list(SHOWS))
def test_showing_and_reading_a_page_again_blocks_nothing(qtbot: Any, unlocked_window: Any, key: str) -> None:
    window = unlocked_window
    _some_data(window.ctx)
    window.changes.announce(Changes(network=True, permissions=True, activity=True))  # as their writers do
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)  # the window's own start-up reads
    page = window.pages[key]  # built before the guard: building a page is not what is checked here
    shows = SHOWS[key]

    def read() -> bool:
        return not window.runner.busy and shows(page)

    guard = BlockingCallGuard(window.ctx.store.engine, watch_signing=False).start()
    try:
        window.show_page(key)
        qtbot.waitUntil(read, timeout=TIMEOUT)
        page.reread()
        qtbot.waitUntil(read, timeout=TIMEOUT)
        qtbot.wait(20)  # anything the last read set off on the GUI thread
    finally:
        guard.stop()
    assert not guard.violations, "\n".join(guard.violations)
    assert shows(page)
