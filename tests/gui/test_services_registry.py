"""The Services page lists the providers registered in PayGo's provider registry, on a network the user
added (the Base Sepolia rehearsal's node): no provider URL typed in, the catalog checked against what its
payTo account registered, an impostor's entry reported beside it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.chain.canonical import REGISTRY
from paygo_desktop.chain.registry import RegistryClient
from paygo_desktop.networks import custom_network
from tests.networks.conftest import Rehearsal, _base_sepolia, rehearsal, runner  # noqa: F401 - fixtures
from tests.networks.rehearsal import config_file, register_with_command
from tests.sessions.conftest import Provider, run_provider


def in_a_thread(work: Any) -> Any:
    """Run ``work()`` (it runs its own event loop) beside the test's Qt event loop."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(60)
    return result[0]


@pytest.fixture
def registered(rehearsal: Rehearsal, wallet_ctx: Any, tmp_path: Path) -> Iterator[Provider]:  # noqa: F811
    """The reference provider, registered by its payTo account with `provider register`, an impostor's entry
    for the same catalog, and the app on a network the user added for the rehearsal's node."""
    env = rehearsal.env
    with run_provider(env, tmp_path) as provider:
        config = config_file(provider.config, tmp_path / "provider.json")
        code, _, err = in_a_thread(lambda: register_with_command(config, tmp_path / "vendor"))
        assert code == 0, err
        impostor = RegistryClient(env.w3, REGISTRY.address).register_call(
            provider.url, "Test provider", env.stranger.address
        )
        env.transact(impostor, env.stranger)
        network = custom_network("Base Sepolia rehearsal", env.url, 84532)
        wallet_ctx.networks.save_custom(network)
        wallet_ctx.settings.network = network.key
        yield provider


def test_the_services_page_lists_a_registered_provider(
    qtbot: Any,
    registered: Provider,
    unlocked_window: Any,
) -> None:
    ctx = unlocked_window.ctx
    assert ctx.settings.providers == [] and ctx.network.name == "Base Sepolia rehearsal"
    unlocked_window.show_page("services")
    page = unlocked_window.pages["services"]
    qtbot.waitUntil(lambda: page.model.rowCount() >= 12, timeout=20_000)
    assert page.stack.currentWidget() is page.table
    assert {page.model.cell(e, 1) for e in page.model.rows} == {"Test provider"}
    assert all(e.provider_url == registered.url for e in page.model.rows)
    text = page.message.text()
    assert page.message.isVisible() and "Registered by" in text and "that entry is skipped" in text
    page.table.selectRow(0)
    assert page.start_button.isEnabled()
