"""Providers found without a backend: the entries of PayGo's provider registry on the current network.

The registry (``PayGoRegistry``, at its canonical address on every chain) holds, per provider's payTo
account, a catalog URL, a name and a signing key. The app reads its events into the store (resumable, like
the vault's: ``chain.registry.RegistrySync``), and lists the registered providers on Services beside the ones
the user added by URL. Nothing in the registry is taken on trust:

* the registry's own code is checked first (``chain.code_check``);
* an entry whose text is not clean (markup, control characters, bytes that are not UTF-8), whose URL is not
  an http(s) address, or, on a network that is not on this computer, is not https or points at this
  computer or a private network, is reported and skipped;
* the most recently written ``MAX_LISTED`` entries are loaded, the rest reported as not loaded;
* a catalog is used only if its ``GET /provider`` says ``payTo`` = the account that registered it and
  ``signingKey`` = the key it registered; anything else (another provider's catalog, a changed key) is
  reported and skipped, as are unreachable or hostile catalogs (``services.catalog``).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network, on_this_computer
from paygo_desktop.services.catalog import Catalog, ProviderFailure, load_catalog

log = logging.getLogger(__name__)

MAX_LISTED = 50  # registered providers loaded at once; a registry anyone can write to may hold thousands
REGISTRY_LABEL = "Provider registry"
SHOWN_TEXT = 80  # characters of a registrant's text shown in a report


@dataclass(frozen=True)
class RegisteredProvider:
    provider: str  # the registrant: the provider's payTo
    signing_key: str
    catalog_url: str
    name: str


@dataclass
class RegistryListing:
    providers: list[RegisteredProvider] = field(default_factory=list)
    failures: list[ProviderFailure] = field(default_factory=list)


def shown(text: str) -> str:
    """A registrant's text, safe to show in a report: control characters replaced, bounded."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= SHOWN_TEXT else clean[: SHOWN_TEXT - 1] + "…"


def entry_problem(url: str, name: str, *, local: bool) -> str | None:
    """Why a registered entry cannot be listed, None if it can."""
    from pydantic import TypeAdapter, ValidationError

    from paygo_desktop.protocol import models as m

    try:
        TypeAdapter(m.Name).validate_python(name)
    except ValidationError:
        return "its registered name is not plain text (markup, control characters or not UTF-8)"
    if "\ufffd" in name or "\ufffd" in url:
        return "its registration is not UTF-8 text"
    if any(not c.isprintable() or c.isspace() for c in url):
        return "its catalog address has spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return "its catalog address is not an http(s) address"
    if local:
        return None
    if parts.scheme != "https":
        return "its catalog address is not https"
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "its catalog address points at this computer or a private network"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not ip.is_global:
        return "its catalog address points at this computer or a private network"
    return None


def listing_from(entries: Iterable[Any], *, local: bool) -> RegistryListing:
    """The entries (``store.registry_entries.RegistryEntry``, newest first) that can be listed, and a
    report for each that cannot."""
    listing = RegistryListing()
    entries = list(entries)
    for entry in entries[:MAX_LISTED]:
        problem = entry_problem(entry.catalog_url, entry.name, local=local)
        if problem is not None:
            listing.failures.append(
                ProviderFailure(
                    shown(entry.catalog_url), f"Registered by {entry.provider}: {problem}; skipped."
                )
            )
        else:
            listing.providers.append(
                RegisteredProvider(entry.provider, entry.signing_key, entry.catalog_url, entry.name)
            )
    if len(entries) > MAX_LISTED:
        listing.failures.append(
            ProviderFailure(
                REGISTRY_LABEL,
                f"{len(entries) - MAX_LISTED} more registered providers were not loaded: the "
                f"{MAX_LISTED} most recently registered are shown.",
            )
        )
    return listing


async def read_registry(network: Network, store: Any, registry: str, *, w3: Any = None) -> RegistryListing:
    """Sync the registry's events on ``network`` and list its entries; never raises for a chain problem
    (it becomes a failure line), and a registry not deployed there yet is simply empty."""
    import asyncio
    import importlib

    for heavy in ("web3", "paygo_desktop.chain.registry", "paygo_desktop.chain.code_check"):
        await asyncio.to_thread(importlib.import_module, heavy)  # a first import stalls the window otherwise
    owned = w3 is None
    if w3 is None:
        from paygo_desktop.chain.rpc import async_web3

        w3 = async_web3(network.rpc_url, timeout=15)
    try:
        return await _read(w3, network, store, registry)
    finally:
        if owned:
            await w3.provider.disconnect()


async def _read(w3: Any, network: Network, store: Any, registry: str) -> RegistryListing:
    import asyncio

    from paygo_desktop.chain.canonical import REGISTRY
    from paygo_desktop.chain.code_check import NotDeployed, UntrustedContract, check_contract_code
    from paygo_desktop.chain.registry import RegistrySync
    from paygo_desktop.networks import confirmations_for
    from paygo_desktop.store.registry_entries import RegistryIndex

    index = RegistryIndex(store)
    try:
        if int(await w3.eth.chain_id) != network.chain_id:
            return RegistryListing(failures=[_unreadable(network, "its node is on another chain")])
        if registry == REGISTRY.address:
            await check_contract_code(w3, REGISTRY, network.chain_id)
        sync = RegistrySync(
            w3, registry, index, network.chain_id, confirmations=confirmations_for(network) - 1
        )
        await sync.sync()
    except NotDeployed:
        return RegistryListing()
    except UntrustedContract as exc:
        return RegistryListing(failures=[ProviderFailure(REGISTRY_LABEL, f"{exc} It is not used.")])
    except Exception as exc:
        log.info("registry on %s not read: %r", network.name, exc)
        return RegistryListing(failures=[_unreadable(network, type(exc).__name__)])
    entries = await asyncio.to_thread(index.entries, network.chain_id, registry)
    return listing_from(entries, local=on_this_computer(network))


def _unreadable(network: Network, why: str) -> ProviderFailure:
    return ProviderFailure(
        REGISTRY_LABEL, f"The provider registry on {network.name} could not be read ({why})."
    )


class RegistrationMismatch(UserFacingError):
    """A registered catalog's provider info is not what its registrant registered."""


def _matches(registration: RegisteredProvider, info: Any) -> bool:
    """The provider info's payTo is the registrant and its signing key the one registered."""
    return (
        info.pay_to.lower() == registration.provider.lower()
        and info.signing_key.lower() == registration.signing_key.lower()
    )


class _CheckedClient:
    """A provider client whose ``provider_info`` must match one of the registrations of its URL."""

    def __init__(self, inner: Any, registrations: list[RegisteredProvider]) -> None:
        self._inner = inner
        self._registrations = registrations
        self.info: Any = None  # the provider info that matched a registration

    async def provider_info(self) -> Any:
        info = await self._inner.provider_info()
        for r in self._registrations:
            if _matches(r, info):
                self.info = info
                return info
        r = self._registrations[0]
        raise RegistrationMismatch(
            f"Registered by {r.provider} with signing key {r.signing_key}, but its catalog says payTo "
            f"{info.pay_to} and signing key {info.signing_key}; skipped."
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def load_services(
    urls: list[str], listing: RegistryListing, known: Mapping[str, Asset] | None = None
) -> Catalog:
    """The catalog of the providers the user added (``urls``) and of the registered ones in ``listing``,
    each registered catalog checked against its registration, and each provider's tokens against the
    ``known`` ones (``load_provider``)."""
    import asyncio
    import importlib

    client_module = await asyncio.to_thread(importlib.import_module, "paygo_desktop.protocol.client")
    registered: dict[str, list[RegisteredProvider]] = {}
    for provider in listing.providers:
        url = provider.catalog_url.rstrip("/")
        if url not in urls:  # one the user added is loaded as the user added it
            registered.setdefault(url, []).append(provider)

    checked: dict[str, _CheckedClient] = {}

    def factory(url: str) -> Any:
        client = client_module.ProviderClient(url, timeout=10.0)
        if url not in registered:
            return client
        checked[url] = _CheckedClient(client, registered[url])
        return checked[url]

    catalog = await load_catalog([*urls, *registered], factory, known)
    impostors = [  # a catalog registered by more than one account belongs to one of them at most
        ProviderFailure(
            url,
            f"Registered by {r.provider} too, but the catalog there belongs to {client.info.pay_to}; "
            "that entry is skipped.",
        )
        for url, client in checked.items()
        if client.info is not None
        for r in registered[url]
        if not _matches(r, client.info)
    ]
    catalog.failures[:0] = [*listing.failures, *impostors]
    return catalog


async def load_for(ctx: Any) -> Catalog:
    """The Services page's catalog on the context's current network: the user's providers, the sandbox's,
    and the registered ones (the registry is not read for a sandbox that is not running)."""
    import asyncio

    def where() -> tuple[list[str], Network, bool, tuple[Asset, ...]]:  # settings, the store, the sandbox
        network = ctx.network
        running = not network.is_local or ctx.sandbox_running(network)
        return ctx.provider_urls(), network, running, ctx.known_tokens(network)

    urls, network, read, tokens = await asyncio.to_thread(where)
    listing = (
        await read_registry(network, ctx.store, ctx.registry_address(network)) if read else RegistryListing()
    )
    known = {t.address.lower(): t for t in tokens if t.address}
    return await load_services(urls, listing, known)
