"""The app's own local x402 proxy (Activity → x402 payments → Start), on the app's loop, paying the reference
provider's per-request service on anvil: a site in ask-first mode opens the question in the app for each
payment; Decline gives the tool a clear refusal with nothing signed or stored; Pay pays (the balances on
chain move) with no SQL or signature on the GUI thread; quitting with the proxy running does not hang."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from paygo_desktop.context import AppContext
from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.money import Asset
from paygo_desktop.store.x402 import SETTLED, X402Store
from tests.gui.helpers import TIMEOUT, payer_window
from tests.sessions.conftest import anvil_network
from tests.x402_pay.conftest import (  # noqa: F401
    Env,
    _deployed,
    anvil_url,
    balance_by_rpc,
    env,
    know_usdc,
    runner,
    site_policy,
)
from tests.x402_pay.test_sdk_client_pays_provider import PRICE, SERVICE, seller  # noqa: F401


class Tool:
    """A program outside the app (its own thread) calling through the proxy, as curl would."""

    def __init__(self, url: str) -> None:
        self.answers: list[httpx.Response] = []
        threading.Thread(target=lambda: self.answers.append(httpx.get(url, timeout=120)), daemon=True).start()


def test_the_apps_proxy_asks_first_and_pays_only_on_pay(
    qtbot: Any,
    ctx: AppContext,
    env: Env,  # noqa: F811
    seller: Any,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    server, seen = seller
    know_usdc(ctx, env, anvil_network(env))
    X402Store(ctx.store).save_policy(site_policy(env, server.url, ask_first=True, max_per_request=PRICE))
    with payer_window(qtbot, ctx, env, server.url) as window:
        window.show_app("activity")
        page: Any = window.pages["activity"]
        page.tabs.setCurrentWidget(page.x402)
        control = window.x402_proxy
        box = page.x402.proxy_box
        assert box.toggle_button.text() == "Start" and not control.running
        box.toggle_button.click()
        qtbot.waitUntil(lambda: control.running, timeout=TIMEOUT)
        assert box.url.text() == control.url and box.toggle_button.text() == "Stop"
        site = server.url.replace("http://", "http/")
        target = f"{control.url}{site}/api/v1/x402/{SERVICE}/today?city=Oslo"
        payer_before, payee_before = (
            balance_by_rpc(env, env.payer.address),
            balance_by_rpc(env, env.provider.address),
        )

        declined = Tool(target)
        qtbot.waitUntil(lambda: bool(control.asking), timeout=30_000)
        question = control.asking[0]
        assert question.isVisible()
        assert question.windowTitle() == f"Pay {server.url}?"
        assert question.amount.text().startswith("0.015 USDC")
        assert question.request.text() == f"GET {server.url}/api/v1/x402/{SERVICE}/today?city=Oslo"
        question.decline_button.click()
        qtbot.waitUntil(lambda: bool(declined.answers), timeout=30_000)
        [refused] = declined.answers
        assert refused.status_code == 402 and refused.json()["code"] == "refused_declined"
        assert "You declined to pay 0.015 USDC" in refused.json()["message"]
        assert X402Store(ctx.store).payments() == [] and seen == []  # nothing signed, stored or served
        assert balance_by_rpc(env, env.payer.address) == payer_before

        guard = BlockingCallGuard(ctx.store.engine, watch_signing=True).start()
        try:
            paid = Tool(target)
            qtbot.waitUntil(lambda: bool(control.asking), timeout=30_000)
            control.asking[0].pay_button.click()
            qtbot.waitUntil(lambda: bool(paid.answers), timeout=60_000)
        finally:
            guard.stop()
        assert guard.violations == [], "\n".join(guard.violations)
        # the x402 list on screen shows it, read again from what the payment changed (no Refresh pressed)
        listed = page.x402.payments
        qtbot.waitUntil(lambda: listed.rowCount() == 1, timeout=TIMEOUT)
        [answer] = paid.answers
        assert answer.status_code == 200, answer.text
        assert answer.json()["forecast"] == "sunny"
        assert answer.headers["x-paygo-x402-payment"] == "0.015 USDC; settled"
        [payment] = X402Store(ctx.store).payments()
        assert payment.status == SETTLED and payment.amount == PRICE
        assert balance_by_rpc(env, env.payer.address) == payer_before - PRICE
        assert balance_by_rpc(env, env.provider.address) == payee_before + PRICE

        # a question nobody answers when the app quits: declined, and the window closes (no hang)
        pending = Tool(target)
        qtbot.waitUntil(lambda: bool(control.asking), timeout=30_000)
        window.close()
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=15_000)
        assert not control.running
        qtbot.waitUntil(lambda: bool(pending.answers), timeout=15_000)
        assert pending.answers[0].status_code in (402, 503)
        assert len(X402Store(ctx.store).payments()) == 1


def test_an_unanswered_question_declines_by_itself(qtbot: Any, event_loop_qt: Any) -> None:
    from paygo_desktop.gui.x402_ask_dialog import X402AskDialog
    from paygo_desktop.x402.limits import Quote

    quote = Quote(
        "https://api.example.com",
        "https://api.example.com/v1/quote?symbol=ETH",
        "exact",
        "eip155:31337",
        Asset("USDC", 6, "0x" + "11" * 20),
        "0x" + "22" * 20,
        25_000,
        "POST",
    )
    dialog = X402AskDialog(quote, 2)
    qtbot.addWidget(dialog)
    answers: list[bool] = []
    dialog.answered.connect(answers.append)
    dialog.show()
    assert dialog.request.text() == "POST https://api.example.com/v1/quote?symbol=ETH"
    assert dialog.decline_button.isDefault() and "2 s" in dialog.countdown.text()
    dialog.set_value("≈ $0.03")
    assert dialog.amount.text() == "0.025 USDC (≈ $0.03)"
    qtbot.waitUntil(lambda: bool(answers), timeout=5_000)
    assert answers == [False] and not dialog.isVisible()


def test_locking_the_wallet_stops_the_proxy(
    qtbot: Any,
    ctx: AppContext,
    env: Env,  # noqa: F811
    seller: Any,  # noqa: F811
    event_loop_qt: Any,
) -> None:
    server, _seen = seller
    with payer_window(qtbot, ctx, env, server.url) as window:
        window.show_app("activity")
        page: Any = window.pages["activity"]
        page.tabs.setCurrentWidget(page.x402)
        control = window.x402_proxy
        page.x402.proxy_box.toggle_button.click()
        qtbot.waitUntil(lambda: control.running, timeout=TIMEOUT)
        assert page.x402.proxy_box.state.text() == "Local x402 proxy: on, paying on Test chain"
        url = control.url
        assert url is not None
        window.lock()
        qtbot.waitUntil(lambda: not control.running and window.mode == "locked", timeout=TIMEOUT)

        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)  # the server's close is done
        outcome: list[str] = []

        def probe() -> None:  # a tool's thread: the GUI thread keeps running the loop
            try:
                httpx.get(url + "http/127.0.0.1:1/x", timeout=5)
                outcome.append("answered")
            except httpx.ConnectError:
                outcome.append("refused")

        threading.Thread(target=probe, daemon=True).start()
        qtbot.waitUntil(lambda: bool(outcome), timeout=TIMEOUT)
        assert outcome == ["refused"]  # nothing listens there any more
        assert page.x402.proxy_box.toggle_button.text() == "Start"
