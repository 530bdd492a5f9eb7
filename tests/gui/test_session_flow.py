"""The whole session flow through the real window: anvil, the reference provider over loopback, the engine.

Services → Start session… → the start dialog (deposit, budget, what it buys) → the live meter → Stop → the
provider's receipt checked → the history row → the provider's claim lands on-chain. And a small budget: the
low-funds notification, then the session stops by itself at the cap.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.gui.blocking_guard import BlockingCallGuard
from paygo_desktop.money import Amount, Asset
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.receipts.verify import verify_file
from paygo_desktop.sandbox.media import media_app, media_dir
from paygo_desktop.sandbox.upstreams import api_app, feed_app
from tests.chain.conftest import (  # noqa: F401 - fixtures used by this module
    Env,
    _deployed,
    _free_port,
    anvil_url,
    env,
    runner,
)
from tests.gui.helpers import click, complete_transaction, payer_window, press_start
from tests.provider.conftest import run_server
from tests.sessions.conftest import WallClock, run_provider

RATE = 1000  # base units of USDC per second
TICK, GRACE = 1, 3
SERVICE_NAME = "Live market data"


@dataclass
class Sandbox:
    env: Env
    provider_url: str
    service_id: str
    usdc: Asset


def add_per_second_service(provider: Any, name: str, rate: int, tick: int, grace: int) -> m.Service:
    """Create a USDC data service priced per second at ``provider`` (before the Qt loop runs)."""
    fields = m.ServiceFields(
        name=name,
        category="data",
        type=m.ServiceType.data,
        rate=m.Rate(amount=rate, asset="USDC", unit=m.RateUnit.per_second),
        tick_seconds=tick,
        grace_seconds=grace,
    )

    async def create() -> m.Service:
        async with ProviderClient(provider.url) as client:
            return await client.create_service(provider.key, fields)

    return asyncio.run(create())


SERVICE_ID = "live-market-data"
FEED_ID, FEED_NAME = "price-feed", "Live price feed"  # a WebSocket feed, in the app's live view
VIDEO_ID, VIDEO_NAME = "clip", "Test clip"  # the sandbox's video (media), opened in the system player


@pytest.fixture
def sandbox(env: Env, tmp_path: Any) -> Iterator[Sandbox]:  # noqa: F811
    """The reference provider on real clocks with a one-second-tick service, delivered through its gateway
    from the sandbox's real weather API on loopback (its catalog seeded before the Qt loop runs)."""
    seed = tmp_path / "catalog.json"
    seed.write_text(
        json.dumps(
            [
                {
                    "id": SERVICE_ID,
                    "name": SERVICE_NAME,
                    "category": "data",
                    "type": "data",
                    "rate": {"amount": str(RATE), "asset": "USDC", "unit": "per_second"},
                    "tickSeconds": TICK,
                    "graceSeconds": GRACE,
                },
                {
                    "id": FEED_ID,
                    "name": FEED_NAME,
                    "category": "finance",
                    "type": "data",
                    "rate": {"amount": str(RATE), "asset": "USDC", "unit": "per_second"},
                    "tickSeconds": TICK,
                    "graceSeconds": GRACE,
                },
                {
                    "id": VIDEO_ID,
                    "name": VIDEO_NAME,
                    "category": "entertainment",
                    "type": "video",
                    "rate": {"amount": str(RATE), "asset": "USDC", "unit": "per_second"},
                    "tickSeconds": TICK,
                    "graceSeconds": GRACE,
                },
            ]
        )
    )
    api_port, feed_port, media_port = _free_port(), _free_port(), _free_port()
    upstreams = [
        run_server(api_app(), api_port),
        run_server(feed_app(interval=0.2), feed_port),
        run_server(media_app(), media_port),
    ]
    services = {
        SERVICE_ID: {"upstream": f"http://127.0.0.1:{api_port}", "delivery": "http"},
        FEED_ID: {"upstream": f"ws://127.0.0.1:{feed_port}/feed", "delivery": "websocket"},
        VIDEO_ID: {"upstream": f"http://127.0.0.1:{media_port}", "delivery": "media", "entry": "clip.mp4"},
    }
    try:
        with run_provider(env, tmp_path, clock=WallClock(), catalog_seed=str(seed), services=services) as p:
            yield Sandbox(env, p.url, SERVICE_ID, Asset("USDC", 6, env.usdc))
    finally:
        for server, thread in upstreams:
            server.should_exit = True
            thread.join(timeout=10)


def gone(qtbot: Any, url: str) -> None:
    """The local proxy's URL after its session ended: never the service again (while it closes it answers
    410 Gone, or a connection it accepted is reset as it shuts), and soon nothing listens there at all."""
    deadline = time.monotonic() + 10
    while True:
        answer = fetched(qtbot, url)
        if isinstance(answer, httpx.ConnectError):
            return
        closing = isinstance(answer, httpx.ReadError | httpx.RemoteProtocolError)
        assert closing or (isinstance(answer, httpx.Response) and answer.status_code == 410), answer
        assert time.monotonic() < deadline, "the local proxy still listens 10 s after its session ended"
        qtbot.wait(100)


def fetched(qtbot: Any, url: str) -> Any:
    """``GET url`` from a worker thread (the GUI thread never waits on the network): the response, or the
    transport error."""
    out: list[Any] = []

    def get() -> None:
        try:
            out.append(httpx.get(url, timeout=10))
        except httpx.TransportError as exc:
            out.append(exc)

    threading.Thread(target=get, daemon=True).start()
    qtbot.waitUntil(lambda: bool(out), timeout=15_000)
    return out[0]


@pytest.fixture
def session_window(sandbox: Sandbox, qtbot: Any, ctx: Any, event_loop_qt: Any) -> Iterator[Any]:
    with payer_window(qtbot, ctx, sandbox.env, sandbox.provider_url) as window:
        yield window


def start_from_services(qtbot: Any, window: Any, budget: str, name: str = SERVICE_NAME) -> Any:
    page = window.pages["services"]
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20_000)
    row = next(i for i, e in enumerate(page.model.rows) if e.service.name == name)
    page.table.selectRow(row)
    assert page.start_button.isEnabled()
    page.start_button.click()
    controller = window.sessions
    qtbot.waitUntil(lambda: getattr(controller, "dialog", None) is not None, timeout=30_000)
    dialog = controller.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    dialog.budget.setText(budget)
    return dialog


@pytest.fixture
def guard(session_window: Any) -> Iterator[BlockingCallGuard]:
    """Blocking work on the GUI thread, recorded from here on (``gui.blocking_guard``)."""
    watching = BlockingCallGuard(session_window.ctx.store.engine, watch_signing=True)
    yield watching.start()
    watching.stop()


def test_start_watch_stop_receipt_history_and_the_claim_on_chain(
    qtbot: Any, sandbox: Sandbox, session_window: Any, guard: BlockingCallGuard
) -> None:
    window = session_window
    sandbox_usdc = Asset("USDC", 6)
    dialog = start_from_services(qtbot, window, "0.05")
    # A first session on this provider: no channel yet, so the dialog proposes the deposit it needs.
    option = dialog.selected_option()
    assert option.kind == "escrow" and option.needs_deposit
    assert dialog.buys.text() == "50 seconds at this rate"
    deposit = Amount.parse(dialog.deposit.text(), sandbox_usdc)
    assert deposit.units >= 50_000
    assert dialog.start_button.isEnabled()
    dialog.start_button.click()

    # The deposit goes through the same transaction dialog as the Escrow page: the allowance, then the
    # deposit, each with its fee estimate before anything is sent, then its progress; then the start.
    controller = window.sessions
    qtbot.waitUntil(lambda: getattr(controller, "flow_dialog", None) is not None, timeout=30_000)
    flow = controller.flow_dialog
    qtbot.waitUntil(lambda: flow.state.phase == "review", timeout=30_000)
    assert flow.description.text() == f"Deposit {deposit.format()} into the escrow channel with Test provider"
    assert "at most" in flow.fee_label.text()
    assert window.current_page() == "services"  # nothing started before the deposit is sent
    state = complete_transaction(qtbot, flow)
    assert state.phase == "done" and state.records[-1].status in ("mined", "confirmed")

    qtbot.waitUntil(lambda: window.current_page() == "sessions", timeout=60_000)
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=10_000)
    view = next(iter(page.meters.values()))
    live = view.live
    qtbot.waitUntil(lambda: live.acked >= 3 * RATE * TICK, timeout=20_000)
    first = Amount.parse(view.cost.text(), sandbox_usdc).units
    qtbot.wait(300)
    second = Amount.parse(view.cost.text(), sandbox_usdc).units
    assert 0 < first <= second <= live.terms.cap  # it moves, and only forwards
    assert view.fields["signed"].text() == Amount(live.terms.asset, live.signed).format()
    # the service itself, on this computer's local URL (sessions.access_proxy) while the session runs
    qtbot.waitUntil(lambda: view.open_button.isEnabled(), timeout=10_000)
    assert view.copy_button.isEnabled() and view.open_button.text() == "Open service"
    local_url = view._local_url
    assert local_url is not None and local_url.startswith("http://127.0.0.1:")
    assert local_url in view.access_label.text()
    answer = fetched(qtbot, local_url + "weather?city=Quito")
    assert isinstance(answer, httpx.Response) and answer.json()["city"] == "Quito"

    view.stop_button.click()
    qtbot.waitUntil(lambda: controller.last_summary is not None, timeout=30_000)
    assert not view.open_button.isEnabled()
    gone(qtbot, local_url + "weather")  # gone with the session
    summary = controller.last_summary
    assert summary.receipt_ok, summary.message
    # the vouchers ran one tick ahead; the stop settles at exactly what the meter showed
    assert summary.cost == summary.metered == summary.receipt.amount <= live.signed
    assert "matches the meter to the base unit" in summary.message
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5_000)
    record = page.model.rows[0]
    assert page.model.cell(record, 5) == "Finished" and page.model.cell(record, 6) == "Checked"
    # the cost, and beside it its value once read: "—" here (this chain has no price feeds)
    qtbot.waitUntil(lambda: page.model.prices is not None, timeout=5_000)
    assert page.model.cell(record, 4) == Amount(record.terms.asset, summary.cost).format() + " (—)"

    # The provider claims what was signed, on-chain.
    engine = next(iter(controller._engines.values()))
    claimed: list[int] = []

    async def claim() -> None:
        async with ProviderClient(live.terms.provider_url) as client:
            result = await client.claim_now(sandbox.env.provider)
        assert result.tx_hash
        state = await engine.chain.vault().channel_state(
            bytes.fromhex(live.terms.channel_id.removeprefix("0x"))
        )
        claimed.append(state.claimed)

    window.runner.run(claim(), on_error=lambda text: claimed.append(-1))
    qtbot.waitUntil(lambda: bool(claimed), timeout=30_000)
    assert claimed[0] == summary.cost  # the channel's first session: everything claimed is this one's

    # The receipt and its check on the Sessions page, against the chain too, and its proof file.
    assert view.cost_value.text() == "—" and "No price feeds" in view.cost_value.toolTip()  # none here
    page.table.selectRow(0)
    assert page.receipt_button.isEnabled()
    receipt = page.open_receipt()
    try:
        qtbot.waitUntil(lambda: bool(receipt.checks), timeout=10_000)
    except Exception:
        raise AssertionError((receipt.verdict.text(), receipt.message.text())) from None
    assert receipt.verdict.text() == "✓ The receipt checks out: signed by the provider"
    assert "✓ The receipt is signed by the provider's signing key" in receipt.check_list.text()
    click(qtbot, receipt.chain_button)
    qtbot.waitUntil(lambda: "paid on chain" in receipt.check_list.text(), timeout=20_000)
    assert "✓ The provider was paid on chain for this session" in receipt.check_list.text()
    assert "claimed in 0x" in receipt.check_list.toolTip()  # the claim's transaction
    proof = Path(tempfile.mkdtemp()) / "proof.json"
    receipt.export(str(proof))
    qtbot.waitUntil(lambda: "Wrote the proof" in receipt.message.text(), timeout=20_000)
    with guard.paused():  # the test's own read of the file
        verdict = verify_file(proof.read_bytes())
    assert verdict.ok, verdict.lines()
    receipt.accept()

    # Close the channel from the ended card: the provider's signed Close at the settled total, the app's own
    # voucher for the same total, and the rest comes back.
    assert view.close_button.isVisible()
    before = controller.flow_dialog
    view.close_button.click()
    qtbot.waitUntil(lambda: controller.flow_dialog is not before, timeout=30_000)
    closing = controller.flow_dialog  # the provider's Close, sent through the shared transaction dialog
    qtbot.waitUntil(lambda: closing.state.phase == "review", timeout=30_000)
    review = closing.description.text()
    assert "Close the escrow channel with Test provider" in review and "comes back to you now" in review
    assert f"its total on the channel: {Amount(sandbox_usdc, summary.cost).format()}" in review
    assert complete_transaction(qtbot, closing).phase == "done"
    qtbot.waitUntil(lambda: view.close_button.text() == "Channel closed", timeout=60_000)
    after: list[Any] = []

    async def read() -> None:
        after.append(
            await engine.chain.vault().channel_state(bytes.fromhex(live.terms.channel_id.removeprefix("0x")))
        )

    window.runner.run(read())
    qtbot.waitUntil(lambda: bool(after), timeout=20_000)
    assert after[0].available == 0  # nothing left in escrow: what was not signed went back to the wallet
    assert after[0].closed and after[0].claimed == summary.cost  # final: the next session opens a new one
    guard.stop()
    # plan, start dialog, the deposit's transactions, start, vouchers, stop, receipt, the history row, the
    # close's transaction: no SQL, file or signature on the GUI thread
    assert guard.violations == [], "\n".join(guard.violations)


def test_low_funds_warning_then_the_session_stops_itself_at_the_budget(
    qtbot: Any, session_window: Any
) -> None:
    window = session_window
    dialog = start_from_services(qtbot, window, "0.006")  # six seconds at this rate
    assert dialog.buys.text() == "6 seconds at this rate"
    press_start(qtbot, window, dialog)
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=60_000)
    view = next(iter(page.meters.values()))
    live = view.live
    qtbot.waitUntil(lambda: any("running low" in title for title, _ in window.notices.seen), timeout=20_000)
    qtbot.waitUntil(lambda: live.status == "stopped", timeout=20_000)
    assert live.meter.cost() == live.terms.cap == 6 * RATE
    assert live.stop_reason
    qtbot.waitUntil(lambda: view.warning.text() == live.stop_reason, timeout=5_000)
    assert view.stop_button.text() == "Dismiss"  # the ended card stays with its numbers until put away
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    view.stop_button.click()
    assert not page.meters and page.no_running.isVisibleTo(page)
    # quitting with no session running closes the engine's node connection too, not the collector at exit
    [engine] = window.sessions._engines.values()
    kept = list(engine.chain._w3.provider._kept._sessions.values())
    assert kept and not any(s.closed for s in kept)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert all(s.closed for s in kept)


def test_a_feed_session_shows_live_prices_beside_its_meter_and_says_at_once_when_it_ended(
    qtbot: Any, session_window: Any
) -> None:
    window = session_window
    dialog = start_from_services(qtbot, window, "0.05", FEED_NAME)
    press_start(qtbot, window, dialog)
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=60_000)
    view = next(iter(page.meters.values()))
    qtbot.waitUntil(lambda: view.feed is not None and view.feed.quotes >= 3, timeout=20_000)
    feed = view.feed
    assert feed is not None and feed.status.text() == "Live"
    assert set(feed.prices) == {"ETH-USD", "BTC-USD", "ZEC-USD"}
    assert view.open_button.text() == "Copy service URL" and view.open_button.isEnabled()
    view.stop_button.click()
    qtbot.waitUntil(lambda: feed.status.text() == "The session ended: the feed is closed.", timeout=10_000)
    shown = feed.quotes
    qtbot.wait(500)
    assert feed.quotes == shown  # no price after the end
    assert not view.open_button.isEnabled()


def test_a_video_session_opens_its_local_file_url_in_the_system_player_while_it_runs(
    qtbot: Any, session_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paygo_desktop.gui.sessions import meter_view

    opened: list[str] = []  # no media player runs here: the URL handed to the system is recorded instead
    monkeypatch.setattr(meter_view.QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    window = session_window
    dialog = start_from_services(qtbot, window, "0.05", VIDEO_NAME)
    press_start(qtbot, window, dialog)
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=60_000)
    view = next(iter(page.meters.values()))
    qtbot.waitUntil(lambda: view.open_button.isEnabled(), timeout=10_000)
    local_url = view._local_url
    assert local_url is not None and local_url.startswith("http://127.0.0.1:")
    assert local_url.endswith("/clip.mp4") and view.open_button.text() == "Open service"
    assert view.access_label.text() == f"Play it in any media player: {local_url}"  # shown, to copy
    view.open_button.click()
    assert opened == [local_url]
    clip = fetched(qtbot, local_url)
    assert isinstance(clip, httpx.Response) and clip.status_code == 200
    assert clip.content == (media_dir() / "clip.mp4").read_bytes()
    view.stop_button.click()
    qtbot.waitUntil(lambda: not view.open_button.isEnabled(), timeout=30_000)
    gone(qtbot, local_url)  # gone with the session


def test_closing_the_deposit_review_sends_nothing_and_starts_nothing(qtbot: Any, session_window: Any) -> None:
    window = session_window
    dialog = start_from_services(qtbot, window, "0.05")
    messages: list[str] = []
    controller = window.sessions
    controller.message.connect(lambda text, _error: messages.append(text))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: getattr(controller, "flow_dialog", None) is not None, timeout=30_000)
    flow = controller.flow_dialog
    qtbot.waitUntil(lambda: flow.state.phase == "review", timeout=30_000)
    flow.close_button.click()
    qtbot.waitUntil(lambda: "Not started: no deposit was sent." in messages, timeout=10_000)
    assert controller.live() == [] and controller.history.find() == []
    assert flow.state.record is None  # nothing was broadcast
