"""Activity's "On-chain movements": every transfer into or out of the account, with its value then, and a
CSV of all of them for an accountant.

Shown, it syncs the account's history from the chain (``history.account_history``, resumable: only new
blocks are read) and lists the newest movements with their value at the time (``prices.history``). The
note above the table says what the list covers (since which block, and whether the node shows ETH
received from others). Export CSV… writes every movement, not only those listed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from paygo_desktop.gui.async_tasks import TaskRunner
from paygo_desktop.gui.format import local_time, short_address
from paygo_desktop.gui.widgets.messages import InlineMessage
from paygo_desktop.gui.widgets.tables import RowsModel, readonly_view

DIRECTION_WORDS = {"in": "Received", "out": "Sent", "self": "To itself", "fee": "Fee (no transfer)"}
SHOWN = 200


class MovementsModel(RowsModel):
    columns = ("When", "What", "Amount", "Value then", "From / to", "Fee", "Transaction")
    right_aligned = frozenset({2, 3, 5})

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return local_time(row.at)
        if column == 1:
            return DIRECTION_WORDS.get(row.direction, row.direction) + (" (failed)" if row.failed else "")
        if column == 2:
            return str(row.amount_text()) if row.direction != "fee" else ""
        if column == 3:
            return str(row.value_text()) if row.direction != "fee" else ""
        if column == 4:
            return short_address(row.counterparty) if row.counterparty else ""
        if column == 5:
            return str(row.fee_text())
        return short_address(row.tx_hash)

    def tooltip(self, row: Any, column: int) -> str | None:
        if column == 3 and row.price is not None:
            price = row.price
            return f"1 {row.asset.symbol} = {price.price_text()} {price.currency.code}, {price.source_text()}"
        if column == 3:
            return "No fresh price at the time of this movement: no value is shown."
        if column == 4:
            return f"From {row.sender}\nTo {row.recipient}"
        if column == 6:
            return f"{row.tx_hash} (block {row.block_number:,})"
        return None


class MovementsPanel(QWidget):
    def __init__(self, ctx: Any, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self._loading = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.note = QLabel("Reading this account's history from the network…")
        self.note.setObjectName("Hint")
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setAccessibleName("What the movements cover")
        row.addWidget(self.note, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Read new movements")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setAccessibleName("Export every on-chain movement as CSV")
        self.export_button.setToolTip(
            "Every movement with its date (UTC), transaction, from, to, token, amount, fee and value at the "
            "time, with the price used and its time: for spreadsheets and accountants' tools"
        )
        row.addWidget(self.refresh_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        self.message = InlineMessage(self, "Movements message")
        layout.addWidget(self.message)
        self.model = MovementsModel(self)
        self.table = readonly_view(self.model, "On-chain movements")
        layout.addWidget(self.table, 1)
        self.refresh_button.clicked.connect(self.load)
        self.export_button.clicked.connect(self.export_csv)
        self.export_button.setEnabled(False)

    def account(self) -> str | None:
        return self.ctx.settings.active_account or next((a.address for a in self.ctx.accounts.list()), None)

    async def _view(self, account: str) -> Any:
        history = await asyncio.to_thread(self.ctx.account_history, account)  # SQL: off the GUI thread
        await history.sync()
        return await history.view(SHOWN)

    def load(self) -> None:
        account = self.account()
        if account is None:
            self.note.setText("Create or import a wallet to see its on-chain movements.")
            return
        if self._loading:
            return
        self._loading = True
        self.refresh_button.setEnabled(False)
        self.runner.run(self._view(account), on_success=self._show, on_error=self._failed, name="movements")

    def _show(self, view: Any) -> None:
        self._loading = False
        self.refresh_button.setEnabled(True)
        self.model.set_rows(view.rows)
        shown = (
            f" The newest {len(view.rows)} of {view.total} are listed." if view.total > len(view.rows) else ""
        )
        self.note.setText(view.note + shown)
        self.export_button.setEnabled(view.total > 0)

    def _failed(self, message: str) -> None:
        self._loading = False
        self.refresh_button.setEnabled(True)
        self.message.error(f"The history could not be read: {message}")

    def export_csv(self, *, path: str | None = None) -> None:
        account = self.account()
        if account is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export on-chain movements", "paygo-movements.csv", "CSV files (*.csv)"
            )
        if not path:
            return
        target = Path(path)

        async def export() -> int:
            history = await asyncio.to_thread(self.ctx.account_history, account)
            await history.sync()
            return int(await history.export(target))

        def done(count: int) -> None:
            self.message.ok(f"Exported {count} movement{'s' if count != 1 else ''} to {target}.")

        self.runner.run(export(), on_success=done, on_error=self.message.error, name="movements-export")
