"""The Zcash page driven like a person would, against the real reference provider (Zcash ledger mode):
create → the QR decodes to the URI → pay through the sandbox ledger → "I have paid" → seen → confirmed →
active; bad input refused with a clear message; revoke; reminders on an injected clock, shown once."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import numpy as np
import zxingcpp
from PySide6.QtGui import QImage

from paygo_desktop.protocol.client import ProviderClient
from tests.gui.conftest import TEST_ADDRESS
from tests.gui.helpers import TIMEOUT, click
from tests.zcash.provider_fixture import (  # noqa: F401 - the fixture
    MIN_CONF,
    USER_Z,
    ZcashProvider,
    zcash_provider,
)
from tests.zcash.test_zcash_reminders import EXPIRES, START, Clock, add_permission

DAY = 86400


class RecordingNotifier:
    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def notify(self, title: str, text: str) -> None:
        self.shown.append((title, text))


def run(qtbot: Any, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on the qasync loop the window uses, processing Qt events until it is done."""
    future = asyncio.ensure_future(coro)
    qtbot.waitUntil(future.done, timeout=TIMEOUT)
    return future.result()


async def pay(url: str, address: str, amount: int, memo: str | None, blocks: int) -> None:
    async with ProviderClient(url) as client:
        if amount:
            await client.ledger_pay(address, amount, memo)
        if blocks:
            await client.ledger_mine(blocks)


def decode_qr(page: Any) -> str:
    image = page.qr.pixmap().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    pixels = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    # QR codes only: a linear-barcode reader can find a false "barcode" in a QR's modules (CI saw two)
    barcodes = zxingcpp.read_barcodes(
        pixels.reshape(height, stride)[:, :width].copy(), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert len(barcodes) == 1
    return str(barcodes[0].text)


def zcash_page(window: Any, provider: ZcashProvider) -> Any:
    window.ctx.settings.providers = [provider.url]
    window.ctx.zcash_book.clock = provider.clock
    return shown(window)


def shown(window: Any) -> Any:
    """The Zcash page on screen, once it has read the book (in a worker thread)."""
    from pytestqt.qtbot import QtBot

    window.show_page("zcash")
    page = window.pages["zcash"]
    QtBot(window).waitUntil(lambda: page.loaded, timeout=TIMEOUT)
    return page


def reloaded(qtbot: Any, page: Any) -> None:
    """Read the book again and wait until the table shows it (the read runs in a worker thread)."""
    done: list[bool] = []
    page.reload(then=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT)


def cell(page: Any, column: str, row: int = 0) -> str:
    from paygo_desktop.gui.pages.zcash_page import COLUMNS

    return str(page.table.item(row, COLUMNS.index(column)).text())


def checked(qtbot: Any, task: Any) -> None:
    """Wait for a reminder check (it reads the book in a worker thread) to be done."""
    assert task is not None
    qtbot.waitUntil(lambda: task.future is not None and task.future.done(), timeout=TIMEOUT)
    qtbot.wait(10)  # its result reaches the page through a queued signal


def test_create_pay_verify_active_then_revoke(
    qtbot: Any,
    unlocked_window: Any,
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    page = zcash_page(unlocked_window, zcash_provider)
    form = page.create_form  # the “New permission” box
    assert page.stack.currentWidget() is page.empty and form.provider.currentData() == zcash_provider.url

    # the hours follow the amount and rate as they are typed; bad amounts say what is wrong
    qtbot.keyClicks(form.amount, "0.01")
    assert not form.create_button.isEnabled()
    qtbot.keyClicks(form.rate, "0.004")
    assert form.hours.text() == "Buys 2.50 hours of service, to use within 30 days."
    assert form.create_button.isEnabled()
    qtbot.keyClicks(form.amount, "00000001")  # 0.0100000001: nine decimals
    assert "more than 8 decimals" in form.hours.text() and not form.create_button.isEnabled()
    form.amount.setText("0.01")

    form.user_address.setText("zs1thisisnotanaddress")
    click(qtbot, form.create_button)
    assert form.create_error.isVisible() and form.create_error.text().startswith(
        "That is not a Zcash address"
    )
    assert page.book.all() == []

    form.user_address.setText(USER_Z)
    click(qtbot, form.create_button)
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.table, timeout=TIMEOUT)
    view = page.selected()
    assert view is not None and view.account == TEST_ADDRESS
    columns = ("Amount", "Rate / hour", "Hours bought", "Hours used", "Hours left", "Status", "Payment")
    assert [cell(page, c) for c in columns] == [
        "0.01 ZEC",
        "0.004 ZEC",
        "2.50",
        "0.00",
        "2.50",
        "Waiting for payment",
        "Not seen yet",
    ]
    uri = page.uri.text()
    assert uri == view.payment_uri and uri.startswith(f"zcash:{view.pay_address}?amount=0.01&memo=")
    assert decode_qr(page) == uri
    assert "pay exactly 0.01 ZEC" in page.request_text.text() and "memo" in page.request_text.text()
    assert page.request_box.title() == "Payment request: 0.01 ZEC to Zcash test provider"
    assert "<b>Awaiting payment</b>" in page.steps.text()

    # pay from "a wallet" (the sandbox ledger), in the mempool first: seen
    memo = f"paygo:perm:{view.permission_id}"
    run(qtbot, pay(zcash_provider.url, view.pay_address, view.amount_zat, memo, blocks=0))
    click(qtbot, page.paid_button)
    qtbot.waitUntil(lambda: "<b>Seen</b>" in page.steps.text(), timeout=TIMEOUT)
    assert cell(page, "Status") == "Waiting for payment" and cell(page, "Payment") == "Seen, confirming"
    run(qtbot, pay(zcash_provider.url, view.pay_address, 0, None, blocks=MIN_CONF))
    click(qtbot, page.paid_button)
    qtbot.waitUntil(lambda: cell(page, "Status") == "Active", timeout=TIMEOUT)
    assert "<b>Confirmed</b>" in page.steps.text() and cell(page, "Payment") == "Paid"
    assert page.message.text() == "Your permission with Zcash test provider is active."
    assert not page.qr.isVisible() and not page.paid_button.isEnabled()

    # the fall-back choice is kept
    click(qtbot, page.fallback)
    qtbot.waitUntil(lambda: page.selected().allow_fallback is True, timeout=TIMEOUT)  # kept, read again
    assert page.book.get(view.provider_url, view.permission_id).allow_fallback is True

    # revoke asks once more, then revokes at the provider
    click(qtbot, page.revoke_button)
    assert "Revoke now" in page.message.text() and page.book.all()[0].status.value == "active"
    click(qtbot, page.revoke_button)
    qtbot.waitUntil(lambda: cell(page, "Status") == "Revoked", timeout=TIMEOUT)
    assert not page.revoke_button.isEnabled() and not page.fallback.isEnabled()


def test_provider_problems_are_messages_not_tracebacks(
    qtbot: Any,
    unlocked_window: Any,
    zcash_provider: ZcashProvider,  # noqa: F811
) -> None:
    from tests.zcash.provider_fixture import USER_MAIN

    page = zcash_page(unlocked_window, zcash_provider)
    form = page.create_form  # the “New permission” box
    form.amount.setText("0.01")
    form.rate.setText("0.004")
    form.user_address.setText(USER_MAIN)  # valid, but the provider works on testnet
    click(qtbot, form.create_button)
    qtbot.waitUntil(lambda: "wrong_network" in form.create_error.text(), timeout=TIMEOUT)
    assert "Traceback" not in form.create_error.text() and page.book.all() == []
    form.amount.setText("0.001")
    form.rate.setText("0.01")
    assert form.hours.text() == "The amount must pay for at least one hour at this rate."


def test_reminders_once_each_through_the_notifier(
    qtbot: Any,
    wallet_ctx: Any,
    event_loop_qt: Any,
) -> None:
    from paygo_desktop.gui.main_window import MainWindow
    from tests.gui.conftest import PASSWORD

    clock = Clock(START)
    wallet_ctx.zcash_book.clock = clock
    add_permission(wallet_ctx.store, "zp_remind", used_seconds=50 * 3600)
    notifier = RecordingNotifier()

    def open_window() -> Any:
        win = MainWindow(wallet_ctx, poll_network=False, notifier=notifier)
        qtbot.addWidget(win)
        win.start()
        win.show()
        wallet_ctx.wallet.unlock(PASSWORD)
        win.show_app("home")
        return win

    window = open_window()
    page = window.pages["zcash"]
    checked(qtbot, page.check_reminders())
    assert notifier.shown == []
    clock.now = EXPIRES - 7 * DAY + 60
    checked(qtbot, page._tick())  # the minute timer
    assert [title for title, _ in notifier.shown] == ["Zcash permission expires soon"]
    assert "expires in 7 days" in notifier.shown[0][1]
    checked(qtbot, page._tick())
    assert len(notifier.shown) == 1  # once
    window.lock()
    assert not page.timer.isActive()  # no reminders on the lock screen
    clock.now = EXPIRES - DAY + 60
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)

    window = open_window()  # the app opens again on the same data: it checks at once
    qtbot.waitUntil(lambda: len(notifier.shown) == 2, timeout=TIMEOUT)
    assert "expires in 1 day" in notifier.shown[1][1]
    page = window.pages["zcash"]
    checked(qtbot, page.check_reminders())
    assert len(notifier.shown) == 2  # neither is shown again

    # past its expiry the permission shows as expired at once (the provider agrees at its next answer)
    clock.now = EXPIRES
    reloaded(qtbot, page)
    assert cell(page, "Status") == "Expired" and not page.revoke_button.isEnabled()
    checked(qtbot, page.check_reminders())
    assert len(notifier.shown) == 2


def test_without_a_tray_reminders_show_in_the_window(
    qtbot: Any,
    unlocked_window: Any,
) -> None:
    ctx = unlocked_window.ctx
    ctx.zcash_book.clock = Clock(EXPIRES - 3600)
    add_permission(ctx.store, "zp_banner")
    checked(qtbot, unlocked_window.pages["zcash"].check_reminders())
    banner = unlocked_window.banner
    assert banner.isVisible() and "expires within the hour" in banner.label.text()
    click(qtbot, banner.dismiss)
    assert not banner.isVisible()


def test_the_page_warns_when_the_provider_deducted_more_than_metered(
    qtbot: Any, unlocked_window: Any
) -> None:
    from paygo_desktop.zcash.trust import allowance_zat
    from tests.zcash.test_zcash_reminders import RATE

    ctx = unlocked_window.ctx
    ctx.zcash_book.clock = Clock(START)
    add_permission(ctx.store, "zp_fair", deducted=5_000 + allowance_zat(RATE, 60), metered=5_000)
    page = shown(unlocked_window)
    assert not page.warnings.isVisible()
    add_permission(ctx.store, "zp_greedy", deducted=5_000 + allowance_zat(RATE, 60) + 1, metered=5_000)
    reloaded(qtbot, page)
    assert page.warnings.isVisible() and page.warnings.objectName() == "ErrorText"
    assert page.warnings.text().startswith("Radio Co has deducted 0.00006724 ZEC from this permission")


def test_the_page_warns_the_same_way_when_the_provider_reports_other_figures(unlocked_window: Any) -> None:
    """Not only a deduction beyond the meter: used hours and a status the app's record does not explain
    get the same warning, and the table keeps showing the app's own hours and status."""
    from tests.zcash.test_zcash_reminders import reported_json

    ctx = unlocked_window.ctx
    ctx.zcash_book.clock = Clock(START)
    everything_used = reported_json(
        status="exhausted", usedSeconds=360_000, usedHours="100.00", remainingSeconds=0, remainingHours="0.00"
    )
    add_permission(ctx.store, "zp_liar", used_seconds=3600, reported=everything_used)
    page = shown(unlocked_window)
    assert page.warnings.isVisible() and page.warnings.objectName() == "ErrorText"
    assert "Radio Co reports 100.00 hours used on this permission, but this app measured 1.00" in (
        page.warnings.text()
    )
    assert "reports this permission as used up, but by this app's record it is active" in page.warnings.text()
    assert (cell(page, "Hours used"), cell(page, "Hours left"), cell(page, "Status")) == (
        "1.00",
        "99.00",
        "Active",
    )


def test_a_read_overtaken_by_another_still_runs_its_next_step(qtbot: Any, unlocked_window: Any) -> None:
    """Two reads of the book at once (a change announced while a caller's read is out): the table shows the
    latest, and the first caller's next step (select the new permission, announce it) still runs; it was
    dropped, and the full suite saw a reload never finish."""
    page = shown(unlocked_window)
    add_permission(unlocked_window.ctx.store, "zp_later")
    steps: list[str] = []
    page.reload(then=lambda: steps.append("first"))
    page.reload(then=lambda: steps.append("second"))
    qtbot.waitUntil(lambda: len(steps) == 2, timeout=TIMEOUT)
    assert steps == ["first", "second"]
    assert [view.permission_id for view in page.views] == ["zp_later"]
