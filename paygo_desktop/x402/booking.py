"""How a settled x402 payment is booked in Activity: the rows for the spending charts (by site and
request) and the activity log, written in the transaction that marks it settled (``X402Store.finish``'s
``booked``). The one booking of both the payer (a payment its server settled) and the lapsed check (a
payment the chain shows settled after the fact, ``x402.lapsed``: its log line says how, by its note)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.activity import activity_row
from paygo_desktop.store.models import Funding
from paygo_desktop.store.spending import SpendingEntry, spending_row
from paygo_desktop.store.x402 import X402Payment
from paygo_desktop.x402.lapsed import FOUND_NOTES


def booking_rows(payment: X402Payment, *, network: str) -> list[Any]:
    """The rows that book ``payment`` (as marked settled) on the app's network ``network`` (its key); none
    for an ``upto`` payment settled at nothing."""
    path = urlsplit(payment.url).path or "/"
    asset = Asset(payment.asset_symbol, payment.decimals, payment.asset)
    paid = Amount(asset, payment.moved)
    if paid.units == 0:  # an upto payment the server settled at nothing
        return []
    entry = SpendingEntry(
        account=payment.payer,
        network=network,
        funding=Funding.X402,
        asset_symbol=payment.asset_symbol,
        asset_address=payment.asset,
        decimals=payment.decimals,
        provider_url=payment.origin,
        provider_name=(urlsplit(payment.origin).hostname or payment.origin)[:200],
        service_id=path[:100],
        service_name=f"{payment.method} {path}"[:200],
        category="x402",
        amount=paid.units,
        at=payment.created_at,
    )
    most = "" if paid.units == payment.amount else f", of at most {Amount(asset, payment.amount)}"
    after = f": {payment.error}" if payment.error in FOUND_NOTES else ""
    line = activity_row(
        "x402",
        f"Paid {paid}{most} to {payment.origin} for {payment.method} {path[:200]} (x402){after}",
        account=payment.payer,
        network=network,
    )
    return [spending_row(entry), line]
