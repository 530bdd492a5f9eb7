"""The x402 payments (``store.x402``) as CSV, one payment a row, in the same conventions as the account's
movements (``history.csv_export``): RFC 4180, UTC dates, plain decimal amounts beside their base units and
decimals, and text a server chose (its URL, its error) never read as a formula by a spreadsheet. "Amount" is
the most a payment may move (``upto``: the signed maximum); "Settled" what its settlement moved, once known.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from paygo_desktop.history.csv_export import safe_text
from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.x402 import X402Payment

COLUMNS = (
    "Date (UTC)",
    "Site",
    "URL",
    "Method",
    "Scheme",
    "Network",
    "Pay to",
    "Token",
    "Token address",
    "Amount",
    "Base units",
    "Decimals",
    "Status",
    "Tx hash",
    "Error",
    "Settled",
    "Settled base units",
)


def export_csv(payments: Iterable[X402Payment], out: IO[str]) -> int:
    """Write ``payments``; the number written."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for p in payments:
        amount = Amount(Asset(p.asset_symbol, p.decimals, p.asset), p.amount)
        settled = Amount(amount.asset, p.settled_amount or 0)
        writer.writerow(
            [
                p.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                safe_text(p.origin),
                safe_text(p.url),
                p.method,
                safe_text(p.scheme),
                p.network,
                p.pay_to,
                safe_text(p.asset_symbol),
                p.asset,
                amount.format(symbol=False, grouping=False),
                str(p.amount),
                p.decimals,
                p.status,
                p.tx_hash or "",
                safe_text(p.error or ""),
                "" if p.settled_amount is None else settled.format(symbol=False, grouping=False),
                "" if p.settled_amount is None else str(p.settled_amount),
            ]
        )
        count += 1
    return count
