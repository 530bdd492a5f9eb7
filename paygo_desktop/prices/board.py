"""The fiat values of a network's assets in the user's currency, read from their feeds together.

``read_board`` reads every asset's ``X / USD`` feed and the currency's own feed in one go (a feed that
fails is no price, never an error for the page) and returns a ``PriceBoard``: what each asset is worth
now, or why it has no value ("no price feed for EURC on Base", "the ETH / USD feed's last round is 3 h
old"). Pages show ``board.text(amount)`` beside the amount, never instead of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from paygo_desktop.money import Amount, Asset
from paygo_desktop.prices.aggregator import FeedUnreadable, Reading, latest_reading
from paygo_desktop.prices.feeds import Currency, Feed, FeedBook
from paygo_desktop.prices.fiat import MISSING, FiatPrice, fresh, price_from


def _key(asset: Asset) -> str:
    return (asset.address or "native").lower()


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86_400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} days"


@dataclass
class PriceBoard:
    currency: Currency
    read_at: int
    prices: dict[str, FiatPrice] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # why an asset has no price

    def price(self, asset: Asset) -> FiatPrice | None:
        return self.prices.get(_key(asset))

    def text(self, amount: Amount) -> str:
        """ "≈ $1.50", or "—" when there is no fresh price."""
        price = self.price(amount.asset)
        return price.text(amount) if price is not None else MISSING

    def note(self, asset: Asset) -> str:
        """A sentence for a tooltip: the price used and its time, or why there is none."""
        price = self.price(asset)
        if price is None:
            return self.notes.get(_key(asset), f"No price for {asset.symbol}.")
        return (
            f"1 {asset.symbol} = {price.price_text()} {self.currency.code}, from {price.source_text()} "
            f"(rounded half to even to the {self.currency.code} cent)."
        )

    def with_amount(self, amount: Amount, *, max_decimals: int | None = 6) -> str:
        """ "1.5 USDC (≈ $1.50)", "2 EURC (—)": the amount first, its value beside it."""
        return f"{amount.format(max_decimals=max_decimals)} ({self.text(amount)})"


def empty_board(currency: Currency) -> PriceBoard:
    return PriceBoard(currency, int(time.time()))


async def _read(w3: Any, feed: Feed | None) -> Reading | str:
    if feed is None:
        return "no feed"
    try:
        return await latest_reading(w3, feed)
    except FeedUnreadable as exc:
        return str(exc)


async def read_prices(
    w3: Any,
    book: FeedBook,
    currency: Currency,
    assets: Iterable[Asset],
    *,
    where: str,
    now: int | None = None,
) -> PriceBoard:
    """Every asset's value in ``currency`` now (``now``: this computer's clock, for tests a fixed time)."""
    assets = list(dict.fromkeys(assets))
    moment = int(time.time()) if now is None else now
    board = PriceBoard(currency, moment)
    currency_feed = None if currency.code == "USD" else book.for_currency(currency.code)
    feeds = [book.for_asset(a) for a in assets]
    results = await asyncio.gather(*(_read(w3, f) for f in (*feeds, currency_feed)))
    currency_reading = results[-1]
    for asset, feed, reading in zip(assets, feeds, results[:-1], strict=True):
        key = _key(asset)
        if feed is None:
            board.notes[key] = f"No price feed for {asset.symbol} on {where}: no value is shown."
            continue
        if isinstance(reading, str):
            board.notes[key] = f"The {feed.pair} feed could not be read ({reading})."
            continue
        if currency.code != "USD" and not isinstance(currency_reading, Reading):
            board.notes[key] = (
                f"No {currency.code} / USD price on {where}: no {currency.code} value is shown."
            )
            continue
        other = currency_reading if isinstance(currency_reading, Reading) else None
        price = price_from(asset, currency, reading, other, now=moment)
        if price is None:
            stale = [r for r in (reading, other) if r is not None and not fresh(r, moment)]
            board.notes[key] = (
                "; ".join(
                    f"The {r.feed.pair} feed's last round is {_age(max(0, moment - r.updated_at))} old "
                    f"(its heartbeat is {_age(r.feed.heartbeat)}): no value is shown"
                    if r.updated_at <= moment
                    else f"The {r.feed.pair} feed's last round is dated in the future: no value is shown"
                    for r in stale
                )
                + "."
            )
            continue
        board.prices[key] = price
    return board


async def read_board(
    rpc_url: str, book: FeedBook, currency: Currency, assets: Iterable[Asset], where: str
) -> PriceBoard:
    """``read_prices`` on its own connection to ``rpc_url`` (closed after)."""
    if book.empty:
        board = empty_board(currency)
        for asset in assets:
            board.notes[_key(asset)] = f"No price feeds on {where}: no fiat value is shown."
        return board
    from paygo_desktop.chain.rpc import async_web3

    w3 = async_web3(rpc_url, timeout=10)
    try:
        return await read_prices(w3, book, currency, assets, where=where)
    finally:
        await w3.provider.disconnect()
