"""Transactions the app sent, kept so that pending ones survive a restart and none is sent twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import TransactionRow, utcnow

# pending: sent, not mined (or un-mined by a reorg); mined: in a block, counting confirmations;
# confirmed: enough confirmations; failed: mined and reverted; replaced: another transaction took its
# nonce (a speed-up, a cancel, or one sent elsewhere); dropped: the node forgot it and it could not be sent
# again; old_chain: sent on an earlier sandbox chain that was not kept (sandbox.old_chain), never sent again.
OPEN_STATUSES = ("pending", "mined")
STATUSES = ("pending", "mined", "confirmed", "failed", "replaced", "dropped", "old_chain")


@dataclass(frozen=True)
class TransactionRecord:
    chain_id: int
    sender: str
    nonce: int
    tx_hash: str
    raw_tx: str
    kind: str
    description: str
    to_address: str | None
    value: int
    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    status: str = "pending"
    block_number: int | None = None
    gas_used: int | None = None
    error: str | None = None
    replaces: str | None = None
    created_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _record(row: TransactionRow) -> TransactionRecord:
    return TransactionRecord(
        chain_id=row.chain_id,
        sender=row.sender,
        nonce=row.nonce,
        tx_hash=row.tx_hash,
        raw_tx=row.raw_tx,
        kind=row.kind,
        description=row.description,
        to_address=row.to_address,
        value=int(row.value),
        gas_limit=row.gas_limit,
        max_fee_per_gas=int(row.max_fee_per_gas),
        max_priority_fee_per_gas=int(row.max_priority_fee_per_gas),
        status=row.status,
        block_number=row.block_number,
        gas_used=row.gas_used,
        error=row.error,
        replaces=row.replaces,
        created_at=row.created_at,
    )


class TransactionRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, record: TransactionRecord) -> TransactionRecord:
        with self._store.session() as s:
            row = TransactionRow(
                chain_id=record.chain_id,
                sender=record.sender,
                nonce=record.nonce,
                tx_hash=record.tx_hash,
                raw_tx=record.raw_tx,
                kind=record.kind,
                description=record.description,
                to_address=record.to_address,
                value=str(record.value),
                gas_limit=record.gas_limit,
                max_fee_per_gas=str(record.max_fee_per_gas),
                max_priority_fee_per_gas=str(record.max_priority_fee_per_gas),
                status=record.status,
                replaces=record.replaces,
            )
            s.add(row)
            s.flush()
            return _record(row)

    def update(
        self,
        tx_hash: str,
        *,
        status: str,
        block_number: int | None = None,
        gas_used: int | None = None,
        error: str | None = None,
    ) -> TransactionRecord:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._store.session() as s:
            row = s.scalar(select(TransactionRow).where(TransactionRow.tx_hash == tx_hash))
            if row is None:
                raise KeyError(tx_hash)
            row.status = status
            row.block_number = block_number
            row.gas_used = gas_used
            row.error = error
            row.updated_at = utcnow()
            return _record(row)

    def get(self, tx_hash: str) -> TransactionRecord | None:
        with self._store.session() as s:
            row = s.scalar(select(TransactionRow).where(TransactionRow.tx_hash == tx_hash))
            return _record(row) if row else None

    def open(self, chain_id: int | None = None) -> list[TransactionRecord]:
        """Transactions not yet settled, oldest nonce first: the ones to watch after a restart."""
        query = select(TransactionRow).where(TransactionRow.status.in_(OPEN_STATUSES))
        if chain_id is not None:
            query = query.where(TransactionRow.chain_id == chain_id)
        with self._store.session() as s:
            rows = s.scalars(query.order_by(TransactionRow.nonce, TransactionRow.id)).all()
            return [_record(r) for r in rows]

    def with_nonce(self, chain_id: int, sender: str, nonce: int) -> list[TransactionRecord]:
        with self._store.session() as s:
            rows = s.scalars(
                select(TransactionRow)
                .where(
                    TransactionRow.chain_id == chain_id,
                    TransactionRow.sender == sender,
                    TransactionRow.nonce == nonce,
                )
                .order_by(TransactionRow.id)
            ).all()
            return [_record(r) for r in rows]

    def highest_open_nonce(self, chain_id: int, sender: str) -> int | None:
        nonces = [t.nonce for t in self.open(chain_id) if t.sender == sender]
        return max(nonces) if nonces else None

    def of_kind_since(
        self, chain_id: int, sender: str, kind: str, after: datetime | None
    ) -> list[TransactionRecord]:
        """``sender``'s transactions of ``kind`` on the chain stored after ``after`` (every one when None),
        in the order stored."""
        query = select(TransactionRow).where(
            TransactionRow.chain_id == chain_id, TransactionRow.sender == sender, TransactionRow.kind == kind
        )
        if after is not None:
            query = query.where(TransactionRow.created_at > after)
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(query.order_by(TransactionRow.id)).all()]

    def recent(self, limit: int = 100) -> list[TransactionRecord]:
        with self._store.session() as s:
            rows = s.scalars(select(TransactionRow).order_by(TransactionRow.id.desc()).limit(limit)).all()
            return [_record(r) for r in rows]
