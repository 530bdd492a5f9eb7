"""The Vendor page against the real reference provider and anvil, after a few sessions: the provider's key
imported into the wallet, earnings claimed and pending, the live meter, Claim now (the provider's vouchers
in one batch sent from the wallet through the transaction dialog, fee shown first; nothing to claim), and
the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.networks import custom_network
from tests.chain.conftest import _deployed, anvil_url, env, runner  # noqa: F401 - fixtures
from tests.gui.conftest import PASSWORD
from tests.gui.helpers import TIMEOUT, click, complete_transaction
from tests.provider.conftest import Server, open_channel, provider_server, voucher

SVC = "market-data-feed"  # 1000 base units of USDC per second, tick 5 s
TICK_COST = 5_000


@pytest.fixture
def provider_with_sessions(env: Any, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    """The provider after three sessions: two ended (8 ticks in all) and one still running (2 ticks).
    Everything chain-side happens here, before the Qt event loop of the test starts."""
    from paygo_desktop.protocol.client import ProviderClient

    with provider_server(env, tmp_path / "provider") as server:
        client = ProviderClient(server.url)
        for ticks, stop in ((3, True), (5, True), (2, False)):
            ch = open_channel(env, 1_000_000)
            started = env.run(client.start_session(SVC, ch, TICK_COST, voucher(env, ch, TICK_COST)))
            for seq in range(1, ticks):
                server.clock.advance(5)
                amount = (seq + 1) * TICK_COST
                env.run(client.send_voucher(started.session_id, seq, amount, voucher(env, ch, amount)))
            if stop:
                env.run(client.stop_session(started.session_id, access_token=started.access.token))
        env.run(client.aclose())
        yield server


@pytest.fixture
def vendor_ctx(provider_with_sessions: Server, wallet_ctx: AppContext) -> AppContext:
    chain = provider_with_sessions.env
    network = custom_network("Test chain", chain.url, chain.chain_id, vault_address=chain.vault.address)
    wallet_ctx.networks.save_custom(network)
    wallet_ctx.settings.network = network.key
    wallet_ctx.settings.providers = [provider_with_sessions.url]
    wallet_ctx.wallet.import_private_key("0x" + bytes(chain.provider.key).hex(), PASSWORD, "My provider")
    wallet_ctx.wallet.unlock(PASSWORD)
    return wallet_ctx


def cells(table: Any) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def open_claim(qtbot: Any, page: Any) -> Any:
    """Press Claim now and wait for the transaction dialog it opens."""
    before = page.flow_dialog
    click(qtbot, page.claim_button)
    qtbot.waitUntil(lambda: page.flow_dialog is not before or page.message.text() != "", timeout=TIMEOUT)
    assert page.flow_dialog is not before, page.message.text()
    return page.flow_dialog


def shown_vendor_page(qtbot: Any, ctx: AppContext) -> tuple[Any, Any]:
    """The Vendor page on ``ctx`` with its own task runner, shown and refreshed: (page, runner)."""
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.vendor_page import VendorPage

    tasks = TaskRunner()
    page = VendorPage(ctx, tasks, poll_ms=100)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.refresh()
    return page, tasks


def test_vendor_view_claim_and_export(
    provider_with_sessions: Server, vendor_ctx: AppContext, qtbot: Any, event_loop_qt: Any, tmp_path: Path
) -> None:
    chain = provider_with_sessions.env
    page, tasks = shown_vendor_page(qtbot, vendor_ctx)
    assert page.stack.currentWidget() is page.empty and not page.claim_button.isEnabled()
    assert page.provider.currentText() == provider_with_sessions.url

    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.overview is not None, timeout=TIMEOUT)
    assert page.message.text() == ""
    assert "signed in as My provider" in page.signed_in.text()
    assert cells(page.totals) == [["USDC", "0.05 USDC", "0 USDC", "0.05 USDC"]]  # 10 ticks, none claimed
    assert cells(page.live) == [
        ["Market Data Feed", cells(page.live)[0][1], cells(page.live)[0][2], "0.01 USDC"]
    ]
    assert cells(page.services)[0][:3] == ["Market Data Feed", "0.05 USDC", "3"]
    assert sum(int(row[2]) for row in cells(page.days)) == 3

    # Claim now: the provider's vouchers, checked here, in one batch sent from this wallet's provider account
    gas_before = chain.eth(chain.provider.address)
    dialog = open_claim(qtbot, page)
    assert dialog.description.text() == "Claim 3 vouchers: 0.05 USDC"
    qtbot.waitUntil(lambda: dialog.state.phase == "review", timeout=TIMEOUT)
    assert dialog.fee_label.text().startswith("about ") and "at most" in dialog.fee_label.text()
    assert int(dialog.gas_label.text().replace(",", "")) > 50_000
    assert dialog.flow.sender == chain.provider.address
    state = complete_transaction(qtbot, dialog)
    assert state.phase == "done", state
    assert chain.eth(chain.provider.address) < gas_before  # the vendor's account paid the fee
    qtbot.waitUntil(lambda: "confirmed in block" in page.message.text(), timeout=TIMEOUT)
    assert page.message.text().startswith("Claimed 3 vouchers: 0.05 USDC. Transaction 0x")
    qtbot.waitUntil(lambda: not tasks.busy and cells(page.totals)[0][2] != "0 USDC", timeout=TIMEOUT)
    assert cells(page.totals) == [["USDC", "0.05 USDC", "0.05 USDC", "0 USDC"]]
    assert cells(page.days)[0][3] == "0.05 USDC"
    assert "last claim confirmed in block" in page.signed_in.text()

    # nothing left: a clear message, no transaction dialog
    click(qtbot, dialog.close_button)
    assert page.flow_dialog is None
    click(qtbot, page.claim_button)
    qtbot.waitUntil(lambda: "Nothing to claim" in page.message.text(), timeout=TIMEOUT)
    assert page.flow_dialog is None and page.claim_button.isEnabled()
    qtbot.waitUntil(lambda: not tasks.busy, timeout=TIMEOUT)  # the claim's RPC connection is closed

    target = tmp_path / "earnings.csv"
    page.export_csv(target)
    text = target.read_text()
    assert "USDC,0.05,0.05,0\n" in text and "Market Data Feed,USDC,0.05,3,1\n" in text
    assert page.message.text() == f"Saved the earnings to {target}."


def test_a_provider_whose_key_is_not_in_the_wallet_is_explained(
    provider_with_sessions: Server, wallet_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.vendor_page import VendorPage

    chain = provider_with_sessions.env
    network = custom_network("Test chain", chain.url, chain.chain_id, vault_address=chain.vault.address)
    wallet_ctx.networks.save_custom(network)
    wallet_ctx.settings.network = network.key
    wallet_ctx.wallet.unlock(PASSWORD)
    page = VendorPage(wallet_ctx, TaskRunner())
    qtbot.addWidget(page)
    page.show()
    page.provider.setCurrentText(provider_with_sessions.url)
    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.message.isVisible(), timeout=TIMEOUT)
    assert "is not an account of this wallet" in page.message.text()
    assert chain.provider.address in page.message.text()
    assert page.stack.currentWidget() is page.empty


def test_a_claim_still_pending_is_shown_again_not_sent_twice(
    provider_with_sessions: Server, vendor_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    chain = provider_with_sessions.env
    page, tasks = shown_vendor_page(qtbot, vendor_ctx)
    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.overview is not None, timeout=TIMEOUT)
    chain.rpc("evm_setAutomine", [False])  # the claim waits in the mempool
    try:
        dialog = open_claim(qtbot, page)
        qtbot.waitUntil(lambda: dialog.state.phase == "review", timeout=TIMEOUT)
        click(qtbot, dialog.send_button)
        qtbot.waitUntil(lambda: dialog.state.phase == "pending", timeout=TIMEOUT)
        sent = dialog.state.record.tx_hash
        click(qtbot, dialog.close_button)  # closed early: the transaction keeps going
        assert page.message.text() == "The claim is still on its way; press Claim now to follow it."
        guard = BlockingCallGuard(vendor_ctx.store.engine, watch_signing=False).start()
        try:  # the pending claim is looked up off the GUI thread
            again = open_claim(qtbot, page)
        finally:
            guard.stop()
        assert guard.violations == []
        assert again.windowTitle() == "Pending claim" and again.state.record.tx_hash == sent
        assert again.description.text() == "Claim 3 vouchers: 0.05 USDC"
        chain.rpc("evm_mine")
        state = complete_transaction(qtbot, again)
    finally:
        chain.rpc("evm_setAutomine", [True])
    assert state.phase == "done" and state.record.tx_hash == sent
    qtbot.waitUntil(lambda: "confirmed in block" in page.message.text(), timeout=TIMEOUT)
    click(qtbot, again.close_button)
    qtbot.waitUntil(lambda: not tasks.busy and cells(page.totals)[0][3] == "0 USDC", timeout=TIMEOUT)


def test_claim_now_with_the_provider_gone_says_so(
    provider_with_sessions: Server, vendor_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    page, _tasks = shown_vendor_page(qtbot, vendor_ctx)
    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.overview is not None, timeout=TIMEOUT)
    page.provider_url = "http://127.0.0.1:9"  # the provider went away after the page connected
    click(qtbot, page.claim_button)
    qtbot.waitUntil(lambda: page.message.text() != "", timeout=TIMEOUT)
    assert page.message.text().startswith("Cannot reach the provider at http://127.0.0.1:9")
    assert page.flow_dialog is None and page.claim_button.isEnabled()


def test_earnings_chart_claimed_and_pending_per_day(
    provider_with_sessions: Server, vendor_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    page, tasks = shown_vendor_page(qtbot, vendor_ctx)
    assert page.chart is None  # pyqtgraph is not loaded until there are earnings to draw

    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.overview is not None, timeout=TIMEOUT)
    chart = page.chart
    assert chart is not None and page.chart_asset.currentText() == "USDC"
    days = chart.days
    assert days and days[-1].day.date() == page.overview.loaded_at.date()  # runs to today (UTC)
    assert sum(d.earned.units for d in days) == 10 * TICK_COST  # the provider's 10 ticks
    assert sum(d.claimed.units for d in days) == 0
    assert days[-1].pending.units == 10 * TICK_COST

    last = len(days) - 1
    qtbot.waitUntil(lambda: chart.plot.viewport().width() > 100, timeout=TIMEOUT)
    qtbot.mouseMove(chart.plot.viewport(), chart.widget_position(last).toPoint())
    qtbot.waitUntil(lambda: chart.hovered_index == last, timeout=TIMEOUT)
    assert f"earned {days[last].earned.format()}" in page.chart_hover.text()
    assert "claimed on-chain 0 USDC; pending at the end of the day 0.05 USDC" in page.chart_hover.text()
    before = page.overview
    qtbot.waitUntil(lambda: page.overview is not before, timeout=TIMEOUT)  # the page's poll, pointer at rest
    assert chart.hovered_index == last and f"earned {days[last].earned.format()}" in page.chart_hover.text()
    qtbot.wait(50)  # pyqtgraph drops mouse moves closer than 10 ms to the previous one
    qtbot.mouseMove(page.connect_button)  # the pointer leaves the chart: no day is pointed at any more
    qtbot.waitUntil(lambda: chart.hovered_index == -1, timeout=TIMEOUT)
    assert page.chart_hover.text() == "Point at a day to see its exact figures."

    dialog = open_claim(qtbot, page)
    assert complete_transaction(qtbot, dialog).phase == "done"
    click(qtbot, dialog.close_button)
    qtbot.waitUntil(lambda: "confirmed in block" in page.message.text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not tasks.busy and sum(d.claimed.units for d in chart.days) > 0, timeout=TIMEOUT)
    after = chart.days
    assert after[-1].claimed.units == 10 * TICK_COST  # claimed today, on-chain
    assert after[-1].pending.units == 0
    assert sum(d.earned.units for d in after) == 10 * TICK_COST
