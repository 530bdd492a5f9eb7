"""Activity's "x402 payments": what the wallet paid for HTTP requests with x402 (``x402.payer``), each with
the request it paid for, and the spending limits set per site (``paygo-desktop x402 policy``). Read-only:
the limits are set from the command line for now. Both lists are read off the GUI thread. On top, when the
app runs one, the local x402 proxy's Start/Stop and address (``X402ProxyBox``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import RowsModel, readonly_view
from paygo_desktop.money import Amount, Asset

if TYPE_CHECKING:
    from paygo_desktop.gui.x402_proxy_control import X402ProxyControl

SHOWN = 500
STATUS_WORDS = {"pending": "Sent, not confirmed", "settled": "Paid", "failed": "Failed"}


def _amount(symbol: str, decimals: int, units: int | None) -> str:
    return "No limit" if units is None else Amount(Asset(symbol, decimals), units).format()


def _paid(row: Any) -> str:
    """What a payment moved: ``exact`` its amount; ``upto`` what it settled of its maximum, or the maximum."""
    most = _amount(row.asset_symbol, row.decimals, row.amount)
    if row.scheme != "upto":
        return most
    if row.status == "settled" and row.settled_amount is not None:
        return f"{_amount(row.asset_symbol, row.decimals, row.settled_amount)} of at most {most}"
    return f"at most {most}"


class PaymentsModel(RowsModel):
    columns = ("When", "Site", "Request", "Amount", "Status", "Transaction")
    right_aligned = frozenset({3})

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return local_time(row.created_at)
        if column == 1:
            return str(row.origin)
        if column == 2:
            return f"{row.method} {row.url[len(row.origin) :] or '/'}"
        if column == 3:
            return _paid(row)
        if column == 4:
            return STATUS_WORDS.get(row.status, row.status)
        return short_address(row.tx_hash) if row.tx_hash else ""

    def tooltip(self, row: Any, column: int) -> str | None:
        if column == 2:
            return str(row.url)
        if column == 4 and row.error:
            return str(row.error)
        if column == 5 and row.tx_hash:
            return str(row.tx_hash)
        return None


class LimitsModel(RowsModel):
    columns = ("Site", "Per request", "Per 24 hours", "In total", "Ask first")
    right_aligned = frozenset({1, 2, 3})

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return str(row.origin) + ("" if row.allowed else " (blocked)")
        if column == 4:
            return "Yes" if row.ask_first else "No"
        units = (row.max_per_request, row.max_per_day, row.max_total)[column - 1]
        return _amount(row.asset_symbol, row.decimals, units)


class X402Panel(QWidget):
    def __init__(
        self,
        ctx: Any,
        runner: TaskRunner,
        parent: QWidget | None = None,
        proxy: X402ProxyControl | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.proxy_box = None
        if proxy is not None:
            from paygo_desktop.gui.widgets.x402_proxy_box import X402ProxyBox

            self.proxy_box = X402ProxyBox(proxy)
            layout.addWidget(self.proxy_box)
        row = QHBoxLayout()
        self.note = QLabel(
            "HTTP requests this wallet paid with x402, within the limits you set per site "
            "(paygo-desktop x402 policy set …). A site without limits is never paid. "
            "Export CSV… writes every payment."
        )
        self.note.setObjectName("Hint")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.note, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Read the x402 payments again")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export every x402 payment as CSV")
        row.addWidget(self.refresh_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        self.message = InlineMessage(self, "x402 message")
        layout.addWidget(self.message)
        if proxy is not None:
            proxy.message.connect(
                lambda text, bad: self.message.error(text) if bad else self.message.ok(text)
            )
        self.payments = PaymentsModel(self)
        layout.addWidget(readonly_view(self.payments, "x402 payments"), 3)
        limits_title = QLabel("Limits per site")
        layout.addWidget(limits_title)
        self.limits = LimitsModel(self)
        layout.addWidget(readonly_view(self.limits, "x402 limits per site"), 1)
        self.refresh_button.clicked.connect(self.load)
        self.export_button.clicked.connect(self.export_csv)

    def load(self) -> None:
        from paygo_desktop.store.x402 import X402Store

        def read() -> tuple[list[Any], list[Any]]:  # SQL: in a worker thread
            records = X402Store(self.ctx.store)
            return records.payments()[:SHOWN], records.policies()

        self.refresh_button.setEnabled(False)
        self.runner.run(read, on_success=self._show, on_error=self._failed, name="x402-payments")

    def _show(self, found: tuple[list[Any], list[Any]]) -> None:
        self.refresh_button.setEnabled(True)
        payments, policies = found
        self.payments.set_rows(payments)
        self.limits.set_rows(policies)

    def export_csv(self, *, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export x402 payments", "paygo-x402-payments.csv", "CSV files (*.csv)"
            )
        if not path:
            return
        target = Path(path)

        def export() -> int:  # SQL and the file: in a worker thread
            from paygo_desktop.fileio import atomic_write_text
            from paygo_desktop.history.x402_csv import export_csv
            from paygo_desktop.store.x402 import X402Store

            buffer = io.StringIO(newline="")
            count = export_csv(X402Store(self.ctx.store).payments(), buffer)
            atomic_write_text(target, buffer.getvalue(), 0o644)
            return count

        def done(count: int) -> None:
            self.message.ok(f"Exported {count} payment{'s' if count != 1 else ''} to {target}.")

        self.runner.run(export, on_success=done, on_error=self.message.error, name="x402-export")

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.message.error(f"The x402 payments could not be read: {message}")
