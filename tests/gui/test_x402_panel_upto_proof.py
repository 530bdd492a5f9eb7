"""Activity's x402 tab with an ``upto`` payment settled on anvil (a server built only from the SDK): its
proof (kind x402-upto) checks out in the tab, the chain agrees (Permit2's nonce spent), and Export writes
the file sealed by the payer, which verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paygo_desktop.context import AppContext
from paygo_desktop.store.x402 import SETTLED
from tests.gui.helpers import TIMEOUT
from tests.gui.test_activity_page import make_page
from tests.x402_pay.conftest import Env, _deployed, anvil_url, env, runner  # noqa: F401


def test_an_upto_payment_s_proof_checks_on_chain_and_exports_from_the_tab(
    qtbot: Any,
    wallet_ctx: AppContext,
    env: Env,  # noqa: F811
    event_loop_qt: Any,
    tmp_path: Path,
) -> None:
    from paygo_desktop.receipts.proof import read_proof
    from paygo_desktop.receipts.verify import verify_file
    from tests.gui.conftest import PASSWORD
    from tests.x402_pay.conftest import on_test_chain, pay_sdk_server
    from tests.x402_pay.test_app_pays_upto import MAX, USED

    ctx = wallet_ctx  # holding the payer's key, unlocked: Export seals with it
    ctx.wallet.import_private_key(env.payer.key.hex(), PASSWORD, "Payer")
    ctx.wallet.unlock(PASSWORD)
    on_test_chain(ctx, env)
    # Qt's loop is running here: the approval and the payment run in a thread
    paid = pay_sdk_server(
        env, ctx.store, MAX, permit2_allowance=10 * MAX, in_thread=True, scheme="upto", settle=USED
    )
    assert paid is not None and paid.payment is not None
    assert paid.payment.status == SETTLED and paid.payment.settled_amount == USED

    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    panel = page.x402
    qtbot.waitUntil(lambda: panel.payments.rowCount() == 1 and not page.runner.busy, timeout=TIMEOUT)
    panel.table.selectRow(0)
    qtbot.waitUntil(lambda: panel.proof is not None and not page.runner.busy, timeout=TIMEOUT)
    assert panel.proof_check.text().startswith("✓ This payment's proof checks out"), panel.proof_check.text()
    panel.chain_button.click()
    qtbot.waitUntil(lambda: "the chain agrees" in panel.proof_check.text(), timeout=TIMEOUT)
    lines = panel.proof_check.text().splitlines()
    assert len(lines) == 1 + 6 + 5 and all(line.startswith("✓") for line in lines), lines
    assert "✓ Permit2 has spent this authorization's nonce (nonceBitmap)" in "\n".join(lines)

    target = tmp_path / "upto-proof.json"
    panel.export_proof(path=str(target))
    qtbot.waitUntil(lambda: target.exists() and not page.runner.busy, timeout=TIMEOUT)
    assert panel.message.text() == f"Wrote the payment's proof to {target}."
    assert verify_file(target.read_bytes()).ok
    assert read_proof(target.read_bytes())["settlement"]["amount"] == str(USED)
