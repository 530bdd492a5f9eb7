"""The Vendor page, for a user who runs a provider: earnings (claimed on-chain and pending), per day and per
service, the sessions running now with their meters, "Claim now", and a CSV export.

It signs the provider's vendor requests with the provider's own key, which must be an account of this
wallet. Loading (signed HTTP requests, the vault's event sync, SQLite sums) runs in a worker thread with
its own asyncio loop (``reports.vendor_earnings``); progress comes back through a signal.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.errors import UserFacingError
from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.widgets.busy import BusyIndicator
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import readonly_table

LIVE_REFRESH_MS = 5_000
VENDOR_READ_TIMEOUT = 120.0  # seconds: the first read syncs the vault's Claimed events


def run_bounded(work: Any) -> Any:
    """Run ``work`` (a coroutine) to its end in this worker thread, or give up after the timeout with a
    message: a node or provider that accepts a connection and never answers must not hold a thread."""
    try:
        return asyncio.run(asyncio.wait_for(work, VENDOR_READ_TIMEOUT))
    except TimeoutError:
        raise UserFacingError("The provider or the network did not answer in time; try again.") from None


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


class VendorPage(Page):
    key = "vendor"
    title = "Vendor"
    progress = Signal(str)  # from the worker thread; queued to the GUI thread
    overview: Any
    account: str | None

    def __init__(self, ctx: Any, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.overview: Any = None
        self.account: str | None = None  # the wallet account that is the provider's key
        self.provider_url: str | None = None
        self.claim_status = ""

        intro = QLabel(
            "Run a provider? Connect to it with its own key (an account of this wallet) to see what you "
            "earned, what is already claimed on-chain and what is pending."
        )
        intro.setWordWrap(True)
        intro.setObjectName("Hint")
        self.layout_.addWidget(intro)
        row = QHBoxLayout()
        caption = QLabel("Provider")
        self.provider = QComboBox()
        self.provider.setEditable(True)
        self.provider.setAccessibleName("Provider address")
        self.provider.setMinimumWidth(320)
        line = self.provider.lineEdit()
        if line is not None:
            line.setAccessibleName("Provider address")
            line.setPlaceholderText("Your provider's address, e.g. http://127.0.0.1:8600")
        caption.setBuddy(self.provider)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setAccessibleName("Connect to the provider with its key")
        self.claim_button = QPushButton("Claim now")
        self.claim_button.setAccessibleName("Claim the pending vouchers on-chain now")
        self.claim_button.setToolTip(
            "The provider sends one batch transaction claiming every unclaimed voucher"
        )
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export the earnings as CSV")
        controls: tuple[QWidget, ...] = (
            caption,
            self.provider,
            self.connect_button,
            self.claim_button,
            self.export_button,
        )
        for control in controls:
            row.addWidget(control)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.busy = BusyIndicator()
        self.layout_.addWidget(self.busy)
        self.message = InlineMessage(self, "Vendor message")
        self.layout_.addWidget(self.message)
        self.signed_in = QLabel()
        self.signed_in.setAccessibleName("Connected provider")
        self.signed_in.setTextFormat(Qt.TextFormat.PlainText)
        self.layout_.addWidget(self.signed_in)

        self.stack = QStackedWidget()
        self.empty = EmptyState(
            "Not connected to a provider",
            "Choose your provider's address and press Connect. The provider's key must be an account of "
            "this wallet: on the Sandbox it is the tenth account of the test phrase.",
            "Your earnings per day, what was claimed on-chain and what is still pending, your services, "
            "and the sessions running now will appear here.",
        )
        self.content = QWidget()
        columns = QHBoxLayout(self.content)  # two columns that size their sections independently
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
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.content)
        self.layout_.addWidget(self.stack, 1)

        self.connect_button.clicked.connect(lambda: self.connect_provider())
        self.claim_button.clicked.connect(self.claim)
        self.export_button.clicked.connect(self.choose_export)
        self.progress.connect(self.busy.start)
        self.chart_asset.currentTextChanged.connect(lambda _symbol: self._draw_chart())
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_REFRESH_MS)
        self.timer.timeout.connect(self._reload_quietly)
        self._set_connected(False)

    # ---- page life
    def refresh(self) -> None:
        current = self.provider.currentText()
        self.provider.clear()
        urls = self.ctx.provider_urls()
        for url in urls:
            self.provider.addItem(url)
        self.provider.setCurrentText(current or (urls[0] if urls else ""))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.overview is not None:
            self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def _set_connected(self, connected: bool) -> None:
        self.claim_button.setEnabled(connected)
        self.export_button.setEnabled(connected)
        self.stack.setCurrentWidget(self.content if connected else self.empty)

    # ---- connecting and loading
    def _provider_key_account(self, signing_key: str) -> str:
        for record in self.ctx.accounts.list():
            if record.address.lower() == signing_key.lower():
                return str(record.address)
        raise UserFacingError(
            f"This provider signs with {signing_key}, which is not an account of this wallet. Import its "
            "key (Settings → Import another key) to manage the provider here."
        )

    def _load_work(self, url: str, quiet: bool = False) -> Any:
        """The blocking work of a (re)load, for a worker thread: its own event loop, client and web3."""
        from paygo_desktop.protocol.client import ProviderClient
        from paygo_desktop.reports.vendor_earnings import VendorError, load_overview

        ctx = self.ctx
        network = ctx.network
        vault = ctx.vault_address(network)
        if not vault:
            raise VendorError(f"No PayGo vault is known on {network.name}; there is nothing to claim from.")
        say = (lambda _text: None) if quiet else self.progress.emit

        async def work() -> tuple[str, Any]:
            async with ProviderClient(url) as client:
                say("Connecting to the provider…")
                info = await client.provider_info()
                account = self._provider_key_account(info.signing_key)
                key = ctx.wallet.local_account(account)
                overview = await load_overview(
                    client,
                    key,
                    ctx.store,
                    rpc_url=network.rpc_url,
                    chain_id=network.chain_id,
                    vault_address=vault,
                    on_progress=say,
                )
                return account, overview

        return run_bounded(work())

    def connect_provider(self, *, keep_message: bool = False) -> None:
        url = self.provider.currentText().strip()
        if not url:
            self.message.error("Enter your provider's address, for example http://127.0.0.1:8600.")
            return
        if not keep_message:
            self.message.clear_message()
        self.busy.start("Connecting to the provider…")
        self.connect_button.setEnabled(False)

        def done(result: object) -> None:
            self.busy.stop()
            self.connect_button.setEnabled(True)
            pair: Any = result
            account, overview = pair
            self.provider_url = url
            self.account = account
            self.show_overview(overview)
            if self.isVisible():
                self.timer.start()

        def failed(message: str) -> None:
            self.busy.stop()
            self.connect_button.setEnabled(True)
            self.message.error(message)

        self.runner.run(self._load_work, url, on_success=done, on_error=failed, name="vendor-connect")

    def _reload_quietly(self) -> None:
        """Every few seconds while shown: the meters move, claims land."""
        if self.provider_url is None or self.runner.busy:
            return

        def done(result: object) -> None:
            pair: Any = result
            self.show_overview(pair[1])

        self.runner.run(
            self._load_work,
            self.provider_url,
            True,
            on_success=done,
            on_error=lambda _m: None,
            name="vendor-tick",
        )

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
        if self.chart is None:
            from paygo_desktop.gui.widgets.earnings_chart import EarningsChart

            self.chart = EarningsChart()
            self.chart.hovered.connect(self._chart_hovered)
            self.chart_holder.addWidget(self.chart)
            self.chart.set_dark(self.palette().window().color().lightness() < 128)
        return self.chart

    def _draw_chart(self) -> None:
        from paygo_desktop.reports.vendor_earnings import earnings_by_day

        if self.overview is None:
            return
        asset = next(
            (d.asset for d in self.overview.days if d.asset.symbol == self.chart_asset.currentText()), None
        )
        self.chart_days = earnings_by_day(self.overview, asset) if asset is not None else []
        chart = self.ensure_chart()
        chart.set_days(self.chart_days, asset.symbol if asset is not None else "")
        if not self.chart_days:
            self.chart_hover.setText("No earnings yet: days appear here once sessions have paid.")
        elif chart.hovered_index < 0:
            self.chart_hover.setText("Point at a day to see its exact figures.")

    def _chart_hovered(self, index: int) -> None:
        if not 0 <= index < len(self.chart_days):
            self.chart_hover.setText("Point at a day to see its exact figures.")
            return
        d = self.chart_days[index]
        self.chart_hover.setText(
            f"{d.day.strftime('%a %d %b %Y')} (UTC): earned {d.earned.format()}, claimed on-chain "
            f"{d.claimed.format()}; pending at the end of the day {d.pending.format()}"
        )

    # ---- claim now
    def claim(self) -> None:
        if self.provider_url is None or self.account is None:
            return
        from paygo_desktop.protocol.client import ProviderClient
        from paygo_desktop.reports.vendor_earnings import claim_now

        url, account, ctx = self.provider_url, self.account, self.ctx
        rpc_url = ctx.network.rpc_url
        say = self.progress.emit

        def work() -> Any:
            async def run() -> Any:
                async with ProviderClient(url) as client:
                    return await claim_now(client, ctx.wallet.local_account(account), rpc_url, say)

            return run_bounded(run())

        self.message.clear_message()
        self.claim_button.setEnabled(False)
        self.busy.start("Asking the provider to claim…")

        def done(result: object) -> None:
            self.busy.stop()
            self.claim_button.setEnabled(True)
            outcome: Any = result
            if outcome.tx_hash is None:
                self.claim_status = "nothing was left to claim"
                self.message.ok("Nothing to claim: every voucher is already claimed on-chain.")
            elif outcome.ok:
                self.claim_status = f"last claim confirmed in block {outcome.block}"
                self.message.ok(
                    f"Claimed {outcome.channels} channel(s) in transaction {outcome.tx_hash}, "
                    f"confirmed in block {outcome.block}."
                )
            else:
                self.claim_status = "the last claim failed"
                self.message.error(f"The claim transaction {outcome.tx_hash} failed on-chain.")
            self.connect_provider(keep_message=True)  # read the new payouts

        def failed(message: str) -> None:
            self.busy.stop()
            self.claim_button.setEnabled(True)
            self.message.error(message)

        self.runner.run(work, on_success=done, on_error=failed, name="vendor-claim")

    # ---- CSV
    def choose_export(self) -> None:
        if self.overview is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Export earnings", str(Path.home() / "paygo-earnings.csv"), "CSV (*.csv)"
        )
        if name:
            self.export_csv(Path(name))

    def export_csv(self, target: Path) -> None:
        from paygo_desktop.fileio import atomic_write_text
        from paygo_desktop.reports.vendor_earnings import overview_csv

        try:
            atomic_write_text(target, overview_csv(self.overview))
        except OSError as exc:
            self.message.error(f"Could not write {target}: {exc.strerror or exc}.")
            return
        self.message.ok(f"Saved the earnings to {target}.")
