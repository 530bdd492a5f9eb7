"""The Sessions page: the sessions running now, each with its live meter, and the history of past ones.

The history is read from the store (``sessions.history``) with the filters the user picks, in a worker
thread (it is read again at every start, stop and failure, while a session's meter runs), and can be
exported as CSV. Each cost shows its value in the display currency beside it, at the price when the
session ended (``sessions.values``, read after the rows, off the GUI thread; "—" without a fresh price
then); the CSV carries that value, the price used and its time. Running sessions come from the session
controller, which bridges the engine to Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from paygo_desktop.changes import Changes
from paygo_desktop.gui.async_tasks import NewestRead
from paygo_desktop.gui.format import clock_duration, local_time
from paygo_desktop.gui.pages.base import Page
from paygo_desktop.gui.sessions.meter_view import MeterView
from paygo_desktop.gui.widgets.empty_state import EmptyState
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import RowsModel, readonly_view
from paygo_desktop.sessions.status import SessionStatus

if TYPE_CHECKING:
    from paygo_desktop.gui.receipt_dialog import ReceiptDialog
    from paygo_desktop.gui.sessions.controller import SessionController
    from paygo_desktop.prices.board import PriceBoard
    from paygo_desktop.prices.feeds import Currency
    from paygo_desktop.prices.fiat import FiatPrice
    from paygo_desktop.sessions.history import HistoryFilter
    from paygo_desktop.sessions.session_record import SessionRecord

COLUMNS = ("Service", "Provider", "Started", "Duration", "Cost", "Status", "Receipt")
STATUS_LABELS = {
    SessionStatus.STARTING: "Starting",
    SessionStatus.RUNNING: "Running",
    SessionStatus.STOPPING: "Stopping",
    SessionStatus.STOPPED: "Finished",
    SessionStatus.FAILED: "Stopped by a problem",
    SessionStatus.RECEIPT_INVALID: "Finished without a valid receipt",
    SessionStatus.INTERRUPTED: "Interrupted — will be checked again",
    SessionStatus.RECOVERED: "Recovered after a restart",
}
FILTERED_STATUSES = (
    SessionStatus.STOPPED,
    SessionStatus.FAILED,
    SessionStatus.RECEIPT_INVALID,
    SessionStatus.INTERRUPTED,
    SessionStatus.RECOVERED,
    SessionStatus.RUNNING,
)
RANGES = (("All time", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))


def receipt_text(record: SessionRecord) -> str:
    if record.receipt_ok is None:
        return "—"
    return "Checked" if record.receipt_ok else "Does not match"


class HistoryModel(RowsModel):
    columns = COLUMNS
    right_aligned = frozenset({3, 4})
    prices: dict[str, FiatPrice | None] | None = None  # local id → price when it ended; None: not read yet
    currency: Currency | None = None

    def set_prices(self, currency: Currency, prices: dict[str, FiatPrice | None]) -> None:
        self.currency, self.prices = currency, prices
        if self.rows:
            self.dataChanged.emit(self.index(0, 4), self.index(len(self.rows) - 1, 4))

    def value_text(self, record: SessionRecord) -> str:
        """ "≈ $1.50" at the price when the session ended, "—" without one, "" before prices are read."""
        from paygo_desktop.money import Amount
        from paygo_desktop.prices.fiat import MISSING

        if self.prices is None or record.local_id not in self.prices:
            return ""
        price = self.prices[record.local_id]
        return MISSING if price is None else price.text(Amount(record.terms.asset, record.cost))

    def tooltip(self, record: SessionRecord, column: int) -> str | None:
        if column == 4 and self.prices is not None and record.local_id in self.prices:
            price = self.prices[record.local_id]
            if price is None:
                return "No fresh price when this session ended: no value is shown."
            return (
                f"1 {record.terms.asset.symbol} = {price.price_text()} {price.currency.code} when the "
                f"session ended, from {price.source_text()}"
            )
        return record.stop_reason or None

    def cell(self, record: SessionRecord, column: int) -> str:
        if column == 0:
            return str(record.terms.service_name)
        if column == 1:
            return str(record.terms.provider_name)
        if column == 2:
            return local_time(record.started_at)
        if column == 3:
            return clock_duration(record.seconds)
        if column == 4:
            value = self.value_text(record)
            amount = str(record.terms.amount(record.cost))
            return f"{amount} ({value})" if value else amount
        if column == 5:
            return STATUS_LABELS.get(record.status, str(record.status).capitalize())
        return receipt_text(record)


class SessionsPage(Page):
    key = "sessions"
    title = "Sessions"
    shows = Changes(sessions=True)

    def __init__(self, controller: SessionController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.meters: dict[str, MeterView] = {}
        self._known_prices: dict[tuple[str, str], FiatPrice] = {}  # (currency, local id) → price then

        self.message = InlineMessage(self, "Session messages")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        # only the newest read is shown (filters may change while one is out), and its sessions' prices
        runner = controller.runner
        self.history = NewestRead(runner, "session-history", failed=self.message.error, parent=self)
        self.prices = NewestRead(runner, "session-prices", parent=self)
        self.layout_.addWidget(self.message)

        self._build_running()
        self._build_history()
        controller.message.connect(self.show_message)
        controller.channel_closed.connect(self._channel_closed)

    def _build_running(self) -> None:
        """The cards of the sessions running now."""
        running_title = QLabel("Running now")
        running_title.setObjectName("CardTitle")
        self.layout_.addWidget(running_title)
        self.no_running = QLabel("No session is running. Start one from the Services page.")
        self.no_running.setObjectName("Hint")
        self.no_running.setAccessibleName("No running sessions")
        self.layout_.addWidget(self.no_running)
        self.running_box = QVBoxLayout()
        running_widget = QWidget()
        running_widget.setLayout(self.running_box)
        self.running_area = QScrollArea()
        self.running_area.setWidgetResizable(True)
        self.running_area.setWidget(running_widget)
        self.running_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.running_area.setMinimumHeight(320)  # one whole card without scrolling (with a feed's live view)
        self.running_area.hide()
        self.layout_.addWidget(self.running_area, 2)

    def _build_history(self) -> None:
        """The history's filters, table and empty state, and what they do."""
        history_title = QLabel("History")
        history_title.setObjectName("CardTitle")
        self.layout_.addWidget(history_title)
        filters = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by provider or service")
        self.search.setAccessibleName("Filter by provider or service")
        self.status_filter = QComboBox()
        self.status_filter.setAccessibleName("Filter by status")
        self.status_filter.addItem("Any status", None)
        for status in FILTERED_STATUSES:
            self.status_filter.addItem(STATUS_LABELS[status], status.value)
        self.range_filter = QComboBox()
        self.range_filter.setAccessibleName("Filter by date")
        for label, days in RANGES:
            self.range_filter.addItem(label, days)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export the sessions shown as CSV")
        self.receipt_button = QPushButton("Receipt…")
        self.receipt_button.setAccessibleName("Show the chosen session's receipt and its check")
        self.receipt_button.setToolTip(
            "The provider's signed receipt, its check, and the proof file (or double-click)"
        )
        self.receipt_button.setEnabled(False)
        widgets = (
            self.search,
            self.status_filter,
            self.range_filter,
            self.receipt_button,
            self.export_button,
        )
        for widget in widgets:
            filters.addWidget(widget, 2 if widget is self.search else 0)
        self.layout_.addLayout(filters)

        self.model = HistoryModel(self)
        self.table = readonly_view(self.model, "Session history")
        self.layout_.addWidget(self.table, 3)
        self.empty_history = EmptyState(
            "No finished sessions yet",
            "A session starts from the Services page: pick a service, set a budget, and pay for exactly the "
            "seconds you use.",
            "Each session appears here with its duration, what it cost, and whether the provider's signed "
            "receipt matched your own meter. Export them as CSV at any time.",
        )
        self.layout_.addWidget(self.empty_history, 3)

        self.search.textChanged.connect(self.load_history)
        self.status_filter.currentIndexChanged.connect(self.load_history)
        self.range_filter.currentIndexChanged.connect(self.load_history)
        self.export_button.clicked.connect(self.export_csv)
        self.receipt_button.clicked.connect(self.open_receipt)
        self.table.doubleClicked.connect(self.open_receipt)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

    # -- what is shown -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.sync_meters()
        self.load_history()

    def sync_meters(self) -> None:
        """A card per running session; an ended one keeps its card (final numbers, why it stopped)
        until the user dismisses it."""
        for session in self.controller.live():
            if session.local_id not in self.meters:
                view = MeterView(session, access_of=self.controller.access_of, runner=self.controller.runner)
                view.stop_requested.connect(self.controller.stop)
                view.dismissed.connect(self.dismiss)
                view.close_requested.connect(self.controller.close_channel)
                self.running_box.insertWidget(0, view)
                self.meters[session.local_id] = view
                self._read_price(view)
        for view in self.meters.values():
            view.update_numbers()
        self.running_area.setVisible(bool(self.meters))
        self.no_running.setVisible(not self.meters)

    def _read_price(self, view: MeterView) -> None:
        """The session asset's value in the display currency, for the meter (read once, off the GUI)."""
        asset, ctx = view.live.terms.asset, self.controller.ctx

        def done(board: PriceBoard) -> None:
            if self.meters.get(view.live.local_id) is view:  # not dismissed meanwhile
                view.set_price(board.price(asset), board.note(asset))

        self.controller.runner.run(ctx.fiat_board([asset]), on_success=done, name="meter-price")

    def _channel_closed(self, local_id: str, ok: bool) -> None:
        view = self.meters.get(local_id)
        if view is None:
            return
        if ok:
            view.close_button.setText("Channel closed")
        else:
            view.close_failed()

    def dismiss(self, local_id: str) -> None:
        view = self.meters.pop(local_id, None)
        if view is not None:
            self.running_box.removeWidget(view)
            view.deleteLater()
        self.running_area.setVisible(bool(self.meters))
        self.no_running.setVisible(not self.meters)

    def filters(self) -> HistoryFilter:
        from paygo_desktop.sessions.history import HistoryFilter

        days = self.range_filter.currentData()
        since = None
        if days is not None:
            midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
            since = (midnight - timedelta(days=days)).astimezone(UTC)
        return HistoryFilter(
            text=self.search.text().strip() or None, status=self.status_filter.currentData(), since=since
        )

    def history_reader(self) -> Callable[[], list[SessionRecord]]:
        """A blocking read of the past sessions for the filters shown now (a running session is on its card
        above, with live numbers, not here)."""
        live = {s.local_id for s in self.controller.live() if s.is_active}
        history, filters = self.controller.history, self.filters()

        def read() -> list[SessionRecord]:
            return [r for r in history.find(filters) if r.local_id not in live]

        return read

    def load_history(self) -> None:
        self.history.request(self.history_reader(), self._history_read)

    def _history_read(self, records: list[SessionRecord]) -> None:
        self._show_history(records)
        self.prices.request(partial(self._priced, records), self._prices_read)

    async def _priced(self, records: list[SessionRecord]) -> tuple[Currency, dict[str, FiatPrice | None]]:
        """The sessions' prices when they ended; those already found are not asked again (a finished
        session's price never changes), those without one are (the node may answer now)."""
        code = self.controller.ctx.settings.display_currency
        cached = self._known_prices
        known = {r.local_id: cached[(code, r.local_id)] for r in records if (code, r.local_id) in cached}
        missing = [r for r in records if r.local_id not in known]
        currency, found = await self.controller.ctx.session_prices(missing)
        for local_id, price in found.items():
            if price is not None:
                self._known_prices[(currency.code, local_id)] = price
        return currency, {**found, **known}

    def _prices_read(self, result: tuple[Currency, dict[str, FiatPrice | None]]) -> None:
        self.model.set_prices(*result)

    def _show_history(self, records: list[SessionRecord]) -> None:
        self.model.prices = None
        self.model.set_rows(records)
        anything = bool(records) or bool(self.search.text().strip()) or self.status_filter.currentIndex() > 0
        anything = anything or self.range_filter.currentIndex() > 0
        self.table.setVisible(anything)
        self.empty_history.setVisible(not anything)
        self.export_button.setEnabled(bool(records))

    def show_message(self, text: str, is_error: bool) -> None:
        if is_error:
            self.message.error(text)
        else:
            self.message.ok(text)

    # -- a receipt ------------------------------------------------------------------------------------
    def selected_record(self) -> SessionRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _selection_changed(self, *_args: object) -> None:
        record = self.selected_record()
        self.receipt_button.setEnabled(record is not None and record.receipt_ok is not None)

    def open_receipt(self, *_args: object) -> ReceiptDialog | None:
        from paygo_desktop.gui.receipt_dialog import ReceiptDialog

        record = self.selected_record()
        if record is None:
            return None
        controller = self.controller

        def key() -> Any:
            return controller._wallet().local_account(record.terms.account)

        self.receipt_dialog = ReceiptDialog(controller.runner, controller.ctx, record, key, self)
        self.receipt_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.receipt_dialog.open()
        return self.receipt_dialog

    # -- export --------------------------------------------------------------------------------------
    def export_csv(self, *, path: str | None = None) -> None:
        """The sessions shown, with their values when they ended, to a CSV file (priced and written off the
        GUI thread)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export sessions", "paygo-sessions.csv", "CSV files (*.csv)"
            )
        if not path:
            return
        target = path
        self.controller.runner.run(
            self._export(Path(target), list(self.model.rows)),
            on_success=lambda count: self.message.ok(
                f"Exported {count} session{'s' if count != 1 else ''} to {target}."
            ),
            on_error=lambda error: self.message.error(f"Could not export to {target}: {error}"),
            name="sessions-export",
        )

    async def _export(self, path: Path, records: list[SessionRecord]) -> int:
        import asyncio
        import io

        from paygo_desktop.fileio import atomic_write_text
        from paygo_desktop.sessions.history_csv import export_csv

        currency, prices = await self._priced(records)
        buffer = io.StringIO(newline="")
        count = export_csv(records, buffer, prices=prices, currency=currency)
        await asyncio.to_thread(atomic_write_text, path, buffer.getvalue())
        return count
