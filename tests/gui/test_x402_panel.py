"""Activity's "x402 payments" tab: the payments with the request each paid for, and the limits per site,
read off the GUI thread when the tab is shown."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from paygo_desktop.context import AppContext
from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Payment, X402Store
from tests.gui.helpers import TIMEOUT
from tests.gui.test_activity_page import make_page

USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_x402_tab_lists_payments_and_limits(
    qtbot: Any, ctx: AppContext, event_loop_qt: Any, tmp_path: Path
) -> None:
    records = X402Store(ctx.store)
    records.save_policy(SitePolicy("https://api.example.com", 31337, USDC, "USDC", 6, max_per_day=1_500_000))
    payment_id = records.record(
        X402Payment(
            id=0,
            created_at=datetime.now(UTC),
            origin="https://api.example.com",
            url="https://api.example.com/v1/quote?symbol=ETH",
            method="GET",
            scheme="exact",
            network="eip155:31337",
            payer="0x" + "11" * 20,
            pay_to="0x" + "22" * 20,
            asset=USDC,
            asset_symbol="USDC",
            decimals=6,
            amount=25_000,
            nonce="0x" + "33" * 32,
            valid_before=2_000_000_000,
            status="pending",
            tx_hash=None,
            error=None,
            settled_at=None,
        )
    )
    records.finish(payment_id, SETTLED, tx_hash="0x" + "44" * 32)
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    qtbot.waitUntil(lambda: page.x402.payments.rowCount() == 1 and not page.runner.busy, timeout=TIMEOUT)
    cells = [page.x402.payments.cell(page.x402.payments.rows[0], c) for c in range(1, 5)]
    assert cells == ["https://api.example.com", "GET /v1/quote?symbol=ETH", "0.025 USDC", "Paid"]
    limits = page.x402.limits
    assert limits.rowCount() == 1
    assert [limits.cell(limits.rows[0], c) for c in range(5)] == [
        "https://api.example.com",
        "No limit",
        "1.5 USDC",
        "No limit",
        "No",
    ]
    target = tmp_path / "x402.csv"
    page.x402.export_csv(path=str(target))
    qtbot.waitUntil(lambda: target.exists() and not page.runner.busy, timeout=TIMEOUT)
    rows = list(csv.reader(io.StringIO(target.read_text("utf-8"))))
    assert len(rows) == 2 and rows[1][2] == "https://api.example.com/v1/quote?symbol=ETH"
    assert rows[1][9:13] == ["0.025", "25000", "6", "settled"]


def test_an_upto_payment_shows_what_it_settled_of_its_maximum(
    qtbot: Any, ctx: AppContext, event_loop_qt: Any, tmp_path: Path
) -> None:
    records = X402Store(ctx.store)
    base = dict(
        origin="https://api.example.com", method="GET", scheme="upto", network="eip155:31337",
        payer="0x" + "11" * 20, pay_to="0x" + "22" * 20, asset=USDC, asset_symbol="USDC", decimals=6,
        amount=50_000, valid_before=2_000_000_000, status="pending", tx_hash=None, error=None,
        settled_at=None,
    )  # fmt: skip
    now = datetime.now(UTC)
    settled = records.record(
        X402Payment(id=0, created_at=now, url="https://api.example.com/a", nonce="0x01", **base)
    )
    records.finish(settled, SETTLED, tx_hash="0x" + "44" * 32, settled_amount=20_000)
    records.record(X402Payment(id=0, created_at=now, url="https://api.example.com/b", nonce="0x02", **base))
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    qtbot.waitUntil(lambda: page.x402.payments.rowCount() == 2 and not page.runner.busy, timeout=TIMEOUT)
    shown = {page.x402.payments.cell(r, 2): page.x402.payments.cell(r, 3) for r in page.x402.payments.rows}
    assert shown == {"GET /a": "0.02 USDC of at most 0.05 USDC", "GET /b": "at most 0.05 USDC"}
    target = tmp_path / "x402.csv"
    page.x402.export_csv(path=str(target))
    qtbot.waitUntil(lambda: target.exists() and not page.runner.busy, timeout=TIMEOUT)
    rows = {r[2]: r for r in csv.reader(io.StringIO(target.read_text("utf-8")))}
    assert rows["https://api.example.com/a"][9:11] + rows["https://api.example.com/a"][15:] == [
        "0.05", "50000", "0.02", "20000",
    ]  # fmt: skip
    assert rows["https://api.example.com/b"][15:] == ["", ""]
