"""The local index of an account's on-chain movements (``transfers``), its own transactions' fees
(``account_txs``), and how far each account's history has been read (``transfer_cursors``).

A chunk's rows and the cursor move in one transaction, so an interrupted sync neither skips nor doubles
anything (the unique keys make a chunk read twice harmless).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import AccountTxRow, TransactionRow, TransferCursorRow, TransferRow


@dataclass(frozen=True)
class Transfer:
    chain_id: int
    account: str
    tx_hash: str
    log_index: int  # >= 0: an ERC-20 Transfer event; < 0: native coin moved by or inside a transaction
    block_number: int
    block_time: int
    token: str | None  # None: the native coin
    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True)
class AccountTx:
    chain_id: int
    account: str
    tx_hash: str
    block_number: int
    block_time: int
    to_address: str | None
    fee: int  # wei
    succeeded: bool


@dataclass(frozen=True)
class TransferCursor:
    start_block: int
    last_block: int
    native: bool  # the node lists native coin movements (trace_filter)


class TransferIndex:
    def __init__(self, store: Store) -> None:
        self._store = store

    def cursor(self, chain_id: int, account: str) -> TransferCursor | None:
        with self._store.session() as s:
            row = s.scalar(
                select(TransferCursorRow).where(
                    TransferCursorRow.chain_id == chain_id, TransferCursorRow.account == account
                )
            )
            return None if row is None else TransferCursor(row.start_block, row.last_block, row.native)

    def save_chunk(
        self,
        chain_id: int,
        account: str,
        cursor: TransferCursor,
        transfers: Iterable[Transfer],
        txs: Iterable[AccountTx],
    ) -> None:
        """The chunk's movements and transactions, and the cursor moved to ``cursor``, all at once."""
        transfer_rows = [{**t.__dict__, "amount": str(t.amount)} for t in transfers]
        tx_rows = [{**t.__dict__, "fee": str(t.fee)} for t in txs]
        with self._store.session() as s:
            if transfer_rows:
                s.execute(insert(TransferRow).on_conflict_do_nothing(), transfer_rows)
            if tx_rows:
                s.execute(insert(AccountTxRow).on_conflict_do_nothing(), tx_rows)
            row = s.scalar(
                select(TransferCursorRow).where(
                    TransferCursorRow.chain_id == chain_id, TransferCursorRow.account == account
                )
            )
            if row is None:
                row = TransferCursorRow(chain_id=chain_id, account=account)
                s.add(row)
            row.start_block, row.last_block, row.native = cursor.start_block, cursor.last_block, cursor.native

    def transfers(self, chain_id: int, account: str, limit: int | None = None) -> list[Transfer]:
        """Newest first."""
        query = (
            select(TransferRow)
            .where(TransferRow.chain_id == chain_id, TransferRow.account == account)
            .order_by(TransferRow.block_number.desc(), TransferRow.tx_hash, TransferRow.log_index)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._store.session() as s:
            return [
                Transfer(
                    r.chain_id,
                    r.account,
                    r.tx_hash,
                    r.log_index,
                    r.block_number,
                    r.block_time,
                    r.token,
                    r.sender,
                    r.recipient,
                    int(r.amount),
                )
                for r in s.scalars(query).all()
            ]

    def account_txs(self, chain_id: int, account: str) -> list[AccountTx]:
        query = select(AccountTxRow).where(AccountTxRow.chain_id == chain_id, AccountTxRow.account == account)
        with self._store.session() as s:
            return [
                AccountTx(
                    r.chain_id,
                    r.account,
                    r.tx_hash,
                    r.block_number,
                    r.block_time,
                    r.to_address,
                    int(r.fee),
                    r.succeeded,
                )
                for r in s.scalars(query).all()
            ]

    def sent_by_app(self, chain_id: int, account: str, first: int, last: int) -> list[str]:
        """Hashes of the transactions this app sent from ``account`` that were mined in ``first..last``."""
        query = select(TransactionRow.tx_hash).where(
            TransactionRow.chain_id == chain_id,
            TransactionRow.sender == account,
            TransactionRow.block_number >= first,
            TransactionRow.block_number <= last,
        )
        with self._store.session() as s:
            return list(s.scalars(query).all())
