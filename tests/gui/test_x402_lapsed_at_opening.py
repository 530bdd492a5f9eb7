"""The app looks up x402 payments whose authorization lapsed on the server's word when it opens and when
its x402 payments are shown (``gui.x402_lapsed``), in the background, with no new payment to their site:
- a payment a real kill left pending (``x402 get`` killed with SIGKILL after its signed authorization
  reached a server built only from the SDK, which then settled it on anvil) is found settled and booked
  when the app next opens, and Activity's figures show it (read again from the announced change);
- with the network's node away, the app opens as usual: the payment stays as it was and nothing is shown;
- opening Activity's x402 tab closes an unspent lapsed payment: its row says it never moved money."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.networks import custom_network
from paygo_desktop.store.x402 import FAILED, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.wallet import KdfParams, Wallet
from paygo_desktop.x402.lapsed import SPENT_NOTE
from tests.chain.conftest import _free_port
from tests.gui.helpers import TIMEOUT
from tests.gui.test_activity_page import make_page
from tests.x402_pay.conftest import Env, _deployed, anvil_url, env, on_test_chain, runner, x402_spending  # noqa: F401
from tests.x402_pay.test_cli import PASSWORD, _data_dir
from tests.x402_pay.test_kill_during_payment import PRICE
from tests.x402_pay.test_lapsed_at_opening import killed_after_it_settled, wait_until_lapsed


def _open(qtbot: Any, ctx: AppContext) -> Any:
    """The real window on ``ctx``, unlocked, on the Activity page: the app opening."""
    from paygo_desktop.gui.main_window import MainWindow

    window = MainWindow(ctx, poll_network=False)
    qtbot.addWidget(window)
    window.start()
    window.show()
    ctx.wallet.unlock(PASSWORD)
    window.show_app("activity")
    return window


@pytest.fixture
def app_ctx(env: Env, tmp_path: Path) -> Iterator[AppContext]:  # noqa: F811
    data = _data_dir(env, tmp_path)
    ctx = AppContext.open(data)
    ctx.__dict__["wallet"] = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    yield ctx
    ctx.close()


def _lapsed_pending(ctx: AppContext, env: Env) -> X402Payment:  # noqa: F811
    """A payment pending on the server's word whose authorization lapsed, never submitted."""
    records = X402Store(ctx.store)
    payment_id = records.record(
        X402Payment(
            id=0, created_at=datetime.now(UTC), origin="http://127.0.0.1:9", url="http://127.0.0.1:9/paid",
            method="GET", scheme="exact", network=f"eip155:{env.chain_id}", payer=env.payer.address,
            pay_to=env.provider.address, asset=env.usdc, asset_symbol="USDC", decimals=6, amount=PRICE,
            nonce="0x" + os.urandom(32).hex(), valid_before=env.chain_time() - 5, status=PENDING,
            tx_hash=None, error=None, settled_at=None,
        )
    )  # fmt: skip
    found = records.payment(payment_id)
    assert found is not None
    return found


def test_the_app_opening_settles_and_books_a_payment_a_kill_left_pending(
    qtbot: Any,
    env: Env,  # noqa: F811
    tmp_path: Path,
    event_loop_qt: Any,
) -> None:
    data, payment = killed_after_it_settled(env, tmp_path / "killed")
    wait_until_lapsed(payment)
    ctx = AppContext.open(data)
    ctx.__dict__["wallet"] = Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4))
    try:
        window = _open(qtbot, ctx)
        page = window.pages["activity"]
        records = X402Store(ctx.store)

        def settled() -> bool:
            found = records.payment(payment.id)
            return found is not None and found.status == SETTLED

        qtbot.waitUntil(settled, timeout=30_000)
        found = records.payment(payment.id)
        assert found is not None and (found.settled_amount, found.error) == (PRICE, SPENT_NOTE)
        total, lines = x402_spending(ctx.store)
        assert total == PRICE and len(lines) == 1 and SPENT_NOTE in lines[0]  # booked once, as the payer does
        # Activity's figures are read again from the announced change, showing what moved
        qtbot.waitUntil(
            lambda: page.data is not None and page.data.total is not None and page.data.total.units == PRICE,
            timeout=TIMEOUT,
        )
        qtbot.waitUntil(lambda: not window.x402_lapsed.running, timeout=TIMEOUT)
    finally:
        ctx.close()


def test_with_the_node_away_the_app_opens_and_leaves_lapsed_payments_as_they_are(
    qtbot: Any,
    app_ctx: AppContext,
    env: Env,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    dead = custom_network("Test chain", f"http://127.0.0.1:{_free_port()}", env.chain_id)
    app_ctx.networks.save_custom(dead)  # the app's network, its node gone
    app_ctx.settings.network = dead.key
    app_ctx.invalidate_network()
    payment = _lapsed_pending(app_ctx, env)
    window = _open(qtbot, app_ctx)
    with qtbot.waitSignal(window.x402_lapsed.done, timeout=30_000):
        pass  # the check at opening ran (and ended)
    assert window.mode == "app" and window.root.currentWidget() is window.shell
    after = X402Store(app_ctx.store).payment(payment.id)
    assert after is not None and (after.status, after.never_moves) == (PENDING, False)
    assert window.status.currentMessage() == ""  # nothing said about it
    page = window.pages["activity"]
    assert not page.message.isVisible() and not page.x402.message.isVisible()


def test_opening_the_x402_tab_closes_an_unspent_lapsed_payment(
    qtbot: Any,
    ctx: AppContext,
    env: Env,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    on_test_chain(ctx, env)
    payment = _lapsed_pending(ctx, env)
    page = make_page(qtbot, ctx)
    page.tabs.setCurrentWidget(page.x402)
    model = page.x402.payments
    qtbot.waitUntil(
        lambda: model.rowCount() == 1 and model.cell(model.rows[0], 5) == "No: never moved", timeout=30_000
    )
    assert model.cell(model.rows[0], 4) == "Failed"
    after = X402Store(ctx.store).payment(payment.id)
    assert after is not None and (after.status, after.never_moves) == (FAILED, True)
