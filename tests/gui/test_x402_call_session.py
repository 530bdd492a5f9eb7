"""Services → Call… on a per-request service that its provider also sells by the minute (the demo catalog's
weather API, on the sandbox's real upstream, anvil, the reference provider): without a session the call is
paid and the dialog says a session would cost less above 2.5 calls a minute; with a session started in the
window for the minute-priced service, the same call goes through that session and nothing more is paid per
request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.store.x402 import SETTLED, X402Store
from tests.gui.helpers import payer_window, press_start
from tests.provider.gateway_world import Upstreams
from tests.sessions.conftest import Provider, WallClock, anvil_network, run_provider
from tests.x402_pay.conftest import Env, _deployed, anvil_url, env, know_usdc, runner  # noqa: F401

PER_CALL, SESSION = "weather-per-call", "weather-api"  # 0.002 USDC a request; 0.005 USDC a minute
PRICE = 2000


@pytest.fixture
def provider(env: Env, tmp_path: Path) -> Iterator[Provider]:  # noqa: F811 - before the Qt loop runs
    upstreams = Upstreams()
    api = {"upstream": f"http://127.0.0.1:{upstreams.api_port}", "delivery": "http"}
    try:
        with run_provider(env, tmp_path, clock=WallClock(), services={PER_CALL: api, SESSION: api}) as p:
            yield p
    finally:
        upstreams.stop()


def _call(qtbot: Any, window: Any, city: str) -> Any:
    page = window.pages["services"]
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and not window.runner.busy, timeout=20_000)
    row = next(i for i, e in enumerate(page.model.rows) if e.service.id == PER_CALL)
    page.table.selectRow(row)
    assert page.start_button.text() == "Call…"
    page.start_selected()
    dialog = page.call_dialog
    dialog.path.setText(f"weather?city={city}")
    dialog.call()
    qtbot.waitUntil(lambda: city in dialog.answer.toPlainText(), timeout=30_000)
    return dialog


def test_call_prefers_a_running_session_and_otherwise_says_it_would_be_cheaper(
    qtbot: Any,
    ctx: Any,
    env: Env,  # noqa: F811
    provider: Provider,
    event_loop_qt: Any,
) -> None:
    know_usdc(ctx, env, anvil_network(env))
    with payer_window(qtbot, ctx, env, provider.url) as window:
        dialog = _call(qtbot, window, "Oslo")
        said = dialog.message.text()
        assert "Paid 0.002 USDC (settled)" in said
        assert "also sells this by the minute (Weather API: 0.005 USDC per minute" in said
        assert "above 2.5 calls a minute" in said
        assert [p.status for p in X402Store(ctx.store).payments()] == [SETTLED]
        dialog.close()

        # a session for the minute-priced service, started in the window (its deposit sent)
        page = window.pages["services"]
        row = next(i for i, e in enumerate(page.model.rows) if e.service.id == SESSION)
        page.table.selectRow(row)
        page.start_button.click()
        controller = window.sessions
        qtbot.waitUntil(lambda: getattr(controller, "dialog", None) is not None, timeout=30_000)
        start = controller.dialog
        qtbot.waitUntil(start.isVisible, timeout=5_000)
        start.budget.setText("0.05")
        press_start(qtbot, window, start)
        qtbot.waitUntil(lambda: any(s.access is not None for s in controller.live()), timeout=60_000)

        window.show_page("services")
        dialog = _call(qtbot, window, "Lima")
        said = dialog.message.text()
        assert "Served through your running session on Weather API: nothing was paid per request" in said
        assert len(X402Store(ctx.store).payments()) == 1  # still only the first call's payment
        dialog.close()
