"""Home at a glance, with real widgets, a real store and a real anvil: wallet and escrow balances read from
the chain, the 30-day sparkline, the next Zcash expiry, and the running sessions' meters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.money import ETH, Amount, Asset
from paygo_desktop.networks import custom_network
from paygo_desktop.store.models import ZcashPermissionRow
from tests.chain.conftest import _deployed, anvil_url, env, runner  # noqa: F401 - fixtures
from tests.gui.conftest import PASSWORD, TEST_ADDRESS
from tests.gui.helpers import TIMEOUT
from tests.reports.spending_data import USDC_FEED, Spent, add_session, write

ESCROW = 3 * 10**17  # 0.3 ETH in one channel, 0.05 ETH of it claimed


@pytest.fixture
def funded_channel(env: Any) -> Iterator[tuple[Any, str]]:  # noqa: F811
    """An ETH channel paid from the wallet's account (anvil's first, unlocked), partly claimed."""
    from paygo_desktop.chain.vouchers import ZERO_ADDRESS, sign_voucher

    chain = env
    ch = chain.channel(payer=None, token=ZERO_ADDRESS, salt=os.urandom(32))
    ch = type(ch)(TEST_ADDRESS, ch.provider, ZERO_ADDRESS, TEST_ADDRESS, ch.withdraw_delay, ch.salt)
    chain.run(chain.vault.fund(chain.deployer, ch, ESCROW))
    # the payer signs vouchers with the test mnemonic's first key
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    key = Account.from_mnemonic("test test test test test test test test test test test junk").key
    sig = sign_voucher(key, chain.domain(), ch, 5 * 10**16)
    chain.run(chain.vault.claim(chain.stranger, ch, 5 * 10**16, sig))
    yield chain, "0x" + ch.id.hex()


@dataclass
class FakeMeter:
    units: int

    def cost(self) -> int:
        return self.units


def Running(service: str, provider: str, asset: Asset, meter: FakeMeter, budget: int) -> Any:
    """A running session as the engine shows it (its meter stands still for the test)."""
    from paygo_desktop.metering.meter import Price
    from paygo_desktop.sessions.live import LiveSession
    from paygo_desktop.sessions.terms import Funding, SessionTerms

    terms = SessionTerms(
        account="0x" + "1" * 40, network="sandbox", provider_url="http://p.test", provider_name=provider,
        provider_address=None, service_id="svc", service_name=service, category="data", service_type="data",
        asset=asset, price=Price(1000, "per_second"), tick_seconds=5, grace_seconds=3, cap=budget,
        funding=Funding.ESCROW,
    )  # fmt: skip
    return LiveSession("s-1", terms, meter)  # type: ignore[arg-type]


def make_home(qtbot: Any, ctx: AppContext, live: Any = None) -> Any:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.home_page import HomePage

    tasks = TaskRunner()
    page = HomePage(ctx, runner=tasks, live_sessions=live)
    page.tasks = tasks  # type: ignore[attr-defined]
    qtbot.addWidget(page)
    page.resize(1100, 720)
    page.show()
    return page


def balances(page: Any) -> list[tuple[str, str, str]]:
    t = page.balance_table
    return [(t.item(r, 0).text(), t.item(r, 1).toolTip(), t.item(r, 3).text()) for r in range(t.rowCount())]


def values(page: Any) -> dict[str, str]:
    """Each wallet balance's value beside it (the Value column), by the amount's symbol."""
    t = page.balance_table
    return {
        t.item(r, 1).toolTip().split()[-1]: t.item(r, 2).text()
        for r in range(t.rowCount())
        if t.item(r, 0).text() == "Wallet"
    }


def test_balances_from_the_chain_sparkline_and_zcash_expiry(
    funded_channel: Any, wallet_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    chain, channel_id = funded_channel
    ctx = wallet_ctx
    network = custom_network("Test chain", chain.url, chain.chain_id, vault_address=chain.vault.address)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.active_account = TEST_ADDRESS
    session = add_session(ctx.store, USDC_FEED, datetime.now(UTC) - timedelta(days=2), 1_250_000)
    with ctx.store.session() as s:  # an escrow session of the wallet on this network, on that channel
        from paygo_desktop.store.models import SessionRow

        row = s.get(SessionRow, session)
        assert row is not None
        row.network, row.channel_id = network.key, channel_id
        row.asset_symbol, row.asset_address, row.decimals = "ETH", None, 18
        expiry = datetime.now(UTC) + timedelta(days=3)
        for pid, expires, status in (("p1", expiry, "active"), ("p2", expiry + timedelta(days=9), "active")):
            s.add(
                ZcashPermissionRow(
                    provider_url="http://z",
                    provider_name="Zcash provider",
                    permission_id=pid,
                    account=TEST_ADDRESS,
                    pay_address="t1x",
                    payment_uri="zcash:t1x",
                    amount_zat=100_000_000,
                    rate_per_hour_zat=1_000_000,
                    deducted_zat=25_000_000,
                    status=status,
                    expires_at=expires,
                )
            )
    write(ctx.store, [Spent(USDC_FEED, datetime.now(UTC) - timedelta(days=2), 1_250_000)])
    wallet_eth = chain.eth(TEST_ADDRESS)

    page = make_home(qtbot, ctx)
    page.refresh()
    qtbot.waitUntil(lambda: page.balance_table.rowCount() > 0, timeout=TIMEOUT)
    assert balances(page) == [
        ("Wallet", Amount(ETH, wallet_eth).format(), ""),
        ("Escrow", Amount(ETH, ESCROW - 5 * 10**16).format(), "1 channel"),  # 0.25 ETH still available
    ]
    assert page.balance_note.text().startswith("On Test chain, read ")
    assert values(page) == {"ETH": "—"}  # a custom network has no price feeds: no value, never a guess
    assert "No price feeds on Test chain" in page.balance_table.item(0, 2).toolTip()
    assert [label.text() for label, _ in page.spark_lines] == ["1.25 USDC on sandbox"]
    spark = page.spark_lines[0][1]
    assert len(spark.values) == 30 and spark.values[-3] == 1_250_000 and sum(spark.values) == 1_250_000
    text = page.zcash_label.text()
    assert text.startswith("2 active, 1.5 ZEC left to use")
    assert "Next expiry: " + expiry.astimezone().strftime("%Y-%m-%d %H:%M") + " (Zcash provider)" in text
    assert not page.sessions_list.isVisible()  # no session engine: nothing shown


def test_running_sessions_show_their_meters(ctx: AppContext, qtbot: Any, event_loop_qt: Any) -> None:
    usdc = Asset("USDC", 6, "0x" + "ab" * 20)
    running = [Running("Market data feed", "Sandbox provider", usdc, FakeMeter(250_000), 1_000_000)]
    page = make_home(qtbot, ctx, live=lambda: running)
    page.refresh()
    assert page.sessions_list.item(0).text() == "Market data feed — Sandbox provider: 0.25 USDC of 1 USDC"
    running[0].meter.units = 300_001
    qtbot.waitUntil(lambda: "0.300001 USDC of 1 USDC" in page.sessions_list.item(0).text(), timeout=TIMEOUT)
    running.clear()
    qtbot.waitUntil(
        lambda: page.sessions_list.item(0).text().startswith("No session is running"), timeout=TIMEOUT
    )
    assert page.balance_note.text() == "Create or import a wallet to see its balances."
    assert page.spark_empty.text() == "Nothing spent in the last 30 days."
    assert page.zcash_label.text() == "No Zcash spending permission."


def test_home_on_a_cold_sandbox_shows_the_funded_balances_once_it_is_up(
    qtbot: Any, wallet_ctx: AppContext, event_loop_qt: Any
) -> None:
    """Issue 18, item 9: on a first start Home read the balances before the sandbox had deployed its
    contracts and funded the account, showed 0 ETH or "Something went wrong", and never read them again."""
    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.sandbox.launcher import SandboxLauncher
    from paygo_desktop.sandbox.node import find_anvil

    if find_anvil() is None and not os.environ.get("CI"):
        pytest.skip("anvil not installed (npm ci)")
    launcher = SandboxLauncher(wallet_ctx.data_dir)
    assert launcher.running() is None  # cold: nothing runs, no state file
    window = MainWindow(wallet_ctx, poll_network=True, sandbox=launcher)
    qtbot.addWidget(window)
    page = window.home_page
    notes: list[str] = []

    def funded() -> bool:
        notes.append(page.balance_note.text())
        shown = balances(page)
        eth = [amount for where, amount, _ in shown if where == "Wallet" and amount.endswith(" ETH")]
        return (
            ("Wallet", "10,000 USDC", "") in shown
            and bool(eth)
            and Decimal(eth[0].split()[0]) > 99
            and values(page).get("USDC", "").startswith("≈ $")
        )

    try:
        window.start()
        window.show()
        wallet_ctx.wallet.unlock(PASSWORD)
        window.show_app("home")
        try:
            qtbot.waitUntil(funded, timeout=90_000)
        except Exception:
            raise AssertionError(f"balances {balances(page)}, notes {sorted(set(notes))}") from None
        assert any("Waiting for the sandbox" in note for note in notes)
        # the sandbox's own price feeds: every test token valued beside its amount, in dollars
        shown = values(page)
        assert {"ETH", "USDC", "USDT", "DAI", "EURC", "GUSD"} <= set(shown), shown
        assert all(text.startswith("≈ $") for text in shown.values()), shown
        usdc_row = next(
            r
            for r in range(page.balance_table.rowCount())
            if page.balance_table.item(r, 1).toolTip() == "10,000 USDC"
        )
        assert "USDC / USD" in page.balance_table.item(usdc_row, 2).toolTip()
        assert not any("went wrong" in note.lower() for note in notes), set(notes)
    finally:
        window.close()  # the pages' connections are closed first (bounded), then the window
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert launcher.running() is None


def test_recent_activity_shows_sessions_and_transactions_read_off_the_gui_thread(
    wallet_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    """After a session and its deposit, Home's recent lines say so (it said "Nothing has happened yet":
    only the activity log was read), and nothing of Home's reading runs on the GUI thread."""
    from paygo_desktop.gui.blocking_guard import BlockingCallGuard
    from paygo_desktop.store.models import SessionRow
    from tests.reports.test_recent_activity import sent

    ctx = wallet_ctx
    ctx.settings.active_account = TEST_ADDRESS  # on the sandbox, which is not running here
    started = datetime.now(UTC) - timedelta(minutes=3)
    sent(ctx.store, 0, "Deposit 1.8 USDC into your channel", "confirmed", started - timedelta(minutes=1))
    session = add_session(ctx.store, USDC_FEED, started, 11_626)
    with ctx.store.session() as s:
        row = s.get(SessionRow, session)
        assert row is not None
        row.seconds, row.ended_at = 12, started + timedelta(seconds=12)

    assert ctx.network.key == "sandbox"  # read once and kept, as the window does when it opens
    guard = BlockingCallGuard(ctx.store.engine, watch_signing=False).start()
    try:
        page = make_home(qtbot, ctx)
        page.refresh()

        def lines() -> list[str]:
            return [page.activity.item(i).text() for i in range(page.activity.count())]

        qtbot.waitUntil(lambda: len(lines()) == 2, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: page.balance_note.text().startswith("Waiting"), timeout=TIMEOUT)
    finally:
        guard.stop()
    assert lines()[0].endswith(
        f"Session: {USDC_FEED.service_name} with {USDC_FEED.provider_name}, 0.011626 USDC for 12 s"
    )
    assert lines()[1].endswith("Transaction: Deposit 1.8 USDC into your channel, confirmed")
    assert [label.text() for label, _ in page.spark_lines] == []  # nothing written to the spending records
    assert page.balance_note.text() == "Waiting for the sandbox: its chain and contracts are being set up…"
    assert guard.violations == []


def test_hostile_names_stay_one_line_each_and_do_not_widen_the_window(
    wallet_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    """A provider named with 10,000 characters, line breaks, tabs, a bidi override and zero-width characters:
    Home shows each recent entry on one line, the names cut, and the page asks for no more width than with
    plain names."""
    from dataclasses import replace

    from tests.reports.test_recent_activity import HOSTILE, sent

    ctx = wallet_ctx
    ctx.settings.active_account = TEST_ADDRESS
    started = datetime.now(UTC) - timedelta(minutes=3)
    page = make_home(qtbot, ctx)
    page.refresh()
    qtbot.waitUntil(lambda: page.activity.count() > 0, timeout=TIMEOUT)
    assert page.activity.item(0).text() == "Nothing has happened yet."

    def settled() -> bool:  # every part of the page filled (the balances' note too: it is as wide as any)
        busy = page.figures.busy or page.balance_reads.busy
        return not busy and not page.balance_note.text().startswith("Reading")

    qtbot.waitUntil(settled, timeout=TIMEOUT)
    plain_width = page.minimumSizeHint().width()

    hostile = replace(USDC_FEED, provider_name=HOSTILE, service_name=HOSTILE)
    add_session(ctx.store, hostile, started, 11_626)
    sent(ctx.store, 0, "Deposit 1 USDC into the escrow channel with " + HOSTILE, "confirmed", started)
    page.refresh()
    qtbot.waitUntil(lambda: page.activity.count() == 2, timeout=TIMEOUT)
    qtbot.waitUntil(settled, timeout=TIMEOUT)

    texts = [page.activity.item(i).text() for i in range(page.activity.count())]
    assert all(text.isprintable() and "\u202e" not in text and len(text) < 400 for text in texts), texts
    assert "Session: Evil redivorP Fake: 0 USDC x" in texts[0] and "…" in texts[0]
    metrics = page.activity.fontMetrics()
    for i in range(len(texts)):  # one line: as tall as one line of text
        assert page.activity.visualItemRect(page.activity.item(i)).height() < 2 * metrics.height()
    assert page.activity.sizeHintForColumn(0) < 4 * page.width()  # a cut line, not 10,000 characters
    assert page.minimumSizeHint().width() <= plain_width
    assert page.window().width() <= 1100
