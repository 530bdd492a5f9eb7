"""Small helpers for driving the real widgets."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

TIMEOUT = 15_000


def click(qtbot: Any, widget: Any) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def home_addresses(window: Any) -> list[str]:
    table = window.home_page.accounts
    return [table.item(row, 1).text() for row in range(table.rowCount())]


def go_to_password(qtbot: Any, view: Any) -> None:
    from paygo_desktop.onboarding import Step

    qtbot.waitUntil(lambda: view.machine.step is Step.PASSWORD, timeout=TIMEOUT)


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
