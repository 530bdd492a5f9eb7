"""All on-chain movements of an account as CSV that accountants' tools read: one movement a row.

RFC 4180 CSV (the stdlib ``csv`` module: comma separated, quoted where needed, CRLF line ends), UTF-8,
one header row. Dates are UTC as ``YYYY-MM-DD HH:MM:SS``; amounts are plain decimals with a dot and no
grouping (``1234.5``), exact to the token's base unit, with the base units and decimals beside them; the
direction says in or out (amounts are never negative). The fiat value is the value at the movement's
block, rounded half to even to the cent, with the price used (per whole unit, 8 decimals), its time and
its feeds; without a fresh price then, those cells are empty and the note says why. Text a token chose
for itself (its symbol) is never read as a formula by a spreadsheet: a cell starting with = + - @ or a
control character gets a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO

from paygo_desktop.history.movements import FEE_ONLY, Movement
from paygo_desktop.money import Amount
from paygo_desktop.prices.feeds import Currency

COLUMNS = (
    "Date (UTC)",
    "Network",
    "Block",
    "Tx hash",
    "Direction",
    "From",
    "To",
    "Token",
    "Token address",
    "Amount",
    "Base units",
    "Decimals",
    "Fee (ETH)",
    "Fiat currency",
    "Fiat value",
    "Price per unit",
    "Price time (UTC)",
    "Price source",
    "Fee fiat value",
    "Note",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_text(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _plain(amount: Amount) -> str:
    return amount.format(symbol=False, grouping=False)


def _utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _note(row: Movement) -> str:
    notes = []
    if row.asset is None:
        notes.append("a token this app does not list: amount in base units only")
    elif row.units and row.price is None:
        notes.append("no fresh price at the time: no fiat value")
    if row.direction == FEE_ONLY:
        notes.append("a transaction of the account that moved no money: its fee only")
    if row.failed:
        notes.append("the transaction failed: only its fee was paid")
    return "; ".join(notes)


def write_csv(rows: Iterable[Movement], out: IO[str], *, network: str, currency: Currency) -> int:
    """Write ``rows`` to ``out``; returns how many were written."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        amount = row.amount
        price = row.price if amount is not None and row.units else None
        writer.writerow(
            [
                _utc(row.block_time),
                safe_text(network),
                row.block_number,
                row.tx_hash,
                row.direction,
                row.sender,
                row.recipient,
                safe_text(row.asset.symbol) if row.asset is not None else "",
                row.token or "",
                _plain(amount) if amount is not None else "",
                row.units,
                row.asset.decimals if row.asset is not None else "",
                _plain(row.fee) if row.fee is not None else "",
                currency.code,
                f"{price.rounded(amount):f}" if price is not None and amount is not None else "",
                price.price_text() if price is not None else "",
                _utc(price.as_of) if price is not None else "",
                safe_text(price.source_text()) if price is not None else "",
                f"{row.fee_price.rounded(row.fee):f}"
                if row.fee is not None and row.fee_price is not None
                else "",
                _note(row),
            ]
        )
        count += 1
    return count
