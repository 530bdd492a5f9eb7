"""Small helpers for driving the real widgets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import Qt

TIMEOUT = 15_000


def click(qtbot: Any, widget: Any) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def complete_transaction(qtbot: Any, flow_dialog: Any, timeout: int = 30_000) -> Any:
    """Send every step of a transaction dialog (each time checking that its fee estimate is shown) and
    wait for the end; returns the final FlowState."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not flow_dialog.state.is_final:
        assert time.monotonic() < deadline, flow_dialog.state
        qtbot.waitUntil(
            lambda: (
                flow_dialog.state.phase in ("review", "done", "failed", "cancelled") and not flow_dialog._busy
            ),
            timeout=timeout,
        )
        if flow_dialog.state.phase == "review":
            assert "at most" in flow_dialog.fee_label.text()
            click(qtbot, flow_dialog.send_button)
            qtbot.waitUntil(lambda: flow_dialog.state.phase != "review", timeout=timeout)
    return flow_dialog.state


def press_start(qtbot: Any, window: Any, dialog: Any) -> None:
    """Press Start in the start dialog; a deposit first goes through the transaction dialog, sent here."""
    controller = window.sessions
    before = getattr(controller, "flow_dialog", None)
    deposit = dialog.options().deposit
    dialog.start_button.click()
    if deposit:
        qtbot.waitUntil(lambda: getattr(controller, "flow_dialog", None) is not before, timeout=30_000)
        assert complete_transaction(qtbot, controller.flow_dialog).phase == "done"


def home_addresses(window: Any) -> list[str]:
    table = window.home_page.accounts
    return [table.item(row, 1).text() for row in range(table.rowCount())]


def go_to_password(qtbot: Any, view: Any) -> None:
    from paygo_desktop.onboarding import Step

    # (the step is set by the check in its worker; the page is drawn, and Next enabled, when it has returned)
    qtbot.waitUntil(lambda: view.machine.step is Step.PASSWORD and not view._working, timeout=TIMEOUT)


def finish_from_password(qtbot: Any, window: Any, password: str) -> None:
    """PASSWORD → NETWORK (Sandbox) → the app."""
    from paygo_desktop.onboarding import Step

    view = window.onboarding
    view.password.password.setText(password)
    view.password.confirm.setText(password)
    click(qtbot, view.next_button)
    assert view.machine.step is Step.NETWORK, view.error.text()
    assert view.network.selected_key() == "sandbox"
    click(qtbot, view.next_button)
    qtbot.waitUntil(lambda: window.mode == "app", timeout=TIMEOUT)


class Notices:
    """A notifier that remembers what it was told (the app's is the tray or the window's banner)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def notify(self, title: str, text: str) -> None:
        self.seen.append((title, text))


@contextlib.contextmanager
def payer_window(
    qtbot: Any, ctx: Any, chain: Any, provider_url: str, *, engine_factory: Any = None
) -> Iterator[Any]:
    """The real window on the test chain (anvil), unlocked with the chain's payer account, browsing
    ``provider_url``, on the Services page. Sessions still running at the end are stopped properly and the
    engines' connections closed while the loop still runs."""
    from paygo_desktop.gui.main_window import MainWindow
    from tests.gui.conftest import PASSWORD
    from tests.sessions.conftest import anvil_network

    network = anvil_network(chain)
    ctx.networks.save_custom(network)
    ctx.settings.network = network.key
    ctx.settings.providers = [provider_url]
    ctx.wallet.import_private_key("0x" + bytes(chain.payer.key).hex(), PASSWORD, "Payer")
    ctx.settings.active_account = chain.payer.address
    notices = Notices()
    window = MainWindow(ctx, poll_network=False, notifier=notices)
    window.notices = notices
    if engine_factory is not None:
        window.sessions._engine_factory = engine_factory
    qtbot.addWidget(window)
    window.start()
    window.show()
    ctx.wallet.unlock(PASSWORD)
    window.show_app("services")
    yield window
    done: list[object] = []
    window.runner.run(window.sessions.shutdown(), on_success=done.append)
    with contextlib.suppress(Exception):
        qtbot.waitUntil(lambda: bool(done), timeout=20_000)
