"""The Sessions page's history: read from the store in a worker thread, never on the GUI thread (it is read
again at every start, stop and failure, while a meter runs), and only the newest read is shown."""

from __future__ import annotations

import threading
from typing import Any

from tests.gui.helpers import TIMEOUT


def add_finished_session(ctx: Any, local_id: str, service: str) -> None:
    from datetime import UTC, datetime

    from paygo_desktop.metering.meter import Price
    from paygo_desktop.money import Asset
    from paygo_desktop.sessions.history import SessionHistory
    from paygo_desktop.sessions.status import SessionStatus
    from paygo_desktop.sessions.terms import Funding, SessionTerms

    terms = SessionTerms(
        account="0x" + "1" * 40, network="sandbox", provider_url="http://127.0.0.1:1",
        provider_name="Test provider", provider_address=None, service_id="svc", service_name=service,
        category="data", service_type="data", asset=Asset("USDC", 6), price=Price(1000, "per_second"),
        tick_seconds=1, grace_seconds=3, cap=50_000, funding=Funding.ESCROW,
    )  # fmt: skip
    history = SessionHistory(ctx.store)
    history.create(local_id, terms, datetime.now(UTC))
    history.update(local_id, cost=12_000, seconds=12, status=SessionStatus.STOPPED, receipt_ok=True)


def test_the_history_is_read_off_the_gui_thread_and_the_newest_read_wins(
    qtbot: Any, ctx: Any, event_loop_qt: Any, monkeypatch: Any
) -> None:
    from paygo_desktop.gui.async_tasks import TaskRunner
    from paygo_desktop.gui.pages.sessions_page import SessionsPage
    from paygo_desktop.gui.sessions.controller import SessionController
    from paygo_desktop.sessions.history import SessionHistory

    add_finished_session(ctx, "s-1", "Radio")
    add_finished_session(ctx, "s-2", "Weather")
    read_on: list[str] = []
    find = SessionHistory.find

    def recording_find(self: Any, filters: Any = None) -> Any:
        read_on.append(threading.current_thread().name)
        return find(self, filters)

    monkeypatch.setattr(SessionHistory, "find", recording_find)
    page = SessionsPage(SessionController(ctx, TaskRunner(), lambda: None))
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=TIMEOUT)
    assert read_on and threading.main_thread().name not in read_on

    page.search.setText("weather")  # each keystroke reads again; the last filter's rows are shown
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=TIMEOUT)
    assert page.model.rows[0].terms.service_name == "Weather"
    qtbot.waitUntil(lambda: not page.controller.runner.busy, timeout=TIMEOUT)
    assert page.model.rowCount() == 1 and page.export_button.isEnabled()
