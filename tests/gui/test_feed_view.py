"""The in-app live view of a market feed: real quotes from the sandbox's feed server on loopback reach
the widgets, and the view says at once when the feed ends."""

from __future__ import annotations

from typing import Any

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.sessions.feed_view import FeedView
from paygo_desktop.sandbox.upstreams import feed_app
from tests.chain.conftest import _free_port
from tests.provider.conftest import run_server


def test_the_feed_view_shows_live_prices_and_the_end(qtbot: Any, event_loop_qt: Any) -> None:
    port = _free_port()
    server, thread = run_server(feed_app(interval=0.1), port)
    try:
        view = FeedView()
        qtbot.addWidget(view)
        view.show()
        runner = TaskRunner()
        view.follow(runner, f"ws://127.0.0.1:{port}/feed")
        qtbot.waitUntil(lambda: view.quotes >= 6, timeout=10_000)
        assert view.status.text() == "Live"
        assert set(view.prices) == {"ETH-USD", "BTC-USD", "ZEC-USD"}
        assert all(
            label.text().startswith(symbol + " ") and "." in label.text()
            for symbol, label in view.prices.items()
        )
        assert len(view.chart.values) >= 2
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    qtbot.waitUntil(lambda: view.status.text() != "Live", timeout=10_000)
    assert view.status.text() in ("The feed closed.", "The feed was interrupted.")
