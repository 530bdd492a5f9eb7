"""On the Sandbox network the app starts the local world itself, reaches it, and stops it when it closes."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.sandbox.node import find_anvil, rpc
from paygo_desktop.sandbox.state import is_alive, read_state
from tests.gui.conftest import PASSWORD

pytestmark = pytest.mark.skipif(
    find_anvil() is None and not os.environ.get("CI"), reason="anvil not installed (npm ci)"
)


def test_choosing_the_sandbox_starts_it_and_closing_the_app_stops_it(
    qtbot: Any, wallet_ctx: AppContext, event_loop_qt: Any
) -> None:
    from paygo_desktop.gui.main_window import MainWindow
    from paygo_desktop.sandbox.launcher import SandboxLauncher

    launcher = SandboxLauncher(wallet_ctx.data_dir)
    assert launcher.running() is None
    window = MainWindow(wallet_ctx, poll_network=True, sandbox=launcher)
    qtbot.addWidget(window)
    window.start()
    window.show()
    wallet_ctx.wallet.unlock(PASSWORD)
    window.show_app("home")
    qtbot.waitUntil(lambda: window.status.connection_label.text() == "Connected", timeout=90_000)
    state = launcher.running()
    assert state is not None and launcher.started_here
    assert wallet_ctx.network.rpc_url == state.rpc_url
    # the wallet's account was funded with test USDC by the sandbox
    account = wallet_ctx.accounts.list()[0].address
    call = {"to": state.usdc, "data": "0x70a08231" + account[2:].lower().rjust(64, "0")}
    assert int(rpc(state.rpc_url, "eth_call", [call, "latest"]), 16) == 10_000 * 10**6
    assert any("sandbox" in e.message.lower() for e in wallet_ctx.activity.recent())
    window.close()  # the pages' connections are closed first (bounded), then the window
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not is_alive(state.node_pid) and not is_alive(state.provider_pid)
    assert read_state(wallet_ctx.data_dir.sandbox_dir) is None
