"""PayGoRegistry on the Base Sepolia rehearsal: the contract's rules, the vendor's `provider register`, the
app's resumable sync of its events, and the Services catalog built from it, hostile entries reported and
skipped while the honest ones load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from paygo_desktop.chain.canonical import REGISTRY
from paygo_desktop.chain.registry import RegistryClient, RegistrySync
from paygo_desktop.chain.tx import send_data
from paygo_desktop.chain.vault import RevertError
from paygo_desktop.services import registry as services_registry
from paygo_desktop.services.registry import load_services, read_registry
from paygo_desktop.store import Store
from paygo_desktop.store.registry_entries import RegistryIndex
from tests.chain.conftest import make_account
from tests.networks.conftest import Rehearsal
from tests.networks.rehearsal import config_file, register_with_command
from tests.sessions.conftest import run_provider


def registry(rehearsal: Rehearsal) -> RegistryClient:
    return RegistryClient(rehearsal.env.w3, REGISTRY.address)


def refused(rehearsal: Rehearsal, call: Any, sender: Any, error: str) -> None:
    """``call`` from ``sender`` reverts with the registry's custom error ``error`` (its signature)."""
    with pytest.raises(RevertError) as info:
        rehearsal.env.run(call.estimate_gas({"from": sender.address}))
    assert str(getattr(info.value, "data", "")).startswith("0x" + keccak(text=error)[:4].hex()), info.value


def test_register_update_remove_and_the_rules(rehearsal: Rehearsal) -> None:
    env, reg = rehearsal.env, registry(rehearsal)
    provider, other = env.provider, env.stranger
    url, name = "https://provider.example/api", "Example provider"
    receipt = env.transact(reg.register_call(url, name, provider.address), provider).receipt
    assert [log["topics"][0] for log in receipt["logs"]] == [
        keccak(text="ProviderRegistered(address,address,string,string)")
    ]
    assert env.run(reg.registration(provider.address)) == (url, name, provider.address)
    refused(rehearsal, reg.register_call(url, name, provider.address), provider, "AlreadyRegistered(address)")
    # only the registrant changes its entry: for anyone else there is nothing to update or remove
    refused(rehearsal, reg.update_call(url, "Mine now", other.address), other, "NotRegistered(address)")
    refused(rehearsal, reg.remove_call(), other, "NotRegistered(address)")
    # bounded text, a real key
    for bad_url, bad_name, error in (
        ("", name, "InvalidCatalogUrl(uint256,uint256)"),
        ("https://" + "a" * 249, name, "InvalidCatalogUrl(uint256,uint256)"),  # 257 bytes
        (url, "", "InvalidName(uint256,uint256)"),
        (url, "n" * 65, "InvalidName(uint256,uint256)"),
        (url, "é" * 33, "InvalidName(uint256,uint256)"),  # 66 bytes: the bound is in bytes
    ):
        refused(rehearsal, reg.update_call(bad_url, bad_name, provider.address), provider, error)
    refused(rehearsal, reg.update_call(url, name, "0x" + "00" * 20), provider, "ZeroSigningKey()")
    longest = ("https://" + "a" * 248, "n" * 64)  # exactly at the bounds
    receipt = env.transact(reg.update_call(*longest, other.address), provider).receipt
    assert receipt["logs"][0]["topics"][0] == keccak(text="ProviderUpdated(address,address,string,string)")
    assert env.run(reg.registration(provider.address)) == (*longest, other.address)
    receipt = env.transact(reg.remove_call(), provider).receipt
    assert receipt["logs"][0]["topics"][0] == keccak(text="ProviderRemoved(address)")
    assert env.run(reg.registration(provider.address)) is None
    refused(rehearsal, reg.remove_call(), provider, "NotRegistered(address)")
    env.transact(reg.register_call(url, name, provider.address), provider)  # and again, after a removal


def test_the_vendor_command_and_the_apps_resumable_sync(rehearsal: Rehearsal, tmp_path: Path) -> None:
    env = rehearsal.env
    store = Store.open(tmp_path / "app.sqlite3")
    index = RegistryIndex(store)
    sync = RegistrySync(env.w3, REGISTRY.address, index, 84532)
    data_dir = tmp_path / "vendor"
    with run_provider(env, tmp_path) as provider:
        config = config_file(provider.config, tmp_path / "provider.json")
        code, answer, err = register_with_command(config, data_dir)
        assert code == 0, err
        assert answer["action"] == "registered" and answer["provider"] == env.provider.address
        assert "Register the provider (Test provider" in err and "network fee about" in err
        report = env.run(sync.sync())
        deployed_at = report.from_block
        assert deployed_at > 0  # found by bisecting the chain's history: the blocks before are not read
        [entry] = index.entries(84532, REGISTRY.address)
        assert (entry.provider, entry.signing_key, entry.catalog_url, entry.name) == (
            env.provider.address,
            env.provider.address,
            provider.url,
            "Test provider",
        )
        # run again: nothing changed, nothing sent
        code, answer, _ = register_with_command(config, data_dir)
        assert code == 0 and answer == {**answer, "action": "unchanged", "txHash": None}
        # a new name: an update; the sync resumes after its cursor and reads only the new blocks
        config.write_text(config.read_text().replace('"Test provider"', '"Renamed provider"'))
        code, answer, _ = register_with_command(config, data_dir)
        assert code == 0 and answer["action"] == "updated"
        again = env.run(sync.sync())
        assert again.from_block == report.to_block + 1 and again.changes == 1
        assert [e.name for e in index.entries(84532, REGISTRY.address)] == ["Renamed provider"]
        code, answer, _ = register_with_command(config, data_dir, "--remove")
        assert code == 0 and answer["action"] == "removed"
        assert env.run(sync.sync()).changes == 1 and index.entries(84532, REGISTRY.address) == []
        code, answer, _ = register_with_command(config, data_dir, "--remove")
        assert code == 0 and answer["action"] == "not registered"
        # a name the registry cannot take is refused before anything is sent
        config.write_text(config.read_text().replace('"Renamed provider"', '"' + "x" * 65 + '"'))
        code, _, err = register_with_command(config, data_dir)
        assert code == 2 and "at most 64 bytes; this one has 65" in err
    store.close()


def test_a_replaced_chain_is_read_again_from_its_start(rehearsal: Rehearsal, tmp_path: Path) -> None:
    env, reg = rehearsal.env, registry(rehearsal)
    store = Store.open(tmp_path / "app.sqlite3")
    index = RegistryIndex(store)
    sync = RegistrySync(env.w3, REGISTRY.address, index, 84532)
    before = env.rpc("evm_snapshot")
    for _ in range(3):
        env.rpc("evm_mine")
    env.transact(reg.register_call("https://old.example", "Old chain", env.provider.address), env.provider)
    env.run(sync.sync())
    assert [e.name for e in index.entries(84532, REGISTRY.address)] == ["Old chain"]
    env.rpc("evm_revert", [before])  # the chain the app read is gone; the new one is shorter
    env.transact(reg.register_call("https://new.example", "New chain", env.stranger.address), env.stranger)
    env.run(sync.sync())
    assert [e.name for e in index.entries(84532, REGISTRY.address)] == ["New chain"]
    store.close()


def raw_register(rehearsal: Rehearsal, account: Any, url: bytes, name: bytes) -> None:
    """register() with any bytes as its strings (the ABI encodes string and bytes alike)."""
    selector = keccak(text="register(string,string,address)")[:4]
    data = selector + abi_encode(["bytes", "bytes", "address"], [url, name, account.address])
    rehearsal.env.run(send_data(rehearsal.env.w3, REGISTRY.address, data, account))


def test_the_catalog_lists_registered_providers_and_skips_hostile_entries(
    rehearsal: Rehearsal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, reg = rehearsal.env, registry(rehearsal)
    store = Store.open(tmp_path / "app.sqlite3")
    hostile = [make_account(f"hostile-{i}") for i in range(6)]
    for account in hostile:
        env.rpc("anvil_setBalance", [account.address, hex(10**20)])
    with run_provider(env, tmp_path) as provider:
        code, _, err = register_with_command(
            config_file(provider.config, tmp_path / "p.json"), tmp_path / "v"
        )
        assert code == 0, err
        # someone else registers the honest provider's catalog as theirs: its payTo is not theirs
        env.transact(reg.register_call(provider.url, "Test provider", hostile[0].address), hostile[0])
        # an address nothing answers at
        env.transact(reg.register_call("http://127.0.0.1:9", "Gone provider", hostile[1].address), hostile[1])
        # markup in the name, bytes that are not UTF-8, an address that is not http(s)
        env.transact(
            reg.register_call("https://x.example", "<b>Best</b> deals", hostile[2].address), hostile[2]
        )
        raw_register(rehearsal, hostile[3], b"https://y.example", b"\xff\xfe name")
        env.transact(reg.register_call("file:///etc/passwd", "Local file", hostile[4].address), hostile[4])
        listing = env.run(read_registry(rehearsal.network, store, REGISTRY.address, w3=env.w3))
        catalog = env.run(load_services([], listing))
    failures = {f.url: f.message for f in catalog.failures}
    # the honest provider's services are listed, once
    assert {e.provider_name for e in catalog.entries} == {"Test provider"}
    assert len(catalog.entries) == len({e.service.id for e in catalog.entries}) >= 12
    assert all(e.provider_url == provider.url for e in catalog.entries)
    assert "http://127.0.0.1:9" in failures
    assert "https://x.example" in failures and "not plain text" in failures["https://x.example"]
    assert "https://y.example" in failures and "is not UTF-8 text" in failures["https://y.example"]
    assert "file:///etc/passwd" in failures and "not an http(s) address" in failures["file:///etc/passwd"]
    # the impostor of the honest URL is reported, and the honest provider still listed
    impostor = (
        f"Registered by {hostile[0].address} too, but the catalog there belongs to {env.provider.address}"
    )
    assert impostor in failures[provider.url]
    assert len(catalog.failures) == 5

    # many entries: only the most recent are loaded, the rest reported
    monkeypatch.setattr(services_registry, "MAX_LISTED", 2)
    listing = env.run(read_registry(rehearsal.network, store, REGISTRY.address, w3=env.w3))
    assert len(listing.providers) + sum(1 for f in listing.failures if f.url != "Provider registry") == 2
    assert any("4 more registered providers were not loaded" in f.message for f in listing.failures)
    store.close()


def test_an_impostor_alone_is_reported(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """A catalog registered by an account that is not its payTo (or with another signing key) is skipped."""
    env, reg = rehearsal.env, registry(rehearsal)
    store = Store.open(tmp_path / "app.sqlite3")
    with run_provider(env, tmp_path) as provider:
        env.transact(reg.register_call(provider.url, "Test provider", env.stranger.address), env.stranger)
        listing = env.run(read_registry(rehearsal.network, store, REGISTRY.address, w3=env.w3))
        catalog = env.run(load_services([], listing))
    assert catalog.entries == []
    [failure] = catalog.failures
    assert failure.url == provider.url
    assert f"Registered by {env.stranger.address}" in failure.message
    assert f"its catalog says payTo {env.provider.address}" in failure.message
    store.close()
