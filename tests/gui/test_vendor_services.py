"""The Vendor page's Services tab against the real reference provider (anvil, loopback) whose config lets
its vendor point services at this machine (``upstream_hosts``), with the sandbox's real weather API as
the upstream: a service created in the form appears in the provider's public catalog and, with its
upstream, in the vendor's own; an upstream elsewhere is refused with words; Pause takes it off the
catalog."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygo_desktop.context import AppContext
from paygo_desktop.networks import custom_network
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.sandbox.upstreams import api_app
from tests.chain.conftest import _deployed, _free_port, anvil_url, env, runner  # noqa: F401 - fixtures
from tests.gui.conftest import PASSWORD
from tests.gui.helpers import TIMEOUT, click
from tests.gui.test_vendor_page import shown_vendor_page
from tests.provider.conftest import Server, provider_server, run_server


@pytest.fixture
def provider(env: Any, tmp_path: Path) -> Iterator[tuple[Server, int]]:  # noqa: F811
    api_port = _free_port()
    upstream, thread = run_server(api_app(), api_port)
    try:
        with provider_server(env, tmp_path / "provider", upstream_hosts=["127.0.0.1"]) as server:
            yield server, api_port
    finally:
        upstream.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def vendor_ctx(provider: tuple[Server, int], wallet_ctx: AppContext) -> AppContext:
    chain = provider[0].env
    network = custom_network("Test chain", chain.url, chain.chain_id, vault_address=chain.vault.address)
    wallet_ctx.networks.save_custom(network)
    wallet_ctx.settings.network = network.key
    wallet_ctx.settings.providers = [provider[0].url]
    wallet_ctx.wallet.import_private_key("0x" + bytes(chain.provider.key).hex(), PASSWORD, "My provider")
    wallet_ctx.wallet.unlock(PASSWORD)
    return wallet_ctx


def in_thread(qtbot: Any, work: Any) -> Any:
    """``work()`` in a worker thread (the GUI thread never waits on the network); its result."""
    out: list[Any] = []
    threading.Thread(target=lambda: out.append(work()), daemon=True).start()
    qtbot.waitUntil(lambda: bool(out), timeout=TIMEOUT)
    return out[0]


def public_ids(qtbot: Any, url: str) -> dict[str, str]:
    items = in_thread(qtbot, lambda: httpx.get(url + "/api/v1/service", timeout=10).json()["items"])
    return {s["id"]: s["name"] for s in items}


def vendors_own(qtbot: Any, server: Server) -> list[m.Service]:
    async def read() -> list[m.Service]:
        async with ProviderClient(server.url, timeout=10) as client:
            return (await client.my_services(server.env.provider)).items

    return in_thread(qtbot, lambda: asyncio.run(read()))  # type: ignore[no-any-return]


def test_a_service_created_on_the_vendor_page_is_in_the_catalog_with_its_upstream(
    provider: tuple[Server, int], vendor_ctx: AppContext, qtbot: Any, event_loop_qt: Any
) -> None:
    server, api_port = provider
    page, tasks = shown_vendor_page(qtbot, vendor_ctx)
    click(qtbot, page.connect_button)
    qtbot.waitUntil(lambda: page.overview is not None, timeout=TIMEOUT)
    panel = page.catalog
    page.content.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0 and panel.asset.count() > 0, timeout=TIMEOUT)
    assert panel.save_button.text() == "Create service"

    click(qtbot, panel.new_button)
    panel.name.setText("Porto weather")
    panel.price.setText("0.25")
    panel.asset.setCurrentText("USDC")
    panel.unit.setCurrentIndex(panel.unit.findData("per_minute"))
    panel.delivery.setCurrentIndex(panel.delivery.findData("http"))
    panel.upstream.setText("http://10.9.8.7:80")  # not a host the provider's config allows
    click(qtbot, panel.save_button)
    qtbot.waitUntil(lambda: "upstream_hosts" in panel.message.text(), timeout=TIMEOUT)
    assert "Porto weather" not in public_ids(qtbot, server.url).values()  # nothing was made

    panel.upstream.setText(f"http://127.0.0.1:{api_port}")
    click(qtbot, panel.save_button)
    qtbot.waitUntil(lambda: panel.message.text() == "Created Porto weather.", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: any(s.name == "Porto weather" for s in panel.services), timeout=TIMEOUT)
    made = next(s for s in vendors_own(qtbot, server) if s.name == "Porto weather")
    assert made.upstream == m.ServiceUpstream(url=f"http://127.0.0.1:{api_port}", delivery=m.Delivery.http)
    assert made.rate == m.Rate(amount=250_000, asset="USDC", unit=m.RateUnit.per_minute)
    assert public_ids(qtbot, server.url)[made.id] == "Porto weather"
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "Porto weather")
    assert panel.table.item(row, 3).text() == f"http://127.0.0.1:{api_port}"
    assert panel.table.item(row, 2).text() == "0.25 USDC per minute"

    assert panel.editing == made.id and panel.pause_button.text() == "Pause"
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: panel.message.text() == "Paused Porto weather.", timeout=TIMEOUT)
    assert made.id not in public_ids(qtbot, server.url)
    qtbot.waitUntil(lambda: not tasks.busy and panel.pause_button.text() == "Resume", timeout=TIMEOUT)
