"""A session paid from a Zcash spending permission, through the real window: anvil, the reference provider
over loopback with Zcash in ledger mode, the session engine.

Zcash page: buy a permission → pay it through the provider's ledger → "I have paid" → active. Services → Start
session… → the dialog's Zcash option → the live meter, the permission's metered amount growing → the
permission runs out → with the fallback allowed the session continues on the escrow channel (the deposit made
from the dialog) and the user is told; without it the session stops and says why. The "trust, but verify"
warning stays quiet: the provider deducted what the app metered.

A provider sells no permission shorter than one hour of use, so once the session runs both clocks (the
engine's monotonic clock and the provider's) are moved forward together to a few seconds before the hour is
up; the rest runs in real time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.money import ZEC, Amount, Asset
from paygo_desktop.protocol.client import ProviderClient
from tests.chain.conftest import (  # noqa: F401 - fixtures used by this module
    Env,
    _deployed,
    anvil_url,
    env,
    runner,
)
from tests.gui.helpers import TIMEOUT, click, payer_window, press_start
from tests.gui.test_session_flow import (
    RATE,
    SERVICE_NAME,
    add_per_second_service,
    start_from_services,
)
from tests.provider.conftest import FakeClock
from tests.sessions.conftest import run_provider
from tests.zcash.provider_fixture import USER_Z

TICK, GRACE = 2, 4
PERMISSION = "0.036"  # ZEC, at 0.036 ZEC an hour: one hour of use, 1000 zatoshi a second
PERMISSION_ZAT = 3_600_000
LEFT_AFTER_JUMP = 6  # seconds of the permission left when the clocks have been moved forward


class Jump:
    """How far both clocks have been moved forward (seconds)."""

    seconds = 0.0


class JumpingWallClock(FakeClock):
    """The provider's clock: real time plus the jump."""

    def __init__(self, jump: Jump) -> None:
        super().__init__()
        self.jump = jump

    def __call__(self) -> float:
        return time.time() + self.jump.seconds


@dataclass
class ZcashSandbox:
    env: Env
    provider_url: str
    jump: Jump
    usdc: Asset


@pytest.fixture
def zsandbox(env: Env, tmp_path: Any) -> Iterator[ZcashSandbox]:  # noqa: F811
    jump = Jump()
    zcash = {"mode": "ledger", "network": "test", "min_confirmations": 1}
    with run_provider(env, tmp_path, clock=JumpingWallClock(jump), zcash=zcash) as provider:
        add_per_second_service(provider, SERVICE_NAME, RATE, TICK, GRACE)
        yield ZcashSandbox(env, provider.url, jump, Asset("USDC", 6, env.usdc))


@pytest.fixture
def zwindow(zsandbox: ZcashSandbox, qtbot: Any, ctx: Any, event_loop_qt: Any) -> Iterator[Any]:
    from paygo_desktop.sessions.engine import SessionEngine

    def engine_clock() -> int:
        return time.monotonic_ns() + int(zsandbox.jump.seconds * 1_000_000_000)

    factory = functools.partial(SessionEngine, clock=engine_clock)
    with payer_window(qtbot, ctx, zsandbox.env, zsandbox.provider_url, engine_factory=factory) as window:
        yield window


def buy_permission(qtbot: Any, window: Any, url: str) -> Any:
    """The Zcash page: create, pay through the provider's ledger, "I have paid" → active."""
    window.show_page("zcash")
    page = window.pages["zcash"]
    form = page.create_form  # the “New permission” box
    assert form.provider.currentData() == url
    qtbot.keyClicks(form.amount, PERMISSION)
    qtbot.keyClicks(form.rate, PERMISSION)
    form.user_address.setText(USER_Z)
    click(qtbot, form.create_button)
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.table, timeout=TIMEOUT)
    view = page.selected()
    assert view is not None and view.amount_zat == PERMISSION_ZAT and view.max_seconds == 3600
    paid: list[bool] = []

    async def pay() -> None:
        async with ProviderClient(url) as client:
            await client.ledger_pay(view.pay_address, view.amount_zat, f"paygo:perm:{view.permission_id}")
            await client.ledger_mine(1)
        paid.append(True)

    window.runner.run(pay())
    qtbot.waitUntil(lambda: bool(paid), timeout=TIMEOUT)
    click(qtbot, page.paid_button)
    qtbot.waitUntil(lambda: page.book.get(url, view.permission_id).status.value == "active", timeout=TIMEOUT)
    return view


def choose_zcash(dialog: Any, permission_id: str) -> None:
    index = next(i for i, o in enumerate(dialog.plan.options) if o.permission_id == permission_id)
    dialog.funding_group.button(index).setChecked(True)
    assert dialog.selected_option().kind == "zcash"
    assert dialog.budget_label.text() == "Budget (ZEC)"


def run_out(qtbot: Any, window: Any, sandbox: ZcashSandbox, permission_id: str) -> Any:
    """The Zcash session's card runs, the permission's row follows the meter; then both clocks jump to a few
    seconds before the permission's hour is up."""
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=60_000)
    view = next(iter(page.meters.values()))
    live = view.live
    assert live.terms.funding == "zcash" and live.terms.asset == ZEC and live.terms.cap == PERMISSION_ZAT
    book = window.ctx.zcash_book
    qtbot.waitUntil(lambda: book.get(sandbox.provider_url, permission_id).metered_zat > 0, timeout=20_000)
    assert live.acked > 0  # the provider's deduction so far, shown on the card
    sandbox.jump.seconds += 3600 - live.meter.elapsed_ns() / 1e9 - LEFT_AFTER_JUMP
    return view


@pytest.fixture
def guard(zwindow: Any) -> Iterator[BlockingCallGuard]:
    """Blocking work on the GUI thread, recorded once started (``gui.blocking_guard``)."""
    watching = BlockingCallGuard(zwindow.ctx.store.engine, callers_outside=("/tests/",))
    yield watching
    watching.stop()


def test_zcash_session_falls_back_to_the_escrow_channel_when_the_permission_runs_out(
    qtbot: Any, zsandbox: ZcashSandbox, zwindow: Any, guard: BlockingCallGuard
) -> None:
    window = zwindow
    permission = buy_permission(qtbot, window, zsandbox.provider_url)
    window.show_app("services")
    # from here to the escrow session's stop: nothing the session does blocks the window (the shared
    # transaction dialog's store work and this test's own looks at the store aside)
    guard.start()
    dialog = start_from_services(qtbot, window, "0.0365")
    choose_zcash(dialog, permission.permission_id)
    assert dialog.fallback.isVisible() and not dialog.deposit.isEnabled()
    dialog.budget.setText("0.0365")  # 50 seconds beyond the permission's hour
    assert not dialog.start_button.isEnabled()
    assert dialog.message.text().startswith("The budget is more than the permission has left.")
    dialog.fallback.setChecked(True)
    assert dialog.deposit.isEnabled() and dialog.start_button.isEnabled()
    assert dialog.deposit.text() == "0.05"  # no channel yet: the part beyond the permission is proposed
    dialog.deposit.setText("0.01")
    assert not dialog.start_button.isEnabled() and "add a larger deposit" in dialog.message.text()
    dialog.deposit.setText("0.1")
    assert dialog.fallback_hint.text() == (
        "The permission pays the first 0.036 ZEC; the rest of the budget, 0.05 USDC at 0.001 USDC per "
        "second, comes from the escrow channel."
    )
    assert dialog.start_button.isEnabled(), dialog.message.text()
    press_start(qtbot, window, dialog)  # the deposit through the transaction dialog, then the start

    zcash_view = run_out(qtbot, window, zsandbox, permission.permission_id)
    zcash = zcash_view.live
    qtbot.waitUntil(
        lambda: any(title == "Continued on the escrow channel" for title, _ in window.notices.seen),
        timeout=30_000,
    )
    page = window.pages["sessions"]
    assert "continues on the escrow channel" in page.message.text()
    assert zcash.status == "stopped"
    assert zcash.stop_reason == "The Zcash permission ran out; continuing on the escrow channel."
    qtbot.waitUntil(lambda: zcash_view.warning.text() == zcash.stop_reason, timeout=5_000)
    qtbot.waitUntil(lambda: len(page.meters) == 2, timeout=5_000)
    escrow_view = next(v for v in page.meters.values() if v is not zcash_view)
    escrow = escrow_view.live
    assert escrow.terms.funding == "escrow" and escrow.terms.asset.symbol == "USDC"
    assert escrow.terms.cap == 50 * RATE  # what the budget had left, at the service's own rate
    qtbot.waitUntil(lambda: escrow.acked >= 2 * RATE * TICK, timeout=20_000)

    # Trust, but verify: the provider deducted what the app metered, so the Zcash page stays quiet.
    book = window.ctx.zcash_book
    used = book.get(zsandbox.provider_url, permission.permission_id)
    assert used.status.value == "exhausted" and used.deducted_zat == PERMISSION_ZAT
    assert used.metered_zat == PERMISSION_ZAT and used.trust_warning is None
    window.show_page("zcash")
    zcash_page = window.pages["zcash"]
    zcash_page.reload()
    assert not zcash_page.warnings.isVisible()
    window.show_page("sessions")

    escrow_view.stop_button.click()
    controller = window.sessions
    qtbot.waitUntil(lambda: controller.last_summary is not None, timeout=30_000)
    summary = controller.last_summary
    assert summary.receipt_ok, summary.message
    assert 0 < summary.cost <= escrow.terms.cap
    assert not any("stopped" in title.lower() for title, _ in window.notices.seen)  # no problem reported
    guard.stop()
    assert guard.violations == [], "\n".join(guard.violations)

    # The Escrow page: the channel under the provider's name; what the session signed counts as paid
    # before the provider claims it, so "Available" is what is really left of the deposit.
    window.show_page("escrow")
    escrow_page = window.pages["escrow"]
    escrow_page.reload()
    table = escrow_page.channels_table
    qtbot.waitUntil(lambda: not escrow_page._loading and table.rowCount() == 1, timeout=TIMEOUT)
    asset = escrow_page.overview.channels[0].asset  # the test chain's token, as the page knows it
    cells = [table.item(0, column).text() for column in range(5)]
    assert cells[0] == "Test provider" and cells[2] == Amount(asset, 100_000).format()
    assert cells[3] == f"{Amount(asset, summary.cost).format()} ({Amount(asset, 0).format()} claimed)"
    assert cells[4] == Amount(asset, 100_000 - summary.cost).format()


def test_without_the_fallback_the_zcash_session_stops_saying_the_permission_ran_out(
    qtbot: Any, zsandbox: ZcashSandbox, zwindow: Any
) -> None:
    window = zwindow
    permission = buy_permission(qtbot, window, zsandbox.provider_url)
    window.show_app("services")
    dialog = start_from_services(qtbot, window, PERMISSION)
    choose_zcash(dialog, permission.permission_id)
    dialog.budget.setText("0.0365")
    assert not dialog.start_button.isEnabled()
    assert dialog.message.text() == (
        "The budget is more than the permission has left. Lower it, or let the escrow channel continue "
        "when the permission runs out."
    )
    dialog.budget.setText(PERMISSION)
    assert dialog.buys.text() == "1 hour at this rate" and not dialog.fallback.isChecked()
    assert dialog.start_button.isEnabled(), dialog.message.text()
    dialog.start_button.click()

    view = run_out(qtbot, window, zsandbox, permission.permission_id)
    live = view.live
    qtbot.waitUntil(lambda: live.status == "stopped", timeout=30_000)
    assert live.stop_reason == (
        "The Zcash permission ran out; stopped. Buy a new one on the Zcash page, or allow the escrow "
        "channel to take over when you start a session."
    )
    qtbot.waitUntil(lambda: view.warning.text() == live.stop_reason, timeout=5_000)
    qtbot.wait(2 * TICK * 1000)  # nothing takes over
    page = window.pages["sessions"]
    assert len(page.meters) == 1 and not window.sessions.has_live()
    assert not any(title == "Continued on the escrow channel" for title, _ in window.notices.seen)
    used = window.ctx.zcash_book.get(zsandbox.provider_url, permission.permission_id)
    assert used.status.value == "exhausted" and used.trust_warning is None
    assert Amount(ZEC, used.deducted_zat).format() == "0.036 ZEC"
