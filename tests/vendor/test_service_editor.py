"""The vendor's service editor against the real provider (anvil, loopback) with the sandbox's real weather
API and market feed as upstreams: a service created with an upstream is in the public catalog (its
upstream only on the vendor's own routes) and a paid session on it is delivered through the gateway; it is
edited, paused and resumed; an upstream outside the provider's ``upstream_hosts``, or of the wrong kind, is
refused with words, before sending where the app can tell and by the provider where only it can."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.vendor.service_editor import (
    ServiceDraft,
    ServiceEditError,
    draft_of,
    fields_of,
    load_catalog,
    save,
    set_active,
)
from tests.chain.conftest import (  # noqa: F401 - fixtures used by this module
    Env,
    _deployed,
    anvil_url,
    env,
    runner,
)
from tests.provider.conftest import Server, open_channel, provider_server, voucher
from tests.provider.gateway_world import Upstreams, bearer


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    u = Upstreams()
    try:
        yield u
    finally:
        u.stop()


@pytest.fixture
def provider(env: Env, tmp_path: Path) -> Iterator[Server]:  # noqa: F811
    with provider_server(env, tmp_path, upstream_hosts=["127.0.0.1"]) as s:
        yield s


def draft(upstreams: Upstreams, **kw: Any) -> ServiceDraft:
    base = {
        "name": "City weather",
        "category": "data",
        "type": "data",
        "price": "0.5",
        "asset": "USDC",
        "unit": "per_minute",
        "tick_seconds": 10,
        "grace_seconds": 10,
        "delivery": "http",
        "upstream_url": f"http://127.0.0.1:{upstreams.api_port}",
    }
    return ServiceDraft(**{**base, **kw})


def run(provider: Server, work: Any) -> Any:
    async def go() -> Any:
        async with ProviderClient(provider.url, timeout=10) as client:
            return await work(client, provider.env.provider)

    return provider.env.run(go())


def test_a_service_made_with_an_upstream_is_listed_and_delivered_through_the_gateway(
    provider: Server, upstreams: Upstreams
) -> None:
    catalog = run(provider, load_catalog)
    made = run(provider, lambda c, k: save(c, k, draft(upstreams), catalog.assets, None))
    assert made.rate == m.Rate(
        amount=500_000, asset="USDC", unit=m.RateUnit.per_minute
    )  # 0.5 USDC, base units
    assert made.upstream == m.ServiceUpstream(
        url=f"http://127.0.0.1:{upstreams.api_port}", delivery=m.Delivery.http
    )
    public = httpx.get(provider.url + "/api/v1/service", timeout=10).json()["items"]
    listed = next(s for s in public if s["id"] == made.id)
    assert listed["name"] == "City weather" and listed.get("upstream") is None  # never shown to the public
    mine = run(provider, load_catalog).services
    assert next(s for s in mine if s.id == made.id).upstream == made.upstream

    chain = provider.env
    ch = open_channel(chain, 10_000_000)
    tick = made.rate.cost(made.tick_seconds)

    async def start(client: ProviderClient, _key: Any) -> m.StartResponse:
        return await client.start_session(made.id, ch, tick, voucher(chain, ch, tick))

    started = run(provider, start)
    assert started.access.delivery is m.Delivery.http
    r = httpx.get(started.access.service_url + "weather?city=Braga", headers=bearer(started), timeout=10)
    assert r.status_code == 200 and r.json()["city"] == "Braga"


def test_a_service_is_edited_paused_and_resumed(provider: Server, upstreams: Upstreams) -> None:
    assets = run(provider, load_catalog).assets
    made = run(provider, lambda c, k: save(c, k, draft(upstreams), assets, None))
    feed = draft(
        upstreams,
        name="Live prices",
        price="0.001",
        unit="per_second",
        delivery="websocket",
        upstream_url=f"ws://127.0.0.1:{upstreams.feed_port}/feed",
    )
    edited = run(provider, lambda c, k: save(c, k, feed, assets, made.id))
    assert edited.id == made.id and edited.name == "Live prices"
    assert edited.rate == m.Rate(amount=1000, asset="USDC", unit=m.RateUnit.per_second)
    assert edited.upstream is not None and edited.upstream.delivery is m.Delivery.websocket
    assert draft_of(edited, assets) == feed  # the form shows what was saved

    paused = run(provider, lambda c, k: set_active(c, k, edited, False))
    assert not paused.is_active
    public = httpx.get(provider.url + "/api/v1/service", timeout=10).json()["items"]
    assert made.id not in {s["id"] for s in public}
    assert run(provider, lambda c, k: set_active(c, k, paused, False)) == paused  # nothing sent twice
    resumed = run(provider, lambda c, k: set_active(c, k, paused, True))
    assert resumed.is_active


def test_upstreams_outside_the_vendors_hosts_or_of_the_wrong_kind_are_refused(
    provider: Server, upstreams: Upstreams
) -> None:
    assets = run(provider, load_catalog).assets
    for bad, words in (
        (draft(upstreams, upstream_url="file:///etc/passwd"), "starts with http or https"),
        (draft(upstreams, delivery="websocket"), "starts with ws or wss"),
        (draft(upstreams, delivery="", upstream_url="http://x"), "choose how it is delivered"),
        (draft(upstreams, price="0"), "more than zero"),
        (draft(upstreams, price="0.0000001"), "at most 6 decimal places"),
        (draft(upstreams, asset="DAI"), "takes no DAI"),
    ):
        with pytest.raises(ServiceEditError, match=words):
            fields_of(bad, assets)
    # only the provider knows its upstream_hosts: another host, or a name for loopback, is refused there
    for url in ("http://10.1.2.3:80", "http://localhost:9", "http://user:pw@127.0.0.1:9"):
        with pytest.raises(ServiceEditError, match="refused the service"):
            run(provider, lambda c, k, u=url: save(c, k, draft(upstreams, upstream_url=u), assets, None))
    before = len(run(provider, load_catalog).services)
    # the provider itself checks the kind, whatever a client sends
    fields = fields_of(draft(upstreams), assets).model_copy(
        update={"upstream": m.ServiceUpstream(url="ws://127.0.0.1:9/x", delivery=m.Delivery.http)}
    )
    with pytest.raises(Exception, match="http or https"):
        run(provider, lambda c, k: c.create_service(k, fields))
    assert len(run(provider, load_catalog).services) == before  # nothing was made


def test_a_provider_without_upstream_hosts_takes_no_upstream_from_its_routes(
    env: Env,  # noqa: F811
    tmp_path: Path,
    upstreams: Upstreams,
) -> None:
    with provider_server(env, tmp_path) as provider:
        assets = run(provider, load_catalog).assets
        with pytest.raises(ServiceEditError, match="upstream_hosts"):
            run(provider, lambda c, k: save(c, k, draft(upstreams), assets, None))
        plain = run(
            provider, lambda c, k: save(c, k, draft(upstreams, delivery="", upstream_url=""), assets, None)
        )
        assert plain.upstream is None
