"""Activity's "x402 payments" tab: the payments with the request each paid for, and the limits per site,
read off the GUI thread when the tab is shown."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from paygo_desktop.context import AppContext
from paygo_desktop.store.x402 import SETTLED, SitePolicy, X402Payment, X402Store
from tests.gui.helpers import TIMEOUT
from tests.gui.test_activity_page import make_page
from tests.x402_pay.conftest import Env, _deployed, anvil_url, env, runner  # noqa: F401

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


def test_each_payment_says_whether_it_counts_against_the_site_s_limits_and_why(
    qtbot: Any, ctx: AppContext, event_loop_qt: Any
) -> None:
    """As ``x402 list``'s countsAgainstLimits: paid, or a signature the server could still use, counts; a
    lapsed authorization does not, and the row says whether the chain showed it never moved money."""
    from paygo_desktop.commands.x402 import payment_json
    from paygo_desktop.gui.format import local_time

    records = X402Store(ctx.store)
    base = dict(
        origin="https://api.example.com", method="GET", scheme="exact", network="eip155:31337",
        payer="0x" + "11" * 20, pay_to="0x" + "22" * 20, asset=USDC, asset_symbol="USDC", decimals=6,
        amount=25_000, status="pending", tx_hash=None, error=None, settled_at=None,
    )  # fmt: skip
    now, later, lapsed = datetime.now(UTC), 2_000_000_000, 1_000_000_000

    def paid(path: str, valid_before: int) -> int:
        return records.record(
            X402Payment(
                id=0, created_at=now, url=f"https://api.example.com/{path}", nonce="0x" + path.encode().hex(),
                valid_before=valid_before, **base,
            )
        )  # fmt: skip

    records.finish(paid("paid", later), SETTLED, tx_hash="0x" + "44" * 32)
    records.finish(paid("paid-long-ago", lapsed), SETTLED, tx_hash="0x" + "55" * 32)  # counts for good
    records.finish(paid("said-failed", later), "failed", error="the server said it failed")
    paid("lapsed", lapsed)  # left pending; its authorization lapsed, the chain not asked yet
    never = paid("never-moved", lapsed)
    records.finish(never, "failed", error="not delivered")
    records.mark_never_moves(never)
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    model = page.x402.payments
    qtbot.waitUntil(lambda: model.rowCount() == 5 and not page.runner.busy, timeout=TIMEOUT)
    assert model.headerData(5, Qt.Orientation.Horizontal) == "Counts against limits"
    shown = {model.cell(r, 2): (model.cell(r, 5), model.tooltip(r, 5)) for r in model.rows}
    until = local_time(datetime.fromtimestamp(later, UTC))
    assert {request: cell for request, (cell, _tip) in shown.items()} == {
        "GET /paid": "Yes",
        "GET /paid-long-ago": "Yes",
        "GET /said-failed": f"Yes, until {until}",
        "GET /lapsed": "No: lapsed unused",
        "GET /never-moved": "No: never moved",
    }
    tips = {request: tip for request, (_cell, tip) in shown.items()}
    assert tips["GET /paid"] == "Counts against this site's limits: yes, the money moved."
    assert "could still use it until then" in tips["GET /said-failed"]
    assert "lapsed without a settlement" in tips["GET /lapsed"]
    assert "never moved money" in tips["GET /never-moved"]
    # the same answer as the command line's
    cli = {
        f"GET /{p.url.rsplit('/', 1)[1]}": payment_json(p)["countsAgainstLimits"] for p in records.payments()
    }
    assert {request: cell.startswith("Yes") for request, (cell, _tip) in shown.items()} == cli


def _signed_payment(account: Any, status: str = SETTLED) -> X402Payment:
    """A payment as the payer keeps it: the authorization really signed by ``account`` (EIP-3009 under the
    USDC domain), the server's quote as JSON; the settlement's transaction is made up (no chain here)."""
    import json

    from eth_account import Account

    from paygo_desktop.receipts.x402_proof import authorization_typed_data

    auth = {
        "from": account.address,
        "to": "0x" + "22" * 20,
        "value": "25000",
        "validAfter": "0",
        "validBefore": "2000000000",
        "nonce": "0x" + "33" * 32,
    }
    typed = authorization_typed_data(31337, USDC, {"name": "USDC", "version": "2"}, auth)
    signature = "0x" + bytes(Account.sign_typed_data(account.key, full_message=typed).signature).hex()
    quote = {
        "scheme": "exact",
        "network": "eip155:31337",
        "asset": USDC,
        "amount": "25000",
        "payTo": "0x" + "22" * 20,
        "maxTimeoutSeconds": 300,
        "extra": {"name": "USDC", "version": "2"},
    }
    return X402Payment(
        id=0,
        created_at=datetime.now(UTC),
        origin="https://api.example.com",
        url="https://api.example.com/v1/quote?symbol=ETH",
        method="GET",
        scheme="exact",
        network="eip155:31337",
        payer=account.address,
        pay_to="0x" + "22" * 20,
        asset=USDC,
        asset_symbol="USDC",
        decimals=6,
        amount=25_000,
        nonce=auth["nonce"],
        valid_before=2_000_000_000,
        status="pending",
        tx_hash=None,
        error=None,
        settled_at=None,
        valid_after=0,
        signature=signature,
        requirements=json.dumps(quote),
    )


def test_the_chosen_payment_shows_its_proof_check_and_exports_it(
    qtbot: Any, wallet_ctx: AppContext, event_loop_qt: Any, tmp_path: Path
) -> None:
    from paygo_desktop.receipts.proof import read_proof
    from paygo_desktop.receipts.verify import verify_file
    from tests.gui.conftest import PASSWORD, TEST_ADDRESS

    ctx = wallet_ctx
    ctx.wallet.unlock(PASSWORD)
    records = X402Store(ctx.store)
    payment = _signed_payment(ctx.wallet.local_account(TEST_ADDRESS))
    pending = records.record(payment)
    settled = records.record(payment)
    records.finish(settled, SETTLED, tx_hash="0x" + "44" * 32)
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    panel = page.x402
    qtbot.waitUntil(lambda: panel.payments.rowCount() == 2 and not page.runner.busy, timeout=TIMEOUT)
    assert not panel.proof_button.isEnabled() and "Choose a payment" in panel.proof_check.text()

    [row] = [i for i, p in enumerate(panel.payments.rows) if p.id == settled]
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: panel.proof is not None and not page.runner.busy, timeout=TIMEOUT)
    assert panel.proof_check.text().splitlines() == [
        "✓ This payment's proof checks out: signed by you, for what the server asked",
        "✓ The authorization is signed by its payer (EIP-3009, under the token's EIP-712 domain)",
        "✓ The authorization pays the server's payTo",
        "✓ The authorization's value is the amount the server asked",
    ]
    assert panel.proof_button.isEnabled() and panel.chain_button.isEnabled()

    target = tmp_path / "x402-proof.json"
    panel.export_proof(path=str(target))
    qtbot.waitUntil(lambda: target.exists() and not page.runner.busy, timeout=TIMEOUT)
    assert verify_file(target.read_bytes()).ok
    assert read_proof(target.read_bytes())["settlement"] == {"txHash": "0x" + "44" * 32}
    assert panel.message.text() == f"Wrote the payment's proof to {target}."

    [row] = [i for i, p in enumerate(panel.payments.rows) if p.id == pending]
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: "No proof" in panel.proof_check.text() and not page.runner.busy, timeout=TIMEOUT)
    assert f"x402 payment {pending} is not settled" in panel.proof_check.text()
    assert not panel.proof_button.isEnabled() and not panel.chain_button.isEnabled()

    # a locked wallet: the export says so, writes nothing
    [row] = [i for i, p in enumerate(panel.payments.rows) if p.id == settled]
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: panel.proof is not None and not page.runner.busy, timeout=TIMEOUT)
    ctx.wallet.lock()
    again = tmp_path / "locked.json"
    panel.export_proof(path=str(again))
    qtbot.waitUntil(lambda: not page.runner.busy and "locked" in panel.message.text(), timeout=TIMEOUT)
    assert not again.exists()


def test_check_on_chain_agrees_for_a_payment_settled_on_anvil(
    qtbot: Any,
    ctx: AppContext,
    env: Env,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    """A real payment to a server built only from the SDK (settled on anvil), then its proof checked on
    chain from the tab: the token's domain, AuthorizationUsed and the Transfer in the settlement."""
    from tests.x402_pay.conftest import on_test_chain, pay_sdk_server

    on_test_chain(ctx, env)
    # Qt's loop is running here: the payment runs on a loop of its own, in a thread
    paid = pay_sdk_server(env, ctx.store, 25_000, in_thread=True)
    assert paid is not None and paid.payment is not None and paid.payment.status == SETTLED

    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    panel = page.x402
    qtbot.waitUntil(lambda: panel.payments.rowCount() == 1 and not page.runner.busy, timeout=TIMEOUT)
    panel.table.selectRow(0)
    qtbot.waitUntil(lambda: panel.proof is not None and not page.runner.busy, timeout=TIMEOUT)
    panel.chain_button.click()
    qtbot.waitUntil(lambda: "the chain agrees" in panel.proof_check.text(), timeout=TIMEOUT)
    lines = panel.proof_check.text().splitlines()
    assert len(lines) == 1 + 3 + 5 and all(line.startswith("✓") for line in lines), lines
    assert "✓ The token moved exactly the authorized value from the payer to payTo in it" in lines
