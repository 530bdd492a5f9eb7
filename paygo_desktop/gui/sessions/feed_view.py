"""The in-app live view of a market data feed a session delivers: the latest price of each pair, a
sparkline of the first pair's recent prices, and a status line that says at once when the feed ends.

The feed is read by ``sessions.live_feed.follow`` (started through the view's task runner) from the
session's local proxy; each quote reaches the widgets through a signal.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.widgets.sparkline import Sparkline
from paygo_desktop.sessions.live_feed import Quote, follow

HISTORY = 60  # prices kept for the sparkline
MAX_SYMBOLS = 8


class FeedView(QFrame):
    quote_arrived = Signal(object)  # Quote
    ended = Signal(str)  # why, in words

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Live feed")
        layout = QHBoxLayout(self)  # one row under the meter: status, each pair's price, the sparkline
        layout.setContentsMargins(0, 4, 0, 0)
        self.status = QLabel("Connecting to the feed…")
        self.status.setObjectName("Hint")
        self.status.setAccessibleName("Feed status")
        layout.addWidget(self.status)
        self.row = QHBoxLayout()
        self.row.setSpacing(16)
        layout.addLayout(self.row)
        layout.addStretch(1)
        self.chart = Sparkline()
        self.chart.setAccessibleName("Recent prices")
        self.chart.setFixedSize(180, 40)
        layout.addWidget(self.chart)
        self.prices: dict[str, QLabel] = {}
        self.history: list[Decimal] = []
        self.charted: str | None = None
        self.quotes = 0
        self.quote_arrived.connect(self._show)
        self.ended.connect(self._ended)

    def follow(self, runner: TaskRunner, url: str) -> None:
        """Read the feed at ``url`` (the session's local proxy) until it closes."""
        runner.run(follow(url, self.quote_arrived.emit, self.ended.emit), name="session-live-feed")

    def _show(self, quote: Quote) -> None:
        self.quotes += 1
        if self.quotes == 1:
            self.status.setText("Live")
        label = self.prices.get(quote.symbol)
        if label is None:
            if len(self.prices) >= MAX_SYMBOLS:
                return
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAccessibleName(f"Price of {quote.symbol}")
            self.row.addWidget(label)
            self.prices[quote.symbol] = label
        label.setText(f"{quote.symbol} {quote.price}")
        if self.charted is None:
            self.charted = quote.symbol
            self.chart.setToolTip(f"{quote.symbol}, the last {HISTORY} prices")
        if quote.symbol == self.charted:
            self.history = [*self.history[-(HISTORY - 1) :], Decimal(quote.price)]
            low = min(self.history)
            scale = max(Decimal("0.01"), max(self.history) - low)
            # heights only: each price above the window's lowest, in hundredths of the window's range
            self.chart.set_values([1 + int((p - low) * 100 / scale) for p in self.history])

    def _ended(self, why: str) -> None:
        self.status.setText(why)
