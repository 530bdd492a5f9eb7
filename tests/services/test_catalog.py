"""Loading catalogs from the real reference provider and from hostile ones, over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.provider.app import create_app
from paygo_desktop.provider.config import load_config
from paygo_desktop.services.catalog import load_catalog
from tests.provider.conftest import _free_port, run_server
from tests.provider.test_config import TOML


@pytest.fixture
def reference_provider(tmp_path: Path):
    """The real reference provider with its demo catalog (its chain is not needed to browse)."""
    port = _free_port()
    config_file = tmp_path / "provider.toml"
    config_file.write_text(TOML.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}"))
    app = create_app(load_config(config_file))
    server, thread = run_server(app, port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


GOOD_SERVICE = {
    "id": "ok",
    "name": "Plain service",
    "description": "fine",
    "category": "data",
    "type": "data",
    "rate": {"amount": "1000", "asset": "USDC", "unit": "per_minute"},
    "tickSeconds": 5,
    "graceSeconds": 5,
    "isActive": True,
    "vendor": {"name": "Hostile", "address": "0x000000000000000000000000000000000000dEaD"},
}


def hostile_items():
    def variant(**changes):
        item = json.loads(json.dumps(GOOD_SERVICE))
        for key, value in changes.items():
            item[key] = value
        return item

    return [
        GOOD_SERVICE,
        variant(id="markup", name="<b>Free</b> <script>alert(1)</script>"),
        variant(id="negative", rate={"amount": "-5", "asset": "USDC", "unit": "per_second"}),
        variant(id="zero", rate={"amount": "0", "asset": "USDC", "unit": "per_second"}),
        variant(id="nan", rate={"amount": "NaN", "asset": "USDC", "unit": "per_second"}),
        variant(id="float", rate={"amount": 1.5, "asset": "USDC", "unit": "per_second"}),
        variant(id="unknown-asset", rate={"amount": "5", "asset": "DOGE", "unit": "per_second"}),
    ]


@pytest.fixture
def hostile_server():
    """A provider gone wrong in every way a catalog can: bad items, deep nesting, slowness."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/slow"):
                time.sleep(3)
            prefix = "/" + self.path.split("/")[1] if self.path.count("/") > 3 else ""
            route = self.path[len(prefix) :].split("?")[0]
            if route == "/api/v1/provider":
                body = {
                    "name": "Hostile",
                    "payTo": "0x000000000000000000000000000000000000dEaD",
                    "networks": [{"chainId": 31337, "vault": "0x000000000000000000000000000000000000bEEF"}],
                    "assets": [
                        {
                            "symbol": "USDC",
                            "address": "0x000000000000000000000000000000000000cafe",
                            "decimals": 6,
                        }
                    ],
                    "signingKey": "0x000000000000000000000000000000000000dEaD",
                    "zcash": False,
                    "apiVersion": "1",
                }
                data = json.dumps(body).encode()
            elif prefix == "/nested":
                data = b"[" * 50_000 + b"]" * 50_000
            else:
                items = hostile_items()
                data = json.dumps({"items": items, "total": len(items), "page": 1, "pageSize": 100}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_the_reference_catalog_loads_in_the_users_terms(reference_provider):
    catalog = await load_catalog([reference_provider])
    assert catalog.failures == [] and catalog.skipped_items == 0
    assert len(catalog.entries) >= 12
    assert len(catalog.types()) >= 4 and len(catalog.categories()) >= 4
    entry = next(e for e in catalog.entries if e.service.rate.unit.value == "per_minute")
    assert entry.per_hour.units == entry.service.rate.amount * 60
    assert entry.provider_name


async def test_hostile_items_are_skipped_and_counted(hostile_server, reference_provider):
    catalog = await load_catalog([hostile_server, reference_provider])
    hostile = [e for e in catalog.entries if e.provider_url == hostile_server]
    assert [e.service.id for e in hostile] == ["ok"]
    assert catalog.skipped_items == 6
    assert all("<" not in e.service.name for e in catalog.entries)


async def test_broken_providers_are_reported_and_the_rest_still_loads(hostile_server, reference_provider):
    dead = f"http://127.0.0.1:{_free_port()}"
    nested = hostile_server + "/nested"
    slow = hostile_server + "/slow"

    def quick_client(url: str) -> ProviderClient:
        return ProviderClient(url, timeout=1.0)

    catalog = await load_catalog([dead, nested, slow, reference_provider], client_factory=quick_client)
    failed = {f.url: f.message for f in catalog.failures}
    assert set(failed) == {dead, nested, slow}
    assert all(message and "Traceback" not in message for message in failed.values())
    assert len(catalog.entries) >= 12  # the good provider is unaffected


async def test_filters_and_price_sort_never_mix_assets(reference_provider):
    catalog = await load_catalog([reference_provider])
    by_price = catalog.select(sort="price")
    for asset in {e.asset.symbol for e in by_price}:
        hourly = [e.per_hour.units for e in by_price if e.asset.symbol == asset and e.per_hour is not None]
        assert hourly == sorted(hourly)  # per-request services (x402) have no hourly price
    videos = catalog.select(type="video")
    assert videos and all(e.service.type.value == "video" for e in videos)
    some = catalog.entries[0]
    found = catalog.select(search=some.service.name[:5].upper())
    assert some in found
    assert catalog.select(category="no-such-category") == []


async def test_a_provider_that_misstates_a_known_tokens_decimals_is_not_shown(reference_provider):
    """A provider whose word on a token's decimals differs from the app's (here the app's list says 9 where
    the provider says 6) would show every price a thousandfold off. It is reported, and its services are
    not listed; with the app's list saying 6 they are."""
    from paygo_desktop.money import Asset

    info = await _info(reference_provider)
    usdc = next(a for a in info.assets if a.symbol == "USDC")
    wrong = {usdc.address.lower(): Asset("USDC", 9, usdc.address)}
    catalog = await load_catalog([reference_provider], known=wrong)
    assert catalog.entries == [] and len(catalog.failures) == 1
    assert "says USDC has 6 decimals; it has 9" in catalog.failures[0].message
    right = {usdc.address.lower(): Asset("USDC", 6, usdc.address)}
    assert len((await load_catalog([reference_provider], known=right)).entries) >= 12


async def _info(url: str):
    async with ProviderClient(url) as client:
        return await client.provider_info()
