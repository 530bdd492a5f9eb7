"""A local, in-process Zcash ledger for the sandbox and tests (a ``PaymentVerifier``).

It is no blockchain: a payment is made by calling ``pay`` (the provider exposes it as
``POST /api/v1/zcash/ledger/pay`` only when ``[zcash] mode = "ledger"``); it sits in a "mempool" with 0
confirmations until ``mine`` adds blocks. Receiving addresses are Sapling addresses of the configured test
network derived from the ledger seed and the permission id: they validate with
``paygo_desktop.zcash.addresses`` but no real wallet holds their keys, so never pay them on a real chain.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass

from paygo_desktop.provider.zcash_wallet_rpc import ReceivedNote
from paygo_desktop.zcash.addresses import Network, encode_sapling, parse_address
from paygo_desktop.zcash.amounts import MAX_MONEY
from paygo_desktop.zcash.permissions import parse_payment_memo


class LedgerError(ValueError):
    """A ledger payment was refused (message is safe to return)."""


@dataclass
class LedgerTx:
    txid: str
    address: str
    amount_zat: int
    memo: str | None
    height: int | None  # None: in the mempool


class LocalLedger:
    def __init__(self, network: Network = Network.TEST, seed: str = "paygo-sandbox-ledger") -> None:
        if network is Network.MAIN:
            raise ValueError("the local ledger does not derive mainnet addresses")
        self.network = network
        self._seed = seed.encode()
        self._txs: list[LedgerTx] = []
        self.height = 0
        self._lock = threading.Lock()

    def derive_address(self, permission_id: str) -> str:
        raw = hashlib.sha512(
            b"paygo-ledger-address\x00" + self._seed + b"\x00" + permission_id.encode()
        ).digest()
        return encode_sapling(self.network, raw[:43])

    def pay(self, address: str, amount_zat: int, memo: str | None = None) -> LedgerTx:
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
        tx = LedgerTx(os.urandom(32).hex(), parsed.encoded, amount_zat, memo, None)
        with self._lock:
            self._txs.append(tx)
        return tx

    def mine(self, blocks: int = 1) -> int:
        """Add ``blocks`` blocks; the mempool goes into the first one. Returns the new height."""
        with self._lock:
            for tx in self._txs:
                if tx.height is None:
                    tx.height = self.height + 1
            self.height += blocks
            return self.height

    def confirmations(self, tx: LedgerTx) -> int:
        return 0 if tx.height is None else self.height - tx.height + 1

    # ------------------------------------------------------------------ PaymentVerifier

    async def new_address(self, permission_id: str) -> str:
        return self.derive_address(permission_id)

    async def received(self, address: str, memo: str) -> list[ReceivedNote]:
        wanted = parse_payment_memo(memo)
        with self._lock:
            txs = list(self._txs)
        return [
            ReceivedNote(tx.txid, tx.address, tx.amount_zat, self.confirmations(tx), tx.memo)
            for tx in txs
            if tx.address == address or (tx.memo is not None and parse_payment_memo(tx.memo) == wanted)
        ]

    async def transparent_balance(self, address: str) -> int | None:
        """Transparent outputs are public: the confirmed total paid to ``address`` on this ledger."""
        with self._lock:
            return sum(
                tx.amount_zat for tx in self._txs if tx.address == address and self.confirmations(tx) > 0
            )
