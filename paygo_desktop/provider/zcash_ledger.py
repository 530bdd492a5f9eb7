"""A local, in-process Zcash ledger for the sandbox and tests (a ``PaymentVerifier``).

It is no blockchain: a payment is made by calling ``pay`` (the provider exposes it as
``POST /api/v1/zcash/ledger/pay`` only when a config names ``[zcash] mode = "ledger"``), or ``pay_outputs``
for one transaction with several outputs (in-process only); it sits in a "mempool" with 0 confirmations
until ``mine`` adds blocks. Receiving addresses are Sapling addresses of the configured test
network derived from the ledger seed and the permission id: they validate with
``paygo_desktop.zcash.addresses`` but no real wallet holds their keys, so never pay them on a real chain.

The ledger lives in the provider's database (tables in provider.zcash_store), so payments, their
confirmations and the height survive a provider restart, like the permissions they pay for. One ledger
per Zcash network; the seed only derives addresses.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from paygo_desktop.provider.store import Store
from paygo_desktop.provider.zcash_store import ZcashLedgerOutputRow, ZcashLedgerRow
from paygo_desktop.provider.zcash_wallet_rpc import ReceivedNote
from paygo_desktop.zcash.addresses import Network, encode_sapling, parse_address
from paygo_desktop.zcash.amounts import MAX_MONEY
from paygo_desktop.zcash.permissions import parse_payment_memo


class LedgerError(ValueError):
    """A ledger payment was refused (message is safe to return)."""


@dataclass
class LedgerTx:
    """One output of a ledger transaction."""

    txid: str
    address: str
    amount_zat: int
    memo: str | None
    height: int | None  # None: in the mempool
    output_index: int = 0


class LocalLedger:
    def __init__(
        self, store: Store, network: Network = Network.TEST, seed: str = "paygo-sandbox-ledger"
    ) -> None:
        if network is Network.MAIN:
            raise ValueError("the local ledger does not derive mainnet addresses")
        self.store = store
        self.network = network
        self._seed = seed.encode()

    @property
    def height(self) -> int:
        with self.store.tx() as db:
            return self._state(db).height

    def _state(self, db: Session) -> ZcashLedgerRow:
        row = db.get(ZcashLedgerRow, self.network.value)
        if row is None:
            row = ZcashLedgerRow(network=self.network.value, height=0)
            db.add(row)
            db.flush()
        return row

    def derive_address(self, permission_id: str) -> str:
        raw = hashlib.sha512(
            b"paygo-ledger-address\x00" + self._seed + b"\x00" + permission_id.encode()
        ).digest()
        return encode_sapling(self.network, raw[:43])

    def pay(self, address: str, amount_zat: int, memo: str | None = None) -> LedgerTx:
        """A transaction with one output."""
        return self.pay_outputs([(address, amount_zat, memo)])[0]

    def pay_outputs(self, outputs: list[tuple[str, int, str | None]]) -> list[LedgerTx]:
        """One transaction (one txid) paying each ``(address, amount_zat, memo)``, as outputs 0, 1, …"""
        if not outputs:
            raise LedgerError("a transaction needs at least one output")
        checked = [self._output(address, amount, memo) for address, amount, memo in outputs]
        txid = os.urandom(32).hex()
        paid = [
            LedgerTx(txid, address, amount, memo, None, index)
            for index, (address, amount, memo, _) in enumerate(checked)
        ]
        with self.store.tx() as db:
            for tx, (_, _, _, pool) in zip(paid, checked, strict=True):
                db.add(
                    ZcashLedgerOutputRow(
                        network=self.network.value,
                        txid=txid,
                        output_index=tx.output_index,
                        pool=pool,
                        address=tx.address,
                        amount_zat=str(tx.amount_zat),
                        memo=tx.memo,
                        memo_permission=None if tx.memo is None else parse_payment_memo(tx.memo),
                        height=None,
                    )
                )
        return paid

    def _output(self, address: str, amount_zat: int, memo: str | None) -> tuple[str, int, str | None, str]:
        try:
            parsed = parse_address(address)
        except ValueError as exc:
            raise LedgerError(f"invalid address: {exc}") from None
        if parsed.network is not self.network and not (
            parsed.is_transparent and {parsed.network, self.network} <= {Network.TEST, Network.REGTEST}
        ):
            raise LedgerError(f"the ledger is on {self.network.value}, the address is not")
        if not 0 < amount_zat <= MAX_MONEY:
            raise LedgerError("amount out of range")
        if memo is not None and not parsed.is_shielded:
            raise LedgerError("a memo can only be sent to a shielded address")
        if memo is not None and len(memo.encode()) > 512:
            raise LedgerError("a memo holds at most 512 bytes")
        return parsed.encoded, amount_zat, memo, "transparent" if parsed.is_transparent else "sapling"

    def mine(self, blocks: int = 1) -> int:
        """Add ``blocks`` blocks; the mempool goes into the first one. Returns the new height."""
        with self.store.tx() as db:
            state = self._state(db)
            db.execute(
                update(ZcashLedgerOutputRow)
                .where(
                    ZcashLedgerOutputRow.network == self.network.value, ZcashLedgerOutputRow.height.is_(None)
                )
                .values(height=state.height + 1)
            )
            state.height += blocks
            return state.height

    def confirmations(self, tx: LedgerTx) -> int:
        return self._confirmations(tx.height, self.height)

    @staticmethod
    def _confirmations(tx_height: int | None, height: int) -> int:
        return 0 if tx_height is None else height - tx_height + 1

    # ------------------------------------------------------------------ PaymentVerifier

    async def new_address(self, permission_id: str) -> str:
        return self.derive_address(permission_id)

    async def received(self, address: str, memo: str) -> list[ReceivedNote]:
        """Outputs paid to ``address``, or carrying the same permission memo as ``memo`` (candidates for
        provider.zcash_credit's rule)."""
        wanted = parse_payment_memo(memo)
        match = ZcashLedgerOutputRow.address == address
        if wanted is not None:
            match = or_(match, ZcashLedgerOutputRow.memo_permission == wanted)
        with self.store.tx() as db:
            height = self._state(db).height
            rows = db.scalars(
                select(ZcashLedgerOutputRow)
                .where(ZcashLedgerOutputRow.network == self.network.value, match)
                .order_by(ZcashLedgerOutputRow.seq)
            ).all()
            return [
                ReceivedNote(
                    txid=r.txid,
                    pool=r.pool,
                    output_index=r.output_index,
                    address=r.address,
                    amount_zat=int(r.amount_zat),
                    confirmations=self._confirmations(r.height, height),
                    memo=r.memo,
                )
                for r in rows
            ]

    async def transparent_balance(self, address: str) -> int | None:
        """Transparent outputs are public: the confirmed total paid to ``address`` on this ledger."""
        with self.store.tx() as db:
            amounts = db.scalars(
                select(ZcashLedgerOutputRow.amount_zat).where(
                    ZcashLedgerOutputRow.network == self.network.value,
                    ZcashLedgerOutputRow.address == address,
                    ZcashLedgerOutputRow.height.is_not(None),
                )
            ).all()
        return sum(int(a) for a in amounts)
