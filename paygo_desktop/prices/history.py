"""Prices as they stood when a past transfer happened: the rounds in force at its block, kept once read.

``PriceHistory.price_at`` gives an asset's ``FiatPrice`` at a block: the asset's feed and the currency's
feed as they stood then (``prices.aggregator.reading_at``: the node at that block, else the feed's own
rounds), each reading kept in the store (``store.feed_readings``) so an export reads the chain once per
feed and block. The staleness rule is the same as for today's prices, against the block's own time: a
feed that had stopped then gives "—" for that transfer.

``price_at_time`` gives the price at a moment with no block of its own (a session's end): each feed's own
history (``prices.aggregator.round_in_force``), with the same staleness rule against that moment; read
once per feed and moment for the life of the ``PriceHistory``, the feed's latest round once and each of
its rounds once (many sessions' look-ups share the halving's reads).
"""

from __future__ import annotations

import asyncio
from typing import Any

from paygo_desktop.money import Asset
from paygo_desktop.prices.aggregator import (
    FeedUnreadable,
    Reading,
    latest_reading,
    reading_at,
    round_in_force,
)
from paygo_desktop.prices.feeds import Currency, Feed, FeedBook
from paygo_desktop.prices.fiat import FiatPrice, price_from
from paygo_desktop.store.feed_readings import FeedReadings, StoredReading


class PriceHistory:
    def __init__(
        self, w3: Any, readings: FeedReadings, chain_id: int, book: FeedBook, currency: Currency
    ) -> None:
        self.w3 = w3
        self.readings = readings
        self.chain_id = chain_id
        self.book = book
        self.currency = currency
        self._at_time: dict[tuple[str, int], Reading | None] = {}
        self._latest: dict[str, Reading] = {}  # for price_at_time: each feed's latest round, read once
        self._rounds: dict[str, dict[int, tuple[int, int] | None]] = {}  # and its rounds, as read

    async def price_at(self, asset: Asset, block: int, block_time: int) -> FiatPrice | None:
        feed = self.book.for_asset(asset)
        if feed is None:
            return None
        own = await self._reading(feed, block, block_time)
        other = None
        if self.currency.code != "USD":
            currency_feed = self.book.for_currency(self.currency.code)
            if currency_feed is None:
                return None
            other = await self._reading(currency_feed, block, block_time)
        return price_from(asset, self.currency, own, other, now=block_time)

    async def price_at_time(self, asset: Asset, when: int) -> FiatPrice | None:
        """The asset's price at the moment ``when`` (Unix seconds), from the feeds' own rounds."""
        feed = self.book.for_asset(asset)
        if feed is None:
            return None
        own = await self._reading_at_time(feed, when)
        other = None
        if self.currency.code != "USD":
            currency_feed = self.book.for_currency(self.currency.code)
            if currency_feed is None:
                return None
            other = await self._reading_at_time(currency_feed, when)
        return price_from(asset, self.currency, own, other, now=when)

    async def _reading_at_time(self, feed: Feed, when: int) -> Reading | None:
        address = feed.address.lower()
        key = (address, when)
        if key not in self._at_time:
            try:
                if address not in self._latest:
                    self._latest[address] = await latest_reading(self.w3, feed)
                rounds = self._rounds.setdefault(address, {})
                self._at_time[key] = await round_in_force(
                    self.w3, feed, when, latest=self._latest[address], rounds=rounds
                )
            except FeedUnreadable:
                return None  # not kept: the node may answer another time
        return self._at_time[key]

    async def _reading(self, feed: Feed, block: int, block_time: int) -> Reading | None:
        kept = await asyncio.to_thread(self.readings.get, self.chain_id, feed.address, block)
        if kept is None:
            try:
                found = await reading_at(self.w3, feed, block, block_time)
            except FeedUnreadable:
                return None  # not kept: the node may answer another time
            kept = (
                StoredReading(None, 0, 0, 0)
                if found is None
                else StoredReading(found.answer, found.decimals, found.updated_at, found.round_id)
            )
            await asyncio.to_thread(self.readings.put, self.chain_id, feed.address, block, kept)
        if kept.answer is None:
            return None
        return Reading(feed, kept.round_id, kept.answer, kept.decimals, kept.updated_at)
