"""The local index of PayGoVault events, and how far the sync has read each vault's logs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.sqlite import insert

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SyncCursorRow, VaultEventRow


@dataclass(frozen=True)
class StoredEvent:
    chain_id: int
    vault: str
    block_number: int
    tx_hash: str
    log_index: int
    name: str
    channel_id: str
    payer: str
    provider: str
    amount: int
    data: dict[str, Any]


class VaultEventIndex:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- cursor -----------------------------------------------------------------------------------------
    def cursor(self, chain_id: int, contract: str) -> int | None:
        with self._store.session() as s:
            return s.scalar(
                select(SyncCursorRow.last_block).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == contract
                )
            )

    def save_chunk(self, chain_id: int, contract: str, last_block: int, events: Iterable[StoredEvent]) -> int:
        """Store a chunk's events and move the cursor to ``last_block`` in one transaction.

        Either both happen or neither, so an interrupted sync resumes exactly where it stopped.
        Returns how many events were new.
        """
        rows = [
            {
                "chain_id": e.chain_id,
                "vault": e.vault,
                "block_number": e.block_number,
                "tx_hash": e.tx_hash,
                "log_index": e.log_index,
                "name": e.name,
                "channel_id": e.channel_id,
                "payer": e.payer,
                "provider": e.provider,
                "amount": str(e.amount),
                "data": json.dumps(e.data, sort_keys=True),
            }
            for e in events
        ]
        with self._store.session() as s:
            added = 0
            if rows:
                count = select(func.count()).select_from(VaultEventRow)
                before = int(s.scalar(count) or 0)
                s.execute(insert(VaultEventRow).on_conflict_do_nothing(), rows)
                added = int(s.scalar(count) or 0) - before
            cursor = s.scalar(
                select(SyncCursorRow).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == contract
                )
            )
            if cursor is None:
                s.add(SyncCursorRow(chain_id=chain_id, contract=contract, last_block=last_block))
            else:
                cursor.last_block = last_block
            return added

    def rewind(self, chain_id: int, contract: str, to_block: int) -> None:
        """Forget events after ``to_block`` (a reorg replaced them) and move the cursor back."""
        with self._store.session() as s:
            s.execute(
                delete(VaultEventRow).where(
                    VaultEventRow.chain_id == chain_id,
                    VaultEventRow.vault == contract,
                    VaultEventRow.block_number > to_block,
                )
            )
            cursor = s.scalar(
                select(SyncCursorRow).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == contract
                )
            )
            if cursor is not None and cursor.last_block > to_block:
                cursor.last_block = to_block

    # -- queries ----------------------------------------------------------------------------------------
    def count(self, chain_id: int, name: str | None = None) -> int:
        query = select(func.count()).select_from(VaultEventRow).where(VaultEventRow.chain_id == chain_id)
        if name:
            query = query.where(VaultEventRow.name == name)
        with self._store.session() as s:
            return int(s.scalar(query) or 0)

    def claimed_by_provider(self, chain_id: int, provider: str) -> dict[str, int]:
        """Total claimed per channel for a provider, from Claimed events (amounts summed as integers)."""
        with self._store.session() as s:
            rows = s.execute(
                select(VaultEventRow.channel_id, VaultEventRow.amount).where(
                    VaultEventRow.chain_id == chain_id,
                    VaultEventRow.provider == provider,
                    VaultEventRow.name == "Claimed",
                )
            ).all()
        totals: dict[str, int] = {}
        for channel_id, amount in rows:
            totals[channel_id] = totals.get(channel_id, 0) + int(amount)
        return totals

    def events(self, chain_id: int, channel_id: str | None = None) -> list[StoredEvent]:
        query = select(VaultEventRow).where(VaultEventRow.chain_id == chain_id)
        if channel_id:
            query = query.where(VaultEventRow.channel_id == channel_id)
        with self._store.session() as s:
            rows = s.scalars(query.order_by(VaultEventRow.block_number, VaultEventRow.log_index)).all()
            return [
                StoredEvent(
                    r.chain_id,
                    r.vault,
                    r.block_number,
                    r.tx_hash,
                    r.log_index,
                    r.name,
                    r.channel_id,
                    r.payer,
                    r.provider,
                    int(r.amount),
                    json.loads(r.data),
                )
                for r in rows
            ]
