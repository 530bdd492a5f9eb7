"""A consultation through the real window: anvil, the reference provider over loopback with its gateway in
front of the sandbox's real chat room, the vendor answering from the real ``paygo-desktop provider chat``
process. Services → Start session → the meter card's Open chat → a message written in the pane reaches
the vendor, the vendor's answer shows in the pane; after Stop the pane says at once that the chat is
closed, and nothing more can be written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from paygo_desktop.sandbox.chat_room import chat_app
from tests.chain.conftest import (  # noqa: F401 - fixtures used by this module
    Env,
    _deployed,
    _free_port,
    anvil_url,
    env,
    runner,
)
from tests.gui.helpers import payer_window, press_start
from tests.gui.test_session_flow import start_from_services
from tests.provider.chat_world import SECRET, VendorProcess
from tests.provider.conftest import run_server
from tests.sessions.conftest import WallClock, run_provider

CHAT_ID, CHAT_NAME = "ask-a-lawyer", "Ask a lawyer"


@pytest.fixture
def consultation(env: Env, tmp_path: Any) -> Iterator[tuple[str, VendorProcess]]:  # noqa: F811
    """The provider (real clocks, a one-second tick) delivering the chat room; the vendor connected."""
    seed = tmp_path / "catalog.json"
    rate = {"amount": "1000", "asset": "USDC", "unit": "per_second"}
    entry = {"id": CHAT_ID, "name": CHAT_NAME, "category": "legal", "type": "consultation", "rate": rate}
    seed.write_text(json.dumps([{**entry, "tickSeconds": 1, "graceSeconds": 3}]))
    port = _free_port()
    server, thread = run_server(chat_app(SECRET), port)
    vendor = VendorProcess(f"ws://127.0.0.1:{port}/vendor", tmp_path / "vendor-data")
    services = {CHAT_ID: {"upstream": f"ws://127.0.0.1:{port}/user", "delivery": "websocket"}}
    try:
        vendor.expect("connected to")
        with run_provider(env, tmp_path, clock=WallClock(), catalog_seed=str(seed), services=services) as p:
            yield p.url, vendor
    finally:
        vendor.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def window(consultation: Any, env: Env, qtbot: Any, ctx: Any, event_loop_qt: Any) -> Iterator[Any]:  # noqa: F811
    with payer_window(qtbot, ctx, env, consultation[0]) as w:
        yield w


def test_the_chat_pane_talks_to_the_vendor_and_says_at_once_when_the_session_ended(
    qtbot: Any, consultation: Any, window: Any
) -> None:
    _, vendor = consultation
    dialog = start_from_services(qtbot, window, "0.05", CHAT_NAME)
    press_start(qtbot, window, dialog)
    page = window.pages["sessions"]
    qtbot.waitUntil(lambda: len(page.meters) == 1, timeout=60_000)
    view = next(iter(page.meters.values()))
    qtbot.waitUntil(lambda: view.open_button.isEnabled(), timeout=20_000)
    assert view.open_button.text() == "Open chat" and view.feed is None  # a chat, not a feed view
    view.open_button.click()
    chat = view.chat
    assert chat is not None
    qtbot.waitUntil(lambda: chat.input.isEnabled(), timeout=20_000)
    qtbot.waitUntil(lambda: any("consultant is here" in line for line in chat.lines()), timeout=10_000)

    chat.input.setText("Can my landlord keep the deposit?")
    chat.send_button.click()
    assert chat.lines()[-1] == "You: Can my landlord keep the deposit?" and chat.input.text() == ""
    qtbot.waitUntil(lambda: vendor.heard("] Can my landlord keep the deposit?"), timeout=20_000)
    vendor.say("Only for damage beyond normal wear.")
    qtbot.waitUntil(lambda: "Consultant: Only for damage beyond normal wear." in chat.lines(), timeout=20_000)

    view.stop_button.click()
    qtbot.waitUntil(lambda: chat.status.text() == "The session ended; the chat is closed.", timeout=10_000)
    assert not chat.input.isEnabled() and not chat.send_button.isEnabled()
    qtbot.waitUntil(lambda: not view.open_button.isEnabled(), timeout=5_000)  # the card's next repaint
