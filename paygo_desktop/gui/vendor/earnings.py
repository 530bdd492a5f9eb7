"""The Vendor page's earnings: per asset, per day (chart and table), per service, and the sessions running
now, drawn from the ``vendor.earnings`` overview the page loaded. The page (gui/pages/vendor_page.py) mixes
this in and owns the loading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.widgets.chart_loader import load_chart
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.tables import readonly_table

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext
    from paygo_desktop.gui.pages.base import Page

    _PageBase = Page
else:
    _PageBase = object


def _fill(table: QTableWidget, rows: list[tuple[str, ...]], right_from: int = 1) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c >= right_from:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


class VendorEarnings(_PageBase):
    """The earnings of ``VendorPage``, which mixes them in (what they use of the page is declared here)."""

    if TYPE_CHECKING:
        ctx: AppContext
        overview: Any
        account: str | None
        claim_status: str
        signed_in: QLabel

        def _build_tabs(self, earnings: QWidget) -> None: ...

        def _set_connected(self, connected: bool) -> None: ...

    def _build_earnings(self) -> None:
        """Earnings per asset, per day (chart and table), per service, and the sessions running now."""
        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "Not connected to a provider",
            "Choose your provider's address and press Connect. The provider's key must be an account of "
            "this wallet: on the Sandbox it is the tenth account of the test phrase.",
            "Your earnings per day, what was claimed on-chain and what is still pending, your services, "
            "and the sessions running now will appear here.",
        )
        earnings = QWidget()
        columns = QHBoxLayout(earnings)  # two columns that size their sections independently
        columns.setContentsMargins(0, 0, 0, 0)
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        self.totals = readonly_table(["Asset", "Earned", "Claimed on-chain", "Pending"], "Earnings per asset")
        self.days = readonly_table(
            ["Day (UTC)", "Earned", "Sessions started", "Claimed on-chain"], "Earnings per day"
        )
        self.services = readonly_table(["Service", "Earned", "Sessions", "Live now"], "Earnings per service")
        self.live = readonly_table(["Service", "Payer", "Running for", "Meter"], "Sessions running now")
        self.over_time = QTabWidget()
        self.over_time.setAccessibleName("Earnings over time")
        chart_tab = QWidget()
        chart_layout = QVBoxLayout(chart_tab)
        chart_layout.setContentsMargins(4, 4, 4, 4)
        asset_row = QHBoxLayout()
        self.chart_asset = QComboBox()
        self.chart_asset.setAccessibleName("Asset shown on the earnings chart")
        asset_caption = QLabel("Asset")
        asset_caption.setBuddy(self.chart_asset)
        self.chart_hover = QLabel("Point at a day to see its exact figures.")
        self.chart_hover.setAccessibleName("Earnings on the day under the pointer")
        self.chart_hover.setObjectName("Hint")
        asset_row.addWidget(asset_caption)
        asset_row.addWidget(self.chart_asset)
        asset_row.addWidget(self.chart_hover, 1)
        chart_layout.addLayout(asset_row)
        self.chart_holder = QVBoxLayout()
        chart_layout.addLayout(self.chart_holder, 1)
        self.chart: Any = None  # EarningsChart, built when earnings are first shown (pyqtgraph loads then)
        self.chart_failed = False  # its libraries did not load: the page says so in its place
        self.chart_days: list[Any] = []
        self.over_time.addTab(chart_tab, "Chart")
        self.over_time.addTab(self.days, "Table")
        for column, title, widget, stretch in (
            (left, "Totals: earned, claimed on-chain, pending", self.totals, 0),
            (left, "Earnings per day", self.over_time, 1),
            (right, "Sessions running now", self.live, 1),
            (right, "Per service", self.services, 2),
        ):
            label = QLabel(title)
            label.setObjectName("EmptyTitle")
            column.addWidget(label)
            column.addWidget(widget, stretch)
        self._build_tabs(earnings)

    def show_overview(self, overview: Any) -> None:
        self.overview = overview
        self._set_connected(True)
        account = self.account or overview.provider_address
        label = next((r.label for r in self.ctx.accounts.list() if r.address == account), "")
        status = f" — {self.claim_status}" if self.claim_status else ""
        who = label or "the provider key"
        self.signed_in.setText(
            f"{overview.provider_name}, signed in as {who} ({short_address(account)}); "
            f"chain read to block {overview.synced_to_block}, {local_time(overview.loaded_at)}{status}"
        )
        _fill(
            self.totals,
            [
                (a.asset.symbol, a.earned.format(), a.paid_out.format(), a.pending.format())
                for a in overview.assets
            ],
        )
        rows = max(self.totals.rowCount(), 1)  # as tall as its rows: the chart gets the rest
        self.totals.setFixedHeight(
            self.totals.horizontalHeader().height()
            + rows * self.totals.verticalHeader().defaultSectionSize()
            + 2 * self.totals.frameWidth()
            + 2
        )
        _fill(
            self.days,
            [
                (d.day.strftime("%Y-%m-%d"), d.earned.format(), str(d.sessions), d.paid_out.format())
                for d in reversed(overview.days)
            ],
        )
        _fill(
            self.services,
            [(s.name, s.earned.format(), str(s.sessions), str(s.live)) for s in overview.services],
        )
        self._show_chart_assets(overview)
        now = int(datetime.now(UTC).timestamp())
        _fill(
            self.live,
            [
                (m.service, short_address(m.payer), duration(max(m.seconds, 0)), m.amount.format())
                for m in overview.live
            ],
            right_from=2,
        )
        self.live.setToolTip(
            f"As the provider counted them at {local_time(datetime.fromtimestamp(now, UTC))}"
        )

    # ---- the earnings chart
    def _show_chart_assets(self, overview: Any) -> None:
        symbols = list(dict.fromkeys(d.asset.symbol for d in overview.days))
        current = self.chart_asset.currentText()
        if symbols != [self.chart_asset.itemText(i) for i in range(self.chart_asset.count())]:
            self.chart_asset.blockSignals(True)
            self.chart_asset.clear()
            self.chart_asset.addItems(symbols)
            if current in symbols:
                self.chart_asset.setCurrentText(current)
            self.chart_asset.blockSignals(False)
        self.chart_asset.setEnabled(len(symbols) > 1)
        self._draw_chart()

    def ensure_chart(self) -> Any:
        if self.chart is None and not self.chart_failed:

            def build() -> Any:
                from paygo_desktop.gui.widgets.earnings_chart import EarningsChart

                return EarningsChart()

            self.chart = load_chart(build, self.chart_holder)
            self.chart_failed = self.chart is None
            if self.chart is None:
                return None
            self.chart.hovered.connect(self._chart_hovered)
            self.chart_holder.addWidget(self.chart)
            self.chart.set_dark(self.palette().window().color().lightness() < 128)
        return self.chart

    def _draw_chart(self) -> None:
        from paygo_desktop.vendor.earnings import earnings_by_day

        if self.overview is None:
            return
        asset = next(
            (d.asset for d in self.overview.days if d.asset.symbol == self.chart_asset.currentText()), None
        )
        self.chart_days = earnings_by_day(self.overview, asset) if asset is not None else []
        chart = self.ensure_chart()
        if chart is None:
            return
        chart.set_days(self.chart_days, asset.symbol if asset is not None else "")  # hover text: its signal
        if not self.chart_days:
            self.chart_hover.setText("No earnings yet: days appear here once sessions have paid.")

    def _chart_hovered(self, index: int) -> None:
        if not 0 <= index < len(self.chart_days):
            self.chart_hover.setText("Point at a day to see its exact figures.")
            return
        d = self.chart_days[index]
        self.chart_hover.setText(
            f"{d.day.strftime('%a %d %b %Y')} (UTC): earned {d.earned.format()}, claimed on-chain "
            f"{d.claimed.format()}; pending at the end of the day {d.pending.format()}"
        )
