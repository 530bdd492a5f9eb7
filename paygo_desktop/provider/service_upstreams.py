"""Which upstream the gateway (provider.gateway) takes a catalog service from: the config's
``[services.<id>]`` table when there is one (the file wins), else the upstream the vendor set through its
service routes (``ServiceFields.upstream``, kept in the service's row).

An upstream set through the routes is checked as the config's are (http/https for ``http``, ws/wss for
``websocket``; no query, fragment or credentials) and must name one of the hosts the vendor lists in the
config's ``upstream_hosts``: the routes never turn the provider into a proxy to anywhere else, even with the
provider's key (an empty list: no upstream through the routes). The host is checked again each time the
gateway uses it, so taking a host off the list cuts its services off.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ValidationError

from paygo_desktop.protocol import models as m
from paygo_desktop.provider.config import GatewayService, ProviderConfig
from paygo_desktop.provider.store import ServiceRow


def upstream_problem(config: ProviderConfig, upstream: m.ServiceUpstream) -> str | None:
    """What is wrong with an upstream a vendor sets through the routes, in words; None when it is fine."""
    if not config.upstream_hosts:
        return "this provider takes no upstream through its routes: list the allowed hosts in upstream_hosts"
    try:
        GatewayService(upstream=upstream.url, delivery=upstream.delivery.value)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    host = (urlsplit(upstream.url).hostname or "").lower()
    if host not in config.upstream_hosts:
        return f"the upstream's host {host[:100]} is not one of this provider's upstream_hosts"
    return None


def row_upstream(row: ServiceRow) -> m.ServiceUpstream | None:
    if not row.upstream_url or not row.upstream_delivery:
        return None
    return m.ServiceUpstream(url=row.upstream_url, delivery=m.Delivery(row.upstream_delivery))


def gateway_service(config: ProviderConfig, row: ServiceRow | None, service_id: str) -> GatewayService | None:
    """The upstream the gateway takes ``service_id`` from, or None (the service delivers nothing here)."""
    configured = config.services.get(service_id)
    if configured is not None:
        return configured
    upstream = None if row is None or row.deleted else row_upstream(row)
    if upstream is None or upstream_problem(config, upstream) is not None:
        return None
    return GatewayService(upstream=upstream.url, delivery=upstream.delivery.value)
