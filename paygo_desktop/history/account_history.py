"""One account's on-chain history on one network: sync it, list it with values then, export it.

``AccountHistory`` puts together the transfer sync (``history.transfer_sync``), the movements as a person
reads them (``history.movements``), the prices at each block (``prices.history``) and the CSV
(``history.csv_export``). It opens its own node connection for each call and closes it after.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.history.csv_export import write_csv
from paygo_desktop.history.movements import Movement, movements, with_prices
from paygo_desktop.history.transfer_sync import TransferSync, TransferSyncReport
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network, on_this_computer
from paygo_desktop.prices.feeds import Currency, FeedBook
from paygo_desktop.prices.history import PriceHistory
from paygo_desktop.store.database import Store
from paygo_desktop.store.feed_readings import FeedReadings
from paygo_desktop.store.transfers import TransferCursor, TransferIndex


@dataclass(frozen=True)
class HistoryView:
    rows: list[Movement]
    total: int  # movements in the index (``rows`` may be the newest of them)
    start_block: int | None  # where the index begins; None before the first sync
    native: bool  # whether ETH moved by others is listed (the node offers traces)
    note: str  # what the list covers, in words


class AccountHistory:
    def __init__(
        self,
        store: Store,
        network: Network,
        account: str,
        tokens: Sequence[Asset],
        book: FeedBook,
        currency: Currency,
    ) -> None:
        from eth_utils import to_checksum_address

        self.store = store
        self.network = network
        self.account = to_checksum_address(account)
        self.tokens = tuple(tokens)
        self.book = book
        self.currency = currency
        self.index = TransferIndex(store)

    def _w3(self) -> Any:
        from paygo_desktop.chain.rpc import async_web3

        return async_web3(self.network.rpc_url, timeout=30)

    async def sync(self) -> TransferSyncReport:
        w3 = self._w3()
        try:
            local = on_this_computer(self.network)
            sync = TransferSync(w3, self.index, self.network.chain_id, self.account, local=local)
            return await sync.sync()
        finally:
            await w3.provider.disconnect()

    def _rows(self) -> list[Movement]:
        chain_id = self.network.chain_id
        return movements(
            self.index.transfers(chain_id, self.account),
            self.index.account_txs(chain_id, self.account),
            self.account,
            self.network.native,
            self.tokens,
        )

    async def view(self, limit: int = 200) -> HistoryView:
        """The newest ``limit`` movements with their values then."""
        rows = await asyncio.to_thread(self._rows)  # SQL: off the event loop
        priced = await self._priced(rows[:limit])
        cursor = await asyncio.to_thread(self.index.cursor, self.network.chain_id, self.account)
        return HistoryView(
            priced,
            len(rows),
            cursor.start_block if cursor else None,
            bool(cursor and cursor.native),
            self.note(cursor),
        )

    def note(self, cursor: TransferCursor | None) -> str:
        """What the list covers, in words."""
        if cursor is None:
            return "The account's on-chain history has not been read yet."
        since = "since the chain began" if cursor.start_block == 0 else f"since block {cursor.start_block:,}"
        covers = f"Every token transfer to or from this account {since}, up to block {cursor.last_block:,}"
        if cursor.native:
            return covers + ", and every ETH movement (the node lists them)."
        return (
            covers + ". This network's node cannot list plain ETH transfers (they write no event): ETH "
            "received from others is not shown; the account's own transactions and their fees are."
        )

    async def _priced(self, rows: Sequence[Movement]) -> list[Movement]:
        if self.book.empty or not rows:
            return list(rows)
        w3 = self._w3()
        try:
            history = PriceHistory(
                w3, FeedReadings(self.store), self.network.chain_id, self.book, self.currency
            )
            return await with_prices(rows, history, self.network.native)
        finally:
            await w3.provider.disconnect()

    async def export(self, path: Path) -> int:
        """Every movement (with values then) to the CSV file ``path``; returns how many were written."""
        rows = await self._priced(await asyncio.to_thread(self._rows))
        buffer = io.StringIO(newline="")
        count = write_csv(rows, buffer, network=self.network.name, currency=self.currency)
        await asyncio.to_thread(atomic_write_text, path, buffer.getvalue(), 0o644)
        return count
