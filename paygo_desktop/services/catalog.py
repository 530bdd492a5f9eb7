"""The catalog: every service of every provider the user knows, in the user's terms.

A broken or hostile provider (unreachable, slow, malformed, huge, items with markup or impossible rates,
assets it does not describe) is reported and skipped; the rest of the catalog still loads. Prices stay
integers with their asset: a per-hour figure in USDC is never compared with one in ETH.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.metering.meter import Price
from paygo_desktop.money import Amount, Asset

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_SERVICES_PER_PROVIDER = 10_000


@dataclass(frozen=True)
class CatalogEntry:
    provider_url: str
    provider_name: str
    service: Any  # protocol.models.Service
    asset: Asset

    @property
    def price(self) -> Price:
        return Price(self.service.rate.amount, self.service.rate.unit.value)

    @property
    def rate(self) -> Amount:
        """The rate as the provider gives it, per its own unit."""
        return Amount(self.asset, self.service.rate.amount)

    @property
    def per_request(self) -> bool:
        """Paid per HTTP request with x402 (``x402.one_off``), not in a session: no hourly price."""
        return bool(self.service.rate.unit == "per_request")

    @property
    def per_hour(self) -> Amount | None:
        return None if self.per_request else Amount(self.asset, self.price.per_hour())

    @property
    def available(self) -> bool:
        return bool(self.service.is_active)

    @property
    def unit_label(self) -> str:
        return {"per_second": "second", "per_minute": "minute", "per_hour": "hour", "per_request": "request"}[
            self.service.rate.unit.value
        ]


def _price(entry: CatalogEntry) -> int:
    return int(entry.service.rate.amount) if entry.per_request else entry.price.per_hour()


@dataclass(frozen=True)
class ProviderFailure:
    url: str
    message: str


@dataclass
class Catalog:
    entries: list[CatalogEntry] = field(default_factory=list)
    failures: list[ProviderFailure] = field(default_factory=list)
    skipped_items: int = 0  # items dropped: invalid, or priced in an asset the provider does not describe

    def categories(self) -> list[str]:
        return sorted({e.service.category for e in self.entries})

    def types(self) -> list[str]:
        return sorted({e.service.type.value for e in self.entries})

    def providers(self) -> list[str]:
        return sorted({e.provider_name for e in self.entries})

    def select(
        self,
        *,
        search: str = "",
        category: str | None = None,
        type: str | None = None,
        provider: str | None = None,
        sort: str = "name",
    ) -> list[CatalogEntry]:
        """The entries matching every given filter, sorted by name or by price per hour (per asset)."""
        needle = search.strip().casefold()
        chosen = [
            e
            for e in self.entries
            if (
                not needle
                or needle in e.service.name.casefold()
                or needle in e.service.description.casefold()
            )
            and (category is None or e.service.category == category)
            and (type is None or e.service.type.value == type)
            and (provider is None or e.provider_name == provider)
        ]
        if sort == "price":  # per-request services after the metered ones, by their price per request
            chosen.sort(key=lambda e: (e.asset.symbol, e.per_request, _price(e), e.service.name.casefold()))
        elif sort == "price-desc":
            chosen.sort(key=lambda e: (e.asset.symbol, e.per_request, -_price(e), e.service.name.casefold()))
        else:
            chosen.sort(key=lambda e: (e.service.name.casefold(), e.provider_name))
        return chosen


async def load_provider(
    client: Any, url: str, known: Mapping[str, Asset] | None = None
) -> tuple[list[CatalogEntry], int]:
    """One provider's whole catalog, page by page, up to a bound. A provider that misstates the decimals
    of a token the app knows (``known``: by lower-case address) is refused whole: every price it shows
    would read wrong (the real USDC said to have 9 decimals showed prices 1,000 times smaller). A token the
    app does not know is shown as the provider describes it; a session checks it on chain before it starts
    (``EscrowChain.checked_asset``)."""
    info = await client.provider_info()
    for a in info.assets:
        token = (known or {}).get(a.address.lower())
        if token is not None and token.decimals != a.decimals:
            raise UserFacingError(
                f"{info.name} says {token.symbol} has {a.decimals} decimals; it has {token.decimals}. "
                "Its prices cannot be read, so its services are not shown."
            )
    assets = {a.symbol: Asset(a.symbol, a.decimals, a.address) for a in info.assets}
    entries: list[CatalogEntry] = []
    skipped = 0
    page = 1
    while len(entries) + skipped < MAX_SERVICES_PER_PROVIDER:
        batch = await client.list_services(page=page, page_size=PAGE_SIZE)
        skipped += batch.rejected
        for service in batch.items:
            asset = assets.get(service.rate.asset)
            if asset is None:  # priced in something the provider does not describe: cannot be shown honestly
                skipped += 1
                continue
            entries.append(CatalogEntry(url, info.name, service, asset))
        if (not batch.items and not batch.rejected) or page * batch.page_size >= batch.total:
            break
        page += 1
    return entries, skipped


async def load_catalog(
    urls: Iterable[str],
    client_factory: Callable[[str], Any] | None = None,
    known: Mapping[str, Asset] | None = None,
) -> Catalog:
    """Load every provider at once; a failing provider becomes a ``ProviderFailure``, never an exception
    (``known``: the app's tokens by lower-case address, ``load_provider``)."""
    if client_factory is None:
        # The client pulls in eth_account and web3's helpers (~0.4 s): import them in a worker thread, so
        # that the first catalog load does not stall the window.
        client_module = await asyncio.to_thread(importlib.import_module, "paygo_desktop.protocol.client")

        def client_factory(url: str) -> Any:
            return client_module.ProviderClient(url, timeout=10.0)

    factory = client_factory

    async def one(url: str) -> tuple[list[CatalogEntry], int] | ProviderFailure:
        client = factory(url)
        try:
            return await load_provider(client, url, known)
        except UserFacingError as exc:
            return ProviderFailure(url, str(exc))
        except Exception as exc:  # a hostile provider must not take the catalog down
            log.warning("provider %s failed unexpectedly: %r", url, exc)
            return ProviderFailure(url, "The provider sent something the app could not use.")
        finally:
            await client.aclose()

    catalog = Catalog()
    for result in await asyncio.gather(*(one(u) for u in dict.fromkeys(urls))):
        if isinstance(result, ProviderFailure):
            catalog.failures.append(result)
        else:
            entries, skipped = result
            catalog.entries.extend(entries)
            catalog.skipped_items += skipped
    return catalog
