"""The wallet's accounts as the store keeps them: address, label, origin and keystore file name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import AccountRow

ACCOUNT_KINDS = ("hd", "private_key", "keystore")


@dataclass(frozen=True)
class AccountRecord:
    address: str  # EIP-55 checksummed
    label: str
    kind: str  # one of ACCOUNT_KINDS
    keystore_file: str  # a file name inside the wallet directory
    hd_index: int | None = None
    created_at: datetime | None = None


def _record(row: AccountRow) -> AccountRecord:
    return AccountRecord(
        address=row.address,
        label=row.label,
        kind=row.kind,
        keystore_file=row.keystore_file,
        hd_index=row.hd_index,
        created_at=row.created_at,
    )


class AccountRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def list(self) -> list[AccountRecord]:
        with self._store.session() as s:
            rows = s.scalars(select(AccountRow).order_by(AccountRow.position, AccountRow.id)).all()
            return [_record(r) for r in rows]

    def get(self, address: str) -> AccountRecord | None:
        with self._store.session() as s:
            row = s.scalar(select(AccountRow).where(func.lower(AccountRow.address) == address.lower()))
            return _record(row) if row else None

    def add(self, record: AccountRecord) -> AccountRecord:
        if record.kind not in ACCOUNT_KINDS:
            raise ValueError(f"unknown account kind {record.kind!r}")
        with self._store.session() as s:
            position = (s.scalar(select(func.max(AccountRow.position))) or 0) + 1
            row = AccountRow(
                address=record.address,
                label=record.label,
                kind=record.kind,
                hd_index=record.hd_index,
                keystore_file=record.keystore_file,
                position=position,
            )
            s.add(row)
            s.flush()
            return _record(row)

    def rename(self, address: str, label: str) -> None:
        with self._store.session() as s:
            row = s.scalar(select(AccountRow).where(func.lower(AccountRow.address) == address.lower()))
            if row is None:
                raise KeyError(address)
            row.label = label

    def remove(self, address: str) -> None:
        with self._store.session() as s:
            row = s.scalar(select(AccountRow).where(func.lower(AccountRow.address) == address.lower()))
            if row is not None:
                s.delete(row)

    def next_hd_index(self) -> int:
        with self._store.session() as s:
            current = s.scalar(select(func.max(AccountRow.hd_index)).where(AccountRow.kind == "hd"))
            return 0 if current is None else current + 1
