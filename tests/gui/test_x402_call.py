"""Services → Call… on a per-request service: the page lists it at its price per request, the button calls
instead of starting a session, and "Pay and call" pays the reference provider on anvil (x402, the price
shown as the cap) and shows the service's answer; the money moves on chain."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from paygo_desktop.changes import X402_PAID, Changes
from paygo_desktop.context import AppContext
from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.store.x402 import SETTLED, X402Store
from tests.gui.helpers import TIMEOUT
from tests.x402_pay.conftest import Env, _deployed, anvil_url, balance_by_rpc, env, on_test_chain, runner  # noqa: F401
from tests.x402_pay.test_sdk_client_pays_provider import PRICE, SERVICE, seller  # noqa: F401


def test_call_a_per_request_service_from_the_services_page(
    qtbot: Any,
    ctx: AppContext,
    env: Env,  # noqa: F811
    seller: Any,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.services_page import ServicesPage

    server, _seen = seller
    ctx.wallet.import_private_key("0x" + bytes(env.payer.key).hex(), "x402 test password", "Payer")
    ctx.wallet.unlock("x402 test password")
    on_test_chain(ctx, env)
    ctx.settings.providers = [server.url]

    tasks = TaskRunner()
    page = ServicesPage(ctx, tasks, start_session=lambda *_: None)
    page.runner_ref = tasks  # type: ignore[attr-defined]
    qtbot.addWidget(page)
    announced: list[Changes] = []  # what the page tells the window's announcer
    page.announcer = SimpleNamespace(announce=announced.append)  # type: ignore[assignment]
    page.show()
    page.load(force=True)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and not tasks.busy, timeout=TIMEOUT)
    row = next(i for i, e in enumerate(page.model.rows) if e.service.id == SERVICE)
    assert page.model.cell(page.model.rows[row], 4) == "0.015 USDC / request"
    assert page.model.cell(page.model.rows[row], 5) == "per request (x402)"
    page.table.selectRow(row)
    assert page.start_button.text() == "Call…" and page.start_button.isEnabled()

    before = balance_by_rpc(env, env.provider.address)
    page.start_selected()
    dialog = page.call_dialog
    dialog.path.setText("today?city=Oslo")
    # the call runs on the loop (quitting can end it), its SQL, key and signing in worker threads
    guard = BlockingCallGuard(ctx.store.engine, watch_signing=True).start()
    try:
        dialog.call()
        qtbot.waitUntil(lambda: dialog.answer.toPlainText() != "" and not tasks.busy, timeout=30_000)
    finally:
        guard.stop()
    assert guard.violations == []
    assert '"forecast":"sunny"' in dialog.answer.toPlainText().replace(" ", "")
    assert balance_by_rpc(env, env.provider.address) == before + PRICE
    [payment] = X402Store(ctx.store).payments()
    assert payment.status == SETTLED and payment.url.endswith(f"/x402/{SERVICE}/today?city=Oslo")
    assert X402_PAID in announced  # Activity's x402 list, spending and log are read again
    dialog.close()
