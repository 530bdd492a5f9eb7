"""The sessions' history as CSV (stdlib csv): one row per session, amounts as decimal strings of the asset
and as base units, and the cost's value in a currency when the session ended."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING

from paygo_desktop.money import Amount, Asset

if TYPE_CHECKING:
    from paygo_desktop.prices.feeds import Currency
    from paygo_desktop.prices.fiat import FiatPrice
    from paygo_desktop.sessions.session_record import SessionRecord

CSV_COLUMNS = (
    "local_id",
    "started_at",
    "ended_at",
    "provider",
    "provider_url",
    "service_id",
    "service",
    "funding",
    "status",
    "seconds",
    "asset",
    "rate",
    "rate_units",
    "rate_unit",
    "cost",
    "cost_units",
    "paid_ahead_credit",
    "paid_ahead_credit_units",
    "budget",
    "budget_units",
    "receipt_ok",
    "stop_reason",
    "remote_id",
    "channel_id",
    "fiat_currency",
    "fiat_value",
    "price_per_unit",
    "price_time_utc",
    "price_source",
    "fiat_note",
)


def _decimal(asset: Asset, units: int) -> str:
    return Amount(asset, units).format(symbol=False, grouping=False)


def _fiat_cells(
    record: SessionRecord,
    prices: Mapping[str, FiatPrice | None] | None,
    currency: Currency | None,
    unvalued: str,
) -> list[str]:
    """The cost's value when the session ended, the price used (per whole unit), its time and feeds; empty
    cells and a note saying why when there is none."""
    if prices is None or currency is None:
        return ["", "", "", "", "", unvalued or "not valued: no price feeds were read for this export"]
    price = prices.get(record.local_id)
    if price is None:
        why = (
            "nothing spent"
            if not record.cost
            else "no fresh price when the session ended (no feed, a stale one, or none readable): no value"
        )
        return [currency.code, "", "", "", "", why]
    cost = Amount(record.terms.asset, record.cost)
    return [
        currency.code,
        f"{price.rounded(cost):f}",
        price.price_text(),
        price.as_of_text,
        price.source_text(),
        "valued when the session ended, rounded half to even to the cent",
    ]


def export_csv(
    records: Iterable[SessionRecord],
    out: IO[str],
    *,
    prices: Mapping[str, FiatPrice | None] | None = None,
    currency: Currency | None = None,
    unvalued: str = "",
) -> int:
    """Write ``records`` as CSV (stdlib csv): amounts as decimal strings of the asset and as base units,
    and the cost's value in ``currency`` at ``prices`` (local id → the price when the session ended,
    ``sessions.values``) with the price used and its time; without prices, ``unvalued`` says why.

    Returns the number of sessions written.
    """
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for r in records:
        t = r.terms
        asset = t.asset
        writer.writerow(
            [
                r.local_id,
                r.started_at.isoformat(),
                r.ended_at.isoformat() if r.ended_at else "",
                t.provider_name,
                t.provider_url,
                t.service_id,
                t.service_name,
                t.funding.value,
                r.status.value,
                r.seconds,
                asset.symbol,
                _decimal(asset, t.price.amount),
                t.price.amount,
                t.price.unit,
                _decimal(asset, r.cost),
                r.cost,
                _decimal(asset, r.paid_ahead_credit),
                r.paid_ahead_credit,
                _decimal(asset, t.cap),
                t.cap,
                "" if r.receipt_ok is None else ("yes" if r.receipt_ok else "no"),
                r.stop_reason or "",
                r.remote_id or "",
                t.channel_id or "",
                *_fiat_cells(r, prices, currency, unvalued),
            ]
        )
        count += 1
    return count
