# ruff: noqa: F811 - pytest fixtures are imported and used as parameters
"""Money in the app's pages, with real widgets against a real anvil: values beside amounts (Escrow) from
price feeds the test deploys and moves, a token added by address (look-alike warnings before it is kept),
the on-chain movements on Activity (incoming transfers from another account, seen again after a restart,
and their CSV), each provider's record on Services, and the display currency in Settings."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.sandbox.node import find_anvil
from tests.gui.conftest import PASSWORD, TEST_ADDRESS
from tests.gui.escrow_chain import (  # noqa: F401 - fixtures
    TIMEOUT,
    Chain,
    anvil_url,
    chain,
    escrow_chain,
    fast,
    wait_loaded,
)
from tests.gui.helpers import click
from tests.services.test_catalog import reference_provider  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)
OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil's third account: someone who pays this wallet


def deploy(chain: Chain, artifact: str, *args: Any) -> str:
    """A contract from resources/contracts, deployed by the chain's deployer (eth_sendTransaction)."""
    from eth_abi import encode as abi_encode

    from paygo_desktop.chain.artifacts import load_artifact

    art = load_artifact(artifact)
    types = (
        [i["type"] for i in next(e for e in art.abi if e["type"] == "constructor")["inputs"]] if args else []
    )
    data = art.bytecode + (abi_encode(types, list(args)).hex() if args else "")
    tx = chain.rpc("eth_sendTransaction", [{"from": chain.deployer, "data": data, "gas": hex(5_000_000)}])
    return str(mined(chain, tx)["contractAddress"])


def mined(chain: Chain, tx: str) -> Any:
    deadline = time.monotonic() + 20
    while (receipt := chain.rpc("eth_getTransactionReceipt", [tx])) is None:
        assert time.monotonic() < deadline, f"{tx} was not mined"
        chain.rpc("evm_mine")
    assert receipt["status"] == "0x1", receipt
    return receipt


def call(chain: Chain, sender: str, to: str, signature: str, types: list[str], args: list[Any]) -> None:
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    data = keccak(text=signature)[:4] + abi_encode(types, args)
    chain.rpc(
        "eth_sendTransaction", [{"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(500_000)}]
    )


def first_round_time(chain: Chain, feed: str) -> int:
    """The updatedAt of a MockAggregator's latest round (its first, until it is moved)."""
    from eth_utils import keccak

    call = {"to": feed, "data": "0x" + keccak(text="latestRoundData()")[:4].hex()}
    raw = chain.rpc("eth_call", [call, "latest"])
    return int(raw[2 + 64 * 3 : 2 + 64 * 4], 16)


def utc_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def sandbox_with_feeds(ctx: AppContext, chain: Chain, tokens: dict[str, str] | None = None) -> dict[str, str]:
    """The context's Sandbox network made this chain, with price feeds (ETH at $3,000, USDC at $1) in its
    state file as ``paygo-desktop sandbox`` writes them."""
    from paygo_desktop.sandbox.state import SandboxState, write_state
    from paygo_desktop.store.deployments import DeploymentRepository

    feeds = {
        "ETH": deploy(chain, "MockAggregator", 8, "ETH / USD", 3_000 * 10**8),
        "USDC": deploy(chain, "MockAggregator", 8, "USDC / USD", 10**8),
    }
    ctx.data_dir.sandbox_dir.mkdir(parents=True, exist_ok=True)
    write_state(
        ctx.data_dir.sandbox_dir,
        SandboxState(
            rpc_url=chain.url,
            provider_url="http://127.0.0.1:9",
            chain_id=31337,
            vault=chain.vault,
            usdc=chain.usdc,
            owner_pid=os.getpid(),
            node_pid=0,
            provider_pid=0,
            started_at=time.time(),
            tokens={"USDC": chain.usdc, **(tokens or {})},
            feeds=feeds,
        ),
    )
    deployments = DeploymentRepository(ctx.store)
    deployments.save("sandbox", 31337, "PayGoVault", chain.vault)
    deployments.save("sandbox", 31337, "TestUSDC", chain.usdc)
    return feeds


def open_window(qtbot: Any, ctx: AppContext) -> Any:
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(ctx, poll_network=False)
    qtbot.addWidget(window)
    window.start()
    window.show()
    if ctx.wallet.is_locked:
        ctx.wallet.unlock(PASSWORD)
    window.show_app("home")
    return window


def settle(qtbot: Any, window: Any) -> None:
    for page in window.pages.values():
        for timer in (getattr(page, "watch_timer", None), getattr(page, "countdown_timer", None)):
            if timer is not None:
                timer.stop()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)


@pytest.fixture
def window(qtbot: Any, wallet_ctx: AppContext, chain: Chain, event_loop_qt: Any) -> Iterator[Any]:
    sandbox_with_feeds(wallet_ctx, chain)
    window = open_window(qtbot, wallet_ctx)
    yield window
    settle(qtbot, window)


def test_escrow_shows_each_balance_with_its_value_beside_it(qtbot: Any, window: Any, chain: Chain) -> None:
    page = fast(window.pages["escrow"])
    window.show_page("escrow")
    wait_loaded(qtbot, page)
    labels = {label.accessibleName(): label for label in page.balance_labels}
    usdc = labels["Balance USDC"]
    assert "1,000 USDC" in usdc.text() and "≈ $1,000.00" in usdc.text()  # the amount, and its value
    assert "USDC / USD" in usdc.toolTip()
    assert "≈ $" in labels["Balance ETH"].text()


def test_a_look_alike_token_is_warned_about_and_kept_only_once_confirmed(
    qtbot: Any,
    window: Any,
    chain: Chain,
) -> None:
    fake = deploy(chain, "TestToken", "USD Coin", "USDС", 6)  # a Cyrillic С
    call(
        chain,
        chain.deployer,
        fake,
        "mint(address,uint256)",
        ["address", "uint256"],
        [TEST_ADDRESS, 5 * 10**6],
    )
    page = fast(window.pages["escrow"])
    window.show_page("escrow")
    wait_loaded(qtbot, page)
    click(qtbot, page.add_token_button)
    dialog = page.dialog
    dialog.address.setText(fake)
    click(qtbot, dialog.read_button)
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=TIMEOUT)
    assert "USDС (USD Coin), 6 decimals" in dialog.summary.text()
    assert "CYRILLIC CAPITAL LETTER ES" in dialog.warnings.text()
    assert "reads like USDC, but it is not the USDC this app knows" in dialog.warnings.text()
    assert not dialog.add_button.isEnabled() and dialog.checked.isVisible()
    dialog.checked.setChecked(True)
    assert dialog.add_button.isEnabled()
    before = page.overview
    click(qtbot, dialog.add_button)
    wait_loaded(qtbot, page, before)
    assert "5 USDС" in " ".join(label.text() for label in page.balance_labels)


def test_incoming_transfers_appear_in_activity_and_again_after_a_restart_and_in_the_csv(
    qtbot: Any,
    wallet_ctx: AppContext,
    chain: Chain,
    tmp_path: Path,
    event_loop_qt: Any,
) -> None:
    feeds = sandbox_with_feeds(wallet_ctx, chain)
    call(
        chain,
        chain.deployer,
        chain.usdc,
        "mint(address,uint256)",
        ["address", "uint256"],
        [OTHER, 100 * 10**6],
    )
    call(
        chain,
        OTHER,
        chain.usdc,
        "transfer(address,uint256)",
        ["address", "uint256"],
        [TEST_ADDRESS, 12_500_000],
    )
    chain.rpc("eth_sendTransaction", [{"from": OTHER, "to": TEST_ADDRESS, "value": hex(10**18)}])

    def movements(window: Any) -> Any:
        window.show_page("activity")
        page = window.pages["activity"]
        page.tabs.setCurrentWidget(page.movements)
        panel = page.movements
        qtbot.waitUntil(lambda: panel.model.rowCount() > 0 and not panel._loading, timeout=TIMEOUT)
        return panel

    window = open_window(qtbot, wallet_ctx)
    panel = movements(window)
    rows = {(panel.model.cell(r, 1), panel.model.cell(r, 2)): r for r in panel.model.rows}
    assert ("Received", "12.5 USDC") in rows and ("Received", "1 ETH") in rows
    usdc = rows[("Received", "12.5 USDC")]
    assert panel.model.cell(usdc, 3) == "≈ $12.50" and usdc.counterparty == OTHER
    assert "every ETH movement" in panel.note.text()
    settle(qtbot, window)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    data_dir = wallet_ctx.data_dir
    wallet_ctx.close()  # the app quits

    call(
        chain,
        OTHER,
        chain.usdc,
        "transfer(address,uint256)",
        ["address", "uint256"],
        [TEST_ADDRESS, 3_000_000],
    )
    again = AppContext.open(data_dir)  # and starts again, on the same data directory
    try:
        window = open_window(qtbot, again)
        panel = movements(window)
        qtbot.waitUntil(lambda: panel.model.rowCount() >= 3, timeout=TIMEOUT)
        amounts = [panel.model.cell(r, 2) for r in panel.model.rows if r.direction == "in"]
        # the 1,000 test USDC minted to it at the chain's set-up, the two transfers and the ETH from the other
        # account, and the one that came while the app was closed: each once
        assert sorted(amounts) == ["1 ETH", "1,000 USDC", "12.5 USDC", "3 USDC"]
        out = tmp_path / "movements.csv"
        panel.export_csv(path=str(out))
        qtbot.waitUntil(lambda: out.exists() and "Exported" in panel.message.text(), timeout=TIMEOUT)
        table = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
        received = sorted(
            Decimal(r["Amount"]) for r in table if r["Direction"] == "in" and r["Token"] == "USDC"
        )
        assert received == [Decimal("3"), Decimal("12.5"), Decimal("1000")]
        values = {Decimal(r["Amount"]): r for r in table if r["Direction"] == "in" and r["Token"] == "USDC"}
        assert (
            values[Decimal("3")]["Fiat value"] == "3.00" and values[Decimal("12.5")]["Fiat value"] == "12.50"
        )
        # The 1,000 USDC were minted when the chain was set up, before this test deployed its feeds: valued
        # only where the feed's first round was already in force at their block (the same second), never
        # with a price from after it.
        minted = values[Decimal("1000")]
        in_force = minted["Date (UTC)"] >= utc_text(first_round_time(chain, feeds["USDC"]))
        assert minted["Fiat value"] == ("1000.00" if in_force else "")
        settle(qtbot, window)
        window.close()
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    finally:
        again.close()


def test_each_provider_s_record_is_shown_beside_its_services(
    qtbot: Any,
    unlocked_window: Any,
    reference_provider: str,
) -> None:
    from paygo_desktop.store.provider_notes import ProviderNote, ProviderNotes

    notes = [
        ProviderNote(reference_provider, reference_provider, "Ref", "session", f"s{i}", verdict, "said")
        for i, verdict in enumerate(("agreed", "agreed", "over_claimed"))
    ]
    ProviderNotes(unlocked_window.ctx.store).add(notes)
    unlocked_window.show_page("services")
    page = unlocked_window.pages["services"]
    page.provider_url.setText(reference_provider)
    click(qtbot, page.add_button)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and bool(page.model.records), timeout=15_000)
    column = page.model.columns.index("Provider's record")
    assert {page.model.cell(e, column) for e in page.model.rows} == {"2 agreed · 1 over-claim"}
    assert "Last: said" in (page.model.tooltip(page.model.rows[0], column) or "")


def test_the_display_currency_is_chosen_in_settings(qtbot: Any, unlocked_window: Any) -> None:
    from paygo_desktop.settings import Settings

    unlocked_window.show_page("settings")
    page = unlocked_window.pages["settings"]
    combo = page.currency_combo
    combo.setCurrentIndex(combo.findData("EUR"))
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: not unlocked_window.runner.busy, timeout=TIMEOUT)
    assert unlocked_window.ctx.settings.display_currency == "EUR"
    assert Settings.load(unlocked_window.ctx.data_dir.settings_file).display_currency == "EUR"


def test_past_sessions_show_their_value_when_they_ended_and_the_csv_carries_the_price(
    qtbot: Any, window: Any, chain: Chain, tmp_path: Path
) -> None:
    from dataclasses import replace

    from paygo_desktop.metering.meter import Price
    from paygo_desktop.money import Asset
    from paygo_desktop.sessions.history import SessionHistory
    from paygo_desktop.sessions.status import SessionStatus
    from paygo_desktop.sessions.terms import Funding, SessionTerms
    from tests.reports.spending_data import USDC_FEED, Spent, add_session, write

    ctx = window.ctx
    feeds = sandbox_with_feeds(ctx, chain)  # fresh ones: the fixture's were deployed before
    ctx.invalidate_network()
    priced_at = first_round_time(chain, feeds["USDC"])
    terms = SessionTerms(
        account=TEST_ADDRESS, network="sandbox", provider_url="http://127.0.0.1:1",
        provider_name="Test provider", provider_address=None, service_id="svc", service_name="Radio",
        category="data", service_type="data", asset=Asset("USDC", 6, chain.usdc),
        price=Price(1000, "per_second"), tick_seconds=1, grace_seconds=3, cap=50 * 10**6,
        funding=Funding.ESCROW, chain_id=31337,
    )  # fmt: skip
    history = SessionHistory(ctx.store)
    for local_id, ended in (("fresh", priced_at + 60), ("stale", priced_at + 3 * 3600)):
        at = datetime.fromtimestamp(ended, UTC)
        history.create(local_id, replace(terms, service_name=local_id.capitalize()), at)
        history.update(local_id, cost=12_345_678, seconds=60, status=SessionStatus.STOPPED, ended_at=at)

    page = window.pages["sessions"]
    window.show_page("sessions")
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 and page.model.prices is not None, timeout=TIMEOUT)
    cost = {r.local_id: page.model.cell(r, 4) for r in page.model.rows}
    assert cost == {"fresh": "12.345678 USDC (≈ $12.35)", "stale": "12.345678 USDC (—)"}
    fresh_row = next(r for r in page.model.rows if r.local_id == "fresh")
    assert "USDC / USD" in (page.model.tooltip(fresh_row, 4) or "")

    out = tmp_path / "sessions.csv"
    page.export_csv(path=str(out))
    qtbot.waitUntil(lambda: out.exists() and "Exported 2" in page.message.text(), timeout=TIMEOUT)
    rows = {r["local_id"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8"), newline=""))}
    assert rows["fresh"]["cost"] == "12.345678" and rows["fresh"]["fiat_value"] == "12.35"
    assert rows["fresh"]["fiat_currency"] == "USD" and rows["fresh"]["price_per_unit"] == "1"
    assert rows["fresh"]["price_time_utc"] == utc_text(priced_at).replace(" ", "T") + "Z"
    assert feeds["USDC"] in rows["fresh"]["price_source"]
    assert rows["stale"]["fiat_value"] == "" and "no fresh price" in rows["stale"]["fiat_note"]

    # Activity: the total spent in the range, with its value now beside it
    kind = replace(USDC_FEED, address=chain.usdc)
    now = datetime.now(UTC)
    write(ctx.store, [Spent(kind, now, 2_500_000, 0)], [add_session(ctx.store, kind, now, 2_500_000)])
    activity = window.pages["activity"]
    window.show_page("activity")
    activity.refresh()
    qtbot.waitUntil(lambda: "at today's price" in activity.summary.text(), timeout=TIMEOUT)
    assert activity.summary.text().startswith("2.5 USDC spent (≈ $2.50 at today's price)")
    assert "USDC / USD" in activity.summary.toolTip()
    # the breakdown's amounts carry their value too, once both are read
    qtbot.waitUntil(
        lambda: not activity.breakdown_pending and activity.breakdown.rowCount() == 1, timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: "≈" in activity.breakdown.item(0, 1).text(), timeout=TIMEOUT)
    assert activity.breakdown.item(0, 1).text() == "2.5 USDC (≈ $2.50)"
    assert "USDC / USD" in activity.breakdown.item(0, 1).toolTip()
    settle(qtbot, window)
