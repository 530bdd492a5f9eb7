"""The vendor's metered services, edited from the Vendor page: create one, change it (name, type, price,
tick, grace, upstream), pause or resume it, through the provider's service routes signed with the
provider's own key (docs/provider-api.md "Catalog"; the upstream: provider.service_upstreams).

A ``ServiceDraft`` is the form's text as the vendor typed it; ``fields_of`` turns it into the wire's
``ServiceFields`` (the price in the asset's base units, never a float) or says in words what is wrong,
before anything is sent. The provider checks again (its ``upstream_hosts``: 422 ``bad_upstream``). Qt-free;
the coroutines run on a worker thread's loop (the Vendor page) or any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, AmountError
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient

UPSTREAM_SCHEMES = {"http": ("http", "https"), "websocket": ("ws", "wss"), "media": ("http", "https")}


class ServiceEditError(UserFacingError):
    """A service draft the provider would refuse, or a refusal it sent back, in words."""


@dataclass(frozen=True)
class ServiceDraft:
    name: str
    category: str
    type: str  # a ServiceType value
    price: str  # whole units of ``asset`` per ``unit``, as typed ("0.5")
    asset: str
    unit: str  # a RateUnit value
    tick_seconds: int = 10
    grace_seconds: int = 10
    description: str = ""
    delivery: str = ""  # "" (no upstream: billed, delivered elsewhere), "http", "websocket" or "media"
    upstream_url: str = ""
    is_active: bool = True


@dataclass(frozen=True)
class VendorCatalog:
    services: list[m.Service]  # the vendor's own, paused ones included, with their upstreams
    assets: list[m.AssetInfo]  # what the provider takes payment in


def fields_of(draft: ServiceDraft, assets: list[m.AssetInfo]) -> m.ServiceFields:
    """The wire's fields of ``draft``, or ``ServiceEditError`` saying what to fix."""
    info = next((a for a in assets if a.symbol == draft.asset), None)
    if info is None:
        raise ServiceEditError(f"This provider takes no {draft.asset or 'asset'}: choose one it lists.")
    try:
        price = Amount.parse(draft.price, info.asset)
    except AmountError as exc:
        raise ServiceEditError(f"Price: {exc}") from None
    if price.units <= 0:
        raise ServiceEditError("Price: enter more than zero.")
    upstream = None
    url = draft.upstream_url.strip()
    if draft.delivery:
        schemes = UPSTREAM_SCHEMES.get(draft.delivery)
        if schemes is None:
            raise ServiceEditError("Upstream: choose HTTP, WebSocket or media.")
        parts = urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            raise ServiceEditError(
                f"Upstream: a {draft.delivery} service's address starts with {' or '.join(schemes)}://"
            )
        upstream = m.ServiceUpstream(url=url, delivery=m.Delivery(draft.delivery))
    elif url:
        raise ServiceEditError(
            "Upstream: choose how it is delivered (HTTP, WebSocket or media), or clear the address."
        )
    try:
        return m.ServiceFields(
            name=draft.name.strip(),
            description=draft.description.strip(),
            category=draft.category.strip(),
            type=m.ServiceType(draft.type),
            rate=m.Rate(amount=price.units, asset=info.symbol, unit=m.RateUnit(draft.unit)),
            tick_seconds=draft.tick_seconds,
            grace_seconds=draft.grace_seconds,
            is_active=draft.is_active,
            upstream=upstream,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "service"
        raise ServiceEditError(f"{where.replace('_', ' ').capitalize()}: {first['msg']}") from None
    except ValueError as exc:
        raise ServiceEditError(str(exc)) from None


def draft_of(service: m.Service, assets: list[m.AssetInfo]) -> ServiceDraft:
    """The form's text for an existing service (its price in whole units of its asset)."""
    info = next((a for a in assets if a.symbol == service.rate.asset), None)
    price = (
        Amount(info.asset, service.rate.amount).format(symbol=False, grouping=False)
        if info is not None
        else str(service.rate.amount)
    )
    return ServiceDraft(
        name=service.name,
        category=service.category,
        type=service.type.value,
        price=price,
        asset=service.rate.asset,
        unit=service.rate.unit.value,
        tick_seconds=service.tick_seconds,
        grace_seconds=service.grace_seconds,
        description=service.description,
        delivery="" if service.upstream is None else service.upstream.delivery.value,
        upstream_url="" if service.upstream is None else service.upstream.url,
        is_active=service.is_active,
    )


async def load_catalog(client: ProviderClient, key: Any) -> VendorCatalog:
    info = await client.provider_info()
    page = await client.my_services(key)
    return VendorCatalog(services=sorted(page.items, key=lambda s: s.name.lower()), assets=list(info.assets))


async def save(
    client: ProviderClient, key: Any, draft: ServiceDraft, assets: list[m.AssetInfo], service_id: str | None
) -> m.Service:
    """Create the service (``service_id`` None) or replace its fields; the provider's refusal in words."""
    fields = fields_of(draft, assets)
    try:
        if service_id is None:
            return await client.create_service(key, fields)
        return await client.update_service(key, service_id, fields)
    except UserFacingError as exc:
        raise ServiceEditError(f"The provider refused the service: {exc}") from None


async def set_active(client: ProviderClient, key: Any, service: m.Service, active: bool) -> m.Service:
    """Pause or resume ``service`` (nothing is sent when it already is so)."""
    if service.is_active == active:
        return service
    return await client.toggle_service(key, service.id)
