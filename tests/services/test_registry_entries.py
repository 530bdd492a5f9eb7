"""Which registry entries the Services page may load, before any network request: on a public network only
https addresses of other computers; on a local one (or a node on this computer) loopback providers too."""

from __future__ import annotations

from dataclasses import replace

import pytest

from paygo_desktop.networks import BASE, SANDBOX, on_this_computer
from paygo_desktop.services.registry import MAX_LISTED, entry_problem, listing_from, shown
from paygo_desktop.store.registry_entries import RegistryEntry


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://provider.example", None),
        (
            "https://203.0.113.7:8443/paygo",
            "points at this computer or a private network",
        ),  # documentation range
        ("https://8.8.8.8/api", None),
        ("http://provider.example", "is not https"),
        ("https://localhost:8080", "points at this computer"),
        ("https://127.0.0.1", "points at this computer"),
        ("https://[::1]:80", "points at this computer"),
        ("https://10.1.2.3", "private network"),
        ("https://192.168.1.10", "private network"),
        ("https://169.254.169.254/latest/meta-data", "private network"),  # a cloud's metadata service
        ("https://printer.local", "private network"),
        ("https://user:secret@provider.example", "not an http(s) address"),
        ("ftp://provider.example", "not an http(s) address"),
        ("https://provider.example/ a", "spaces or control characters"),
        ("https://provider.example/\u202e", "spaces or control characters"),
    ],
)
def test_catalog_addresses_on_a_public_network(url: str, problem: str | None) -> None:
    found = entry_problem(url, "A provider", local=False)
    assert found is None if problem is None else (found is not None and problem in found)


def test_loopback_providers_are_fine_where_the_chain_is_on_this_computer() -> None:
    assert on_this_computer(SANDBOX) and not on_this_computer(BASE)
    assert on_this_computer(replace(BASE, rpc_url="http://127.0.0.1:8545"))  # a rehearsal
    assert entry_problem("http://127.0.0.1:8787", "Sandbox provider", local=True) is None
    assert "not an http(s)" in (entry_problem("javascript:alert(1)", "x", local=True) or "")


@pytest.mark.parametrize(
    "name",
    ["<b>bold</b>", "line\x00break", "right\u202eto left", "", "x" * 121, "\ufffd broken"],
)
def test_names_that_are_not_plain_text(name: str) -> None:
    assert entry_problem("https://provider.example", name, local=False) is not None


def test_reports_are_bounded_and_printable_and_only_the_newest_entries_load() -> None:
    assert shown("a\x1b[31mred" + "b" * 200).startswith("a?[31mred") and len(shown("c" * 500)) == 80
    entries = [
        RegistryEntry(f"0x{i:040x}", f"0x{i:040x}", f"https://p{i}.example", f"P{i}", 10, i)
        for i in range(60)
    ]
    listing = listing_from(entries, local=False)
    assert [p.name for p in listing.providers] == [f"P{i}" for i in range(MAX_LISTED)]
    [more] = listing.failures
    assert more.message.startswith("10 more registered providers were not loaded")
