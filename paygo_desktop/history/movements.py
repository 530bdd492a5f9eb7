"""The account's on-chain movements as a person reads them: when, in or out, with whom, how much of what,
the fee the account paid, and the value then in the user's currency.

``movements`` joins the synced index (``store.transfers``) with the assets the app knows: a token the
app does not list (anybody can send any token to any address) keeps its raw amount and its address, and
no symbol, so a stranger's "USDC" is never shown as USDC. Each of the account's own transactions carries
its fee on its first movement; one that moved nothing (an approval, a withdrawal request) is listed with
its fee alone. ``with_prices`` adds each movement's value at its block (``prices.history``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from paygo_desktop.money import Amount, Asset
from paygo_desktop.prices.fiat import FiatPrice
from paygo_desktop.prices.history import PriceHistory
from paygo_desktop.store.transfers import AccountTx, Transfer

IN, OUT, SELF, FEE_ONLY = "in", "out", "self", "fee"


@dataclass(frozen=True)
class Movement:
    block_number: int
    block_time: int
    tx_hash: str
    log_index: int
    direction: str  # in | out | self | fee (a transaction of the account that moved nothing)
    sender: str
    recipient: str
    token: str | None  # the token's address; None: the native coin
    units: int  # base units moved
    asset: Asset | None  # None: a token the app does not list
    fee: Amount | None = None  # what the account paid for the transaction (on its first movement only)
    failed: bool = False  # the account's transaction reverted (it paid the fee, nothing moved)
    price: FiatPrice | None = None  # the asset's value in the user's currency at the block
    fee_price: FiatPrice | None = None  # the native coin's, for the fee

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.block_time, UTC)

    @property
    def amount(self) -> Amount | None:
        return None if self.asset is None else Amount(self.asset, self.units)

    @property
    def counterparty(self) -> str:
        return self.sender if self.direction == IN else self.recipient

    def amount_text(self) -> str:
        amount = self.amount
        if amount is None:
            return f"{self.units} base units of an unlisted token {self.token}"
        return amount.format()

    def value_text(self) -> str:
        """The value at the time ("≈ $1.50"), or "—" without a fresh price then."""
        amount = self.amount
        if amount is None or self.price is None:
            return "—"
        return self.price.text(amount)

    def fee_text(self) -> str:
        if self.fee is None:
            return ""
        value = f" ({self.fee_price.text(self.fee)})" if self.fee_price is not None else ""
        return self.fee.format(max_decimals=8) + value


def _direction(transfer: Transfer, account: str) -> str:
    mine_out = transfer.sender.lower() == account.lower()
    mine_in = transfer.recipient.lower() == account.lower()
    return SELF if mine_out and mine_in else OUT if mine_out else IN


def movements(
    transfers: Iterable[Transfer],
    txs: Iterable[AccountTx],
    account: str,
    native: Asset,
    tokens: Sequence[Asset],
) -> list[Movement]:
    """Newest first. ``tokens``: the assets the app lists on the network (any other token is unlisted)."""
    listed = {t.address.lower(): t for t in tokens if t.address}
    fees = {tx.tx_hash: tx for tx in txs}
    rows: list[Movement] = []
    for t in transfers:
        asset = native if t.token is None else listed.get(t.token.lower())
        rows.append(
            Movement(
                t.block_number,
                t.block_time,
                t.tx_hash,
                t.log_index,
                _direction(t, account),
                t.sender,
                t.recipient,
                t.token,
                t.amount,
                asset,
            )
        )
    rows.sort(key=lambda m: (-m.block_number, m.tx_hash, m.log_index))
    seen: set[str] = set()
    for i, row in enumerate(rows):
        tx = fees.get(row.tx_hash)
        if tx is not None and row.tx_hash not in seen:
            rows[i] = replace(row, fee=Amount(native, tx.fee), failed=not tx.succeeded)
            seen.add(row.tx_hash)
    for tx in fees.values():
        if tx.tx_hash not in seen:
            rows.append(
                Movement(
                    tx.block_number,
                    tx.block_time,
                    tx.tx_hash,
                    -1,
                    FEE_ONLY,
                    account,
                    tx.to_address or "",
                    None,
                    0,
                    native,
                    fee=Amount(native, tx.fee),
                    failed=not tx.succeeded,
                )
            )
    rows.sort(key=lambda m: (-m.block_number, m.tx_hash, m.log_index))
    return rows


async def with_prices(rows: Sequence[Movement], history: PriceHistory, native: Asset) -> list[Movement]:
    """Each movement with its asset's value at its block, and its fee's (listed assets only; in order)."""
    priced: list[Movement] = []
    for row in rows:
        price = fee_price = None
        if row.asset is not None and row.units:
            price = await history.price_at(row.asset, row.block_number, row.block_time)
        if row.fee is not None:
            fee_price = await history.price_at(native, row.block_number, row.block_time)
        priced.append(replace(row, price=price, fee_price=fee_price))
    return priced
