"""The Activity page: where the money went, as a chart per bucket with its cumulative line, a breakdown by
service, category or provider, and the sessions behind any bar.

The figures come from ``reports.spending_report`` (SQL sums, one asset at a time) through the TaskRunner;
the chart (pyqtgraph) is built when the page is first shown, never at start-up. Times are shown in the
computer's time zone; the store keeps UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.gui.async_tasks import NewestRead, TaskRunner
from paygo_desktop.gui.format import local_time, short_amount
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.chart_loader import load_chart
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.movements_panel import MovementsPanel
from paygo_desktop.gui.widgets.tables import readonly_table
from paygo_desktop.gui.widgets.x402_panel import X402Panel
from paygo_desktop.gui.x402_lapsed import X402LapsedCheck
from paygo_desktop.reports.periods import (
    BUCKET_LABELS,
    RANGE_LABELS,
    Bucket,
    RangeKind,
    bucket_label,
    bucket_tick,
)
from paygo_desktop.reports.spending_report import (
    DIMENSION_LABELS,
    BreakdownLine,
    ChartData,
    ChartQuery,
    Dimension,
    SessionSpend,
    SpendingReport,
    chart_data,
)
from paygo_desktop.sessions.status import SessionStatus

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.widgets.spending_chart import SpendingChart
    from paygo_desktop.prices.board import PriceBoard

AUTO = "auto"
STATUS_NAMES = {
    SessionStatus.STARTING: "Starting",
    SessionStatus.RUNNING: "Running",
    SessionStatus.STOPPING: "Stopping",
    SessionStatus.STOPPED: "Ended",
    SessionStatus.FAILED: "Failed",
    SessionStatus.RECEIPT_INVALID: "No valid receipt",
    SessionStatus.INTERRUPTED: "Interrupted",
    SessionStatus.RECOVERED: "Recovered",
    "record removed": "Session record removed",
}


def _cell(text: str, *, right: bool = False, tooltip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def share(part: int, whole: int) -> str:
    """A percentage of integers, one decimal, rounded down."""
    if whole <= 0:
        return "–"
    tenths = part * 1000 // whole
    return f"{tenths // 10}.{tenths % 10} %"


class ActivityPage(Page):
    key = "activity"
    title = "Activity"
    shows = Changes(spending=True, sessions=True, network=True)

    def __init__(
        self,
        ctx: AppContext,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        x402_proxy: Any = None,
        x402_lapsed: X402LapsedCheck | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._x402_proxy = x402_proxy  # the app's local x402 proxy (gui.x402_proxy_control), on the x402 tab
        if x402_lapsed is None:  # no window's (a page on its own): its own, whose findings it reads
            x402_lapsed = X402LapsedCheck(ctx, runner, parent=self)
            x402_lapsed.changed.connect(self.on_changes)
        self._x402_lapsed = x402_lapsed  # the app's lapsed x402 check, run when the x402 tab is shown
        self._x402_stale = False  # the x402 payments changed while their tab was not on screen
        self.report = SpendingReport(ctx.store)
        self.data: ChartData | None = None
        self.board: PriceBoard | None = None  # the shown asset's value now, once read
        self.breakdown_lines: list[BreakdownLine] = []  # shown; refilled once the value is read
        self.chart: SpendingChart | None = None
        self.chart_failed = False  # its libraries did not load: the page says so in its place
        self._filling = False
        self.figures = NewestRead(runner, "activity", failed=self._figures_failed, parent=self)  # the chart's
        self.breakdown_pending = False

        self.spending_tab = QWidget()  # the "Spending" tab; "On-chain movements" beside it
        self.spending_layout = QVBoxLayout(self.spending_tab)
        self.spending_layout.setContentsMargins(0, 0, 0, 0)
        self._build_controls()
        self._build_chart()
        self._build_tables()
        self._build_tabs()
        self._connect()

    def _build_controls(self) -> None:
        """The asset, the range and the bars; the total and the page's message."""
        controls = QHBoxLayout()
        self.asset = QComboBox()
        self.asset.setAccessibleName("Asset")
        self.asset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.asset.setToolTip("Spending in one asset at a time: amounts in different assets are never added")
        self.range = QComboBox()
        self.range.setAccessibleName("Range")
        for kind, label in RANGE_LABELS.items():
            self.range.addItem(label, kind.value)
        self.range.setCurrentIndex(self.range.findData(RangeKind.days30.value))
        self.first_day = QDateEdit()
        self.last_day = QDateEdit()
        for edit, name in ((self.first_day, "First day"), (self.last_day, "Last day")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            edit.setDate(QDate.currentDate())
            edit.setVisible(False)
        self.first_day.setDate(QDate.currentDate().addDays(-13))
        self.bucket = QComboBox()
        self.bucket.setAccessibleName("Bars")
        self.bucket.addItem("Bars: automatic", AUTO)
        for bucket, label in BUCKET_LABELS.items():
            self.bucket.addItem(f"Bars: {label.lower()}", bucket.value)
        for label, widget in (("Asset", self.asset), ("Range", self.range)):
            caption = QLabel(label)
            caption.setBuddy(widget)
            controls.addWidget(caption)
            controls.addWidget(widget)
        controls.addWidget(self.first_day)
        dash = QLabel("to")
        dash.setVisible(False)
        self.to_label = dash
        controls.addWidget(dash)
        controls.addWidget(self.last_day)
        controls.addWidget(self.bucket)
        controls.addStretch(1)
        spending_layout = self.spending_layout
        spending_layout.addLayout(controls)

        self.summary = QLabel()
        self.summary.setAccessibleName("Total spent in the range")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        spending_layout.addWidget(self.summary)
        self.message = InlineMessage(self, "Activity message")
        spending_layout.addWidget(self.message)

    def _build_chart(self) -> None:
        """The chart's place (built on first show) and the figures of the bar under the pointer."""
        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "Nothing spent yet",
            "This wallet has not paid for any service yet. Start one from the Services page; "
            "what it costs is recorded as you go.",
            "Your spending will appear here as bars per hour, day, week or month with a running total, "
            "split by service, category and provider. Click a bar to see its sessions.",
        )
        self.content = QSplitter(Qt.Orientation.Vertical)
        self.content.setChildrenCollapsible(False)
        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        self.chart_holder = QVBoxLayout()
        chart_layout.addLayout(self.chart_holder, 1)
        self.hover = QLabel("Point at a bar to see its exact figures; click it to list its sessions.")
        self.hover.setObjectName("Hint")
        self.hover.setAccessibleName("Figures of the bar under the pointer")
        self.hover.setTextFormat(Qt.TextFormat.PlainText)
        chart_layout.addWidget(self.hover)
        self.content.addWidget(chart_box)

    def _build_tables(self) -> None:
        """The breakdown and the sessions of the chosen bar, below the chart."""
        tables = QSplitter(Qt.Orientation.Horizontal)
        breakdown_box = QWidget()
        breakdown_layout = QVBoxLayout(breakdown_box)
        breakdown_layout.setContentsMargins(0, 0, 0, 0)
        by_row = QHBoxLayout()
        by_label = QLabel("Breakdown by")
        self.dimension = QComboBox()
        self.dimension.setAccessibleName("Breakdown by")
        for dimension, label in DIMENSION_LABELS.items():
            self.dimension.addItem(label, dimension.value)
        by_label.setBuddy(self.dimension)
        by_row.addWidget(by_label)
        by_row.addWidget(self.dimension)
        self.breakdown_title = QLabel()
        self.breakdown_title.setObjectName("Hint")
        self.breakdown_title.setAccessibleName("Breakdown status")
        by_row.addWidget(self.breakdown_title)
        by_row.addStretch(1)
        breakdown_layout.addLayout(by_row)
        self.breakdown = readonly_table(["Name", "Spent", "Share", "Sessions"], "Breakdown")
        breakdown_layout.addWidget(self.breakdown)
        tables.addWidget(breakdown_box)

        sessions_box = QWidget()
        sessions_layout = QVBoxLayout(sessions_box)
        sessions_layout.setContentsMargins(0, 0, 0, 0)
        self.sessions_title = QLabel("Sessions: click a bar")
        self.sessions_title.setAccessibleName("Sessions of the chosen bar")
        self.sessions_title.setTextFormat(Qt.TextFormat.PlainText)
        sessions_layout.addWidget(self.sessions_title)
        self.sessions = readonly_table(
            ["Service", "Provider", "Started", "Status", "Spent in this bar", "Session cost"], "Sessions"
        )
        sessions_layout.addWidget(self.sessions)
        tables.addWidget(sessions_box)
        self.content.addWidget(tables)
        self.content.setSizes([360, 260])
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        self.spending_layout.addWidget(self.stack, 1)
        self.stack.setCurrentWidget(self.empty)

    def _build_tabs(self) -> None:
        """Spending, and the account's on-chain movements beside it."""
        self.movements = MovementsPanel(self.ctx, self.runner)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Activity views")
        self.tabs.addTab(self.spending_tab, "Spending")
        self.tabs.addTab(self.movements, "On-chain movements")
        self.x402 = X402Panel(self.ctx, self.runner, proxy=self._x402_proxy, lapsed=self._x402_lapsed)
        self.tabs.addTab(self.x402, "x402 payments")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.layout_.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        """What each control does."""
        self.asset.currentIndexChanged.connect(self._changed)
        self.range.currentIndexChanged.connect(self._range_changed)
        self.bucket.currentIndexChanged.connect(self._changed)
        self.dimension.currentIndexChanged.connect(self.load_breakdown)
        self.first_day.dateChanged.connect(self._changed)
        self.last_day.dateChanged.connect(self._changed)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.movements:
            self.movements.load()
        elif self.tabs.widget(index) is self.x402:
            self._x402_stale = False
            self.x402.load(check=True)

    def on_changes(self, changes: Changes) -> None:
        """The x402 payments are read again when they changed (the tab on screen: now; else when next
        shown); the rest as every page (``Page.on_changes``)."""
        if changes.x402:
            if self.isVisible() and self.tabs.currentWidget() is self.x402:
                self.x402.load()
            else:
                self._x402_stale = True
        super().on_changes(changes)

    # ---- the chart, built on first show
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.ensure_chart()
        if self.tabs.currentWidget() is self.movements:
            self.movements.load()
        elif self.tabs.currentWidget() is self.x402:  # read again if it changed meanwhile; the chain asked
            if self._x402_stale:
                self._x402_stale = False
                self.x402.load()
            self.x402.check_lapsed()

    def ensure_chart(self) -> SpendingChart | None:
        if self.chart is None and not self.chart_failed:

            def build() -> SpendingChart:
                from paygo_desktop.gui.widgets.spending_chart import SpendingChart

                return SpendingChart()

            self.chart = load_chart(build, self.chart_holder)
            self.chart_failed = self.chart is None
            if self.chart is None:
                return None
            self.chart.hovered.connect(self._hovered)
            self.chart.bar_clicked.connect(self.show_sessions)
            self.chart_holder.addWidget(self.chart)
            self.chart.set_dark(self.palette().window().color().lightness() < 128)
            if self.data is not None:
                self._draw()
        return self.chart

    # ---- what is asked
    def query(self) -> ChartQuery:
        bucket = self.bucket.currentData()
        custom = None
        if self.range.currentData() == RangeKind.custom.value:
            custom = (self.first_day.date().toPython(), self.last_day.date().toPython())
        return ChartQuery(
            range_kind=RangeKind(self.range.currentData()),
            asset_key=self.asset.currentData(),
            bucket=None if bucket == AUTO else Bucket(bucket),
            dimension=Dimension(self.dimension.currentData()),
            custom=custom,  # type: ignore[arg-type]
        )

    def _range_changed(self) -> None:
        custom = self.range.currentData() == RangeKind.custom.value
        for widget in (self.first_day, self.to_label, self.last_day):
            widget.setVisible(custom)
        self._changed()

    def _changed(self) -> None:
        if not self._filling:
            self.refresh()

    def refresh(self) -> None:
        """Load the figures in the background; of loads that overlap (a change while loading), only the
        newest is shown (``NewestRead``)."""
        report, query, now = self.report, self.query(), datetime.now(UTC)
        self.figures.request(lambda: chart_data(report, query, now), self._figures_read)

    def _figures_read(self, data: ChartData) -> None:
        self.message.clear_message()
        self.show_data(data)

    def _figures_failed(self, message: str) -> None:
        self.message.error(message)

    # ---- what is shown
    def show_data(self, data: ChartData) -> None:
        self.data = data
        self._filling = True
        try:
            self.asset.clear()
            for asset in data.assets:
                self.asset.addItem(asset.label, asset.key)
            if data.asset is not None:
                self.asset.setCurrentIndex(self.asset.findData(data.asset.key))
            self.asset.setEnabled(len(data.assets) > 1)
        finally:
            self._filling = False
        if data.asset is None or data.period is None:
            self.stack.setCurrentWidget(self.empty)
            self.summary.setText("")
            return
        self.stack.setCurrentWidget(self.content)
        first = data.period.start.astimezone().date()
        last = (data.period.end - timedelta(microseconds=1)).astimezone().date()
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        self.board = None
        self._show_summary(data, span)
        self._read_value(data, span)
        self.load_breakdown()
        self.sessions.setRowCount(0)
        self.sessions_title.setText("Sessions: click a bar")
        if self.chart is not None:
            self._draw()

    def _show_summary(self, data: ChartData, span: str) -> None:
        """ "11.75 USDC spent (≈ $11.75 at today's price), …": the total, its value beside it once read."""
        total = short_amount(data.total) if data.total is not None else "0"
        tooltip = data.total.format() if data.total is not None else ""
        value = ""
        board, asset = self.board, data.asset
        if board is not None and asset is not None and data.total is not None and data.total:
            value = f" ({board.text(data.total)} at today's price)"
            tooltip += "\n" + board.note(asset.asset)
        self.summary.setToolTip(tooltip)
        nothing = " — nothing spent in this range" if data.total is not None and not data.total else ""
        self.summary.setText(f"{total} spent{value}, {span} (your time zone){nothing}")

    def _read_value(self, data: ChartData, span: str) -> None:
        """The total's value in the display currency now, from the current network's feeds (read off the
        GUI thread; spending on another network is not valued here)."""
        asset = data.asset
        if asset is None or data.total is None or not data.total or asset.network != self.ctx.network.key:
            return

        def done(board: PriceBoard) -> None:
            if self.data is data:  # not replaced meanwhile
                self.board = board
                self._show_summary(data, span)
                self._fill_breakdown(self.breakdown_lines)

        self.runner.run(self.ctx.fiat_board([asset.asset]), on_success=done, name="activity-value")

    def _draw(self) -> None:
        from paygo_desktop.gui.widgets.spending_chart import ChartBar

        data = self.data
        if self.chart is None or data is None or data.asset is None:
            return
        bars = [
            ChartBar(
                bucket_label(b.span.start, data.bucket),
                bucket_tick(b.span.start, data.bucket),
                b.amount,
                b.cumulative,
            )
            for b in data.series
        ]
        self.chart.set_bars(bars, data.asset.asset.symbol)  # the hover text follows from its hovered signal

    def load_breakdown(self) -> None:
        """The breakdown (its own task, after the chart: the chart is on screen first whatever it costs)."""
        data = self.data
        if data is None or data.asset is None or data.period is None:
            return
        self.breakdown_pending = True
        self.breakdown_title.setText("Adding up…")
        dimension = Dimension(self.dimension.currentData())
        shown = data

        def done(result: object) -> None:
            if self.data is not shown:  # a newer view is on its way
                return
            assert isinstance(result, list)
            self.breakdown_pending = False
            self.breakdown_title.setText("")
            self._fill_breakdown(result)

        def failed(message: str) -> None:
            self.breakdown_pending = False
            self.breakdown_title.setText("")
            self.message.error(message)

        self.runner.run(
            self.report.breakdown,
            data.asset,
            data.period,
            dimension,
            on_success=done,
            on_error=failed,
            name="activity-breakdown",
        )

    def _fill_breakdown(self, lines: list[BreakdownLine]) -> None:
        """The breakdown's lines, each amount with its value at today's price beside it once read."""
        self.breakdown_lines = lines
        data, board = self.data, self.board
        whole = data.total.units if data is not None and data.total is not None else 0
        self.breakdown.setRowCount(len(lines))
        for row, line in enumerate(lines):
            name = f"{line.label} ({line.detail})" if line.detail else line.label
            spent, spent_tip = short_amount(line.amount), line.amount.format()
            if board is not None and line.amount.units:
                spent += f" ({board.text(line.amount)})"
                spent_tip += "\n" + board.note(line.amount.asset)
            cells = (
                _cell(name, tooltip=name),
                _cell(spent, right=True, tooltip=spent_tip),
                _cell(share(line.amount.units, whole), right=True),
                _cell(str(line.sessions), right=True),
            )
            for column, cell in enumerate(cells):
                self.breakdown.setItem(row, column, cell)

    def hover_text(self, index: int) -> str:
        data = self.data
        if data is None or not 0 <= index < len(data.series):
            return ""
        bar = data.series[index]
        label = bucket_label(bar.span.start, data.bucket)
        board = self.board
        if board is None:
            since = f"{bar.cumulative.format()} since the start of the range"
            return f"{label}: {bar.amount.format()} spent; {since}"
        return (
            f"{label}: {bar.amount.format()} spent ({board.text(bar.amount)}); {bar.cumulative.format()} "
            f"since the start of the range ({board.text(bar.cumulative)}); values at today's price"
        )

    def _hovered(self, index: int) -> None:
        text = self.hover_text(index)
        self.hover.setText(text or "Point at a bar to see its exact figures; click it to list its sessions.")
        if self.chart is not None:
            self.chart.plot.setToolTip(text)

    def show_sessions(self, index: int) -> None:
        data = self.data
        if data is None or data.asset is None or not 0 <= index < len(data.series):
            return
        bar = data.series[index]
        label = bucket_label(bar.span.start, data.bucket)
        asset = data.asset

        def done(result: object) -> None:
            assert isinstance(result, list)
            self._fill_sessions(result, f"Sessions in {label}: {bar.amount.format()}")

        self.runner.run(
            self.report.sessions_in,
            asset,
            bar.span,
            on_success=done,
            on_error=self.message.error,
            name="activity-sessions",
        )

    def _fill_sessions(self, found: list[SessionSpend], title: str) -> None:
        self.sessions_title.setText(title if found else f"{title} — no sessions")
        self.sessions.setRowCount(len(found))
        for row, spend in enumerate(found):
            cells = (
                _cell(spend.service_name),
                _cell(spend.provider_name),
                _cell(local_time(spend.started_at) if spend.started_at else "–"),
                _cell(STATUS_NAMES.get(spend.status, spend.status.capitalize())),
                _cell(spend.spent.format(), right=True),
                _cell(spend.cost.format() if spend.cost is not None else "–", right=True),
            )
            for column, cell in enumerate(cells):
                self.sessions.setItem(row, column, cell)
