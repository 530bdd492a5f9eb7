"""The local index of a PayGoRegistry: each registered provider's current entry, and how far its events
were read (a ``sync_cursors`` row for the registry's address, as for a vault)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import RegistryEntryRow, SyncCursorRow


@dataclass(frozen=True)
class RegistryChange:
    """One registry event, as the sync applies it: ``removed`` drops the provider's entry."""

    provider: str
    block_number: int
    log_index: int
    removed: bool = False
    signing_key: str = ""
    catalog_url: str = ""
    name: str = ""


@dataclass(frozen=True)
class RegistryEntry:
    provider: str
    signing_key: str
    catalog_url: str
    name: str
    block_number: int
    log_index: int


class RegistryIndex:
    def __init__(self, store: Store) -> None:
        self._store = store

    def cursor(self, chain_id: int, registry: str) -> int | None:
        with self._store.session() as s:
            return s.scalar(
                select(SyncCursorRow.last_block).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == registry
                )
            )

    def apply_chunk(
        self, chain_id: int, registry: str, last_block: int, changes: Iterable[RegistryChange]
    ) -> int:
        """Apply a chunk's changes in order and move the cursor to ``last_block``, in one transaction: an
        interrupted sync resumes exactly where it stopped. Returns how many changes were applied."""
        applied = 0
        with self._store.session() as s:
            for change in sorted(changes, key=lambda c: (c.block_number, c.log_index)):
                row = s.scalar(
                    select(RegistryEntryRow).where(
                        RegistryEntryRow.chain_id == chain_id,
                        RegistryEntryRow.contract == registry,
                        RegistryEntryRow.provider == change.provider,
                    )
                )
                if change.removed:
                    if row is not None:
                        s.delete(row)
                        s.flush()
                elif row is None:
                    s.add(
                        RegistryEntryRow(
                            chain_id=chain_id,
                            contract=registry,
                            provider=change.provider,
                            signing_key=change.signing_key,
                            catalog_url=change.catalog_url,
                            name=change.name,
                            block_number=change.block_number,
                            log_index=change.log_index,
                        )
                    )
                    s.flush()
                else:
                    row.signing_key, row.catalog_url, row.name = (
                        change.signing_key,
                        change.catalog_url,
                        change.name,
                    )
                    row.block_number, row.log_index = change.block_number, change.log_index
                applied += 1
            cursor = s.scalar(
                select(SyncCursorRow).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == registry
                )
            )
            if cursor is None:
                s.add(SyncCursorRow(chain_id=chain_id, contract=registry, last_block=last_block))
            else:
                cursor.last_block = last_block
        return applied

    def forget(self, chain_id: int, registry: str) -> None:
        """Drop everything read from this registry on this chain (a chain that was replaced)."""
        with self._store.session() as s:
            s.execute(
                delete(RegistryEntryRow).where(
                    RegistryEntryRow.chain_id == chain_id, RegistryEntryRow.contract == registry
                )
            )
            s.execute(
                delete(SyncCursorRow).where(
                    SyncCursorRow.chain_id == chain_id, SyncCursorRow.contract == registry
                )
            )

    def entries(self, chain_id: int, registry: str) -> list[RegistryEntry]:
        """The current entries, the most recently written first."""
        with self._store.session() as s:
            rows = s.scalars(
                select(RegistryEntryRow)
                .where(RegistryEntryRow.chain_id == chain_id, RegistryEntryRow.contract == registry)
                .order_by(RegistryEntryRow.block_number.desc(), RegistryEntryRow.log_index.desc())
            ).all()
            return [
                RegistryEntry(r.provider, r.signing_key, r.catalog_url, r.name, r.block_number, r.log_index)
                for r in rows
            ]
