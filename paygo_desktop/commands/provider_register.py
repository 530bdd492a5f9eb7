"""``paygo-desktop provider register --config FILE``: list the provider in PayGo's provider registry.

From the provider's own key (its payTo account, as in the config): the catalog's address
(``public_base_url``), its ``name`` and its signing key go into PayGoRegistry at its canonical address on the
config's chain, so payers find the provider on their Services page without knowing its URL. Run it again
after changing any of them (it updates the entry; an unchanged entry sends nothing), or with ``--remove``
to take the provider off the list. The transaction's fee is shown first; it is recorded in the data
directory's store like every other.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

MAX_NAME_BYTES = 64  # PayGoRegistry.MAX_NAME_LENGTH
MAX_URL_BYTES = 256  # PayGoRegistry.MAX_CATALOG_URL_LENGTH


def add_parser(actions: Any) -> None:
    register = actions.add_parser(
        "register", help="list (or update, or remove) the provider in PayGo's provider registry"
    )
    register.add_argument(
        "--config", type=Path, required=True, help="the provider's TOML or JSON configuration"
    )
    register.add_argument("--remove", action="store_true", help="take the provider off the registry")
    register.add_argument("--yes", action="store_true", help="do not ask before sending")
    register.set_defaults(handler=run_register)


def run_register(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.context import AppContext
    from paygo_desktop.provider.config import load_config

    config = load_config(Path(args.config))
    ctx = AppContext.open(data_dir)
    try:
        result = asyncio.run(_register(ctx, config, remove=args.remove, assume_yes=args.yes))
    finally:
        ctx.close()
    print(json.dumps(result, indent=2))
    return 0


async def _register(ctx: AppContext, config: Any, *, remove: bool, assume_yes: bool) -> dict[str, Any]:
    from paygo_desktop.chain.rpc import async_web3

    w3 = async_web3(config.rpc_url)
    try:
        return await _register_on(w3, ctx, config, remove=remove, assume_yes=assume_yes)
    finally:  # the node connection closed here, not left to the collector ("Unclosed client session")
        await w3.provider.disconnect()


async def _register_on(
    w3: Any, ctx: AppContext, config: Any, *, remove: bool, assume_yes: bool
) -> dict[str, Any]:
    from dataclasses import replace

    from paygo_desktop.chain.canonical import REGISTRY
    from paygo_desktop.chain.code_check import NotDeployed, check_contract_code
    from paygo_desktop.chain.registry import RegistryClient
    from paygo_desktop.chain.transactions import TransactionManager, TxRequest
    from paygo_desktop.commands.confirm import confirm_fee
    from paygo_desktop.networks import Network
    from paygo_desktop.store.transactions import TransactionRepository

    account = config.account()
    url, name = config.public_base_url.rstrip("/"), config.name
    for what, text, limit in (("name", name, MAX_NAME_BYTES), ("public_base_url", url, MAX_URL_BYTES)):
        if len(text.encode()) > limit:
            raise UserFacingError(
                f"The registry takes a {what} of at most {limit} bytes; this one has {len(text.encode())}."
            )
    # the app's network on that chain, with its fee ceiling (as set in the settings); else a network of its
    # own, held to the ceiling a custom network has
    listed = next((n for n in ctx.networks.all() if n.chain_id == config.chain_id), None)
    network = replace(
        ctx.configured(listed)
        if listed is not None
        else Network(key="provider", name=f"chain {config.chain_id}", chain_id=config.chain_id, rpc_url=""),
        rpc_url=config.rpc_url,
    )
    manager = TransactionManager.for_network(w3, network, TransactionRepository(ctx.store))
    await manager.check_network()
    try:
        await check_contract_code(w3, REGISTRY, config.chain_id)
    except NotDeployed:
        raise UserFacingError(
            f"PayGo's provider registry is not deployed on chain {config.chain_id} yet (no contract at "
            f"{REGISTRY.address}): `paygo-desktop contracts deploy --network N` deploys it."
        ) from None
    registry = RegistryClient(w3, REGISTRY.address)
    current = await registry.registration(account.address)
    result: dict[str, Any] = {"registry": REGISTRY.address, "provider": account.address, "txHash": None}
    if remove:
        if current is None:
            return {**result, "action": "not registered"}
        call, action, what = registry.remove_call(), "removed", "Remove the provider from the registry"
    elif current == (url, name, account.address):
        return {**result, "action": "unchanged"}
    elif current is None:
        call, action, what = (
            registry.register_call(url, name, account.address),
            "registered",
            "Register the provider",
        )
    else:
        call, action, what = (
            registry.update_call(url, name, account.address),
            "updated",
            "Update the provider's entry",
        )
    request = TxRequest(
        to=REGISTRY.address,
        data=bytes.fromhex(call._encode_transaction_data()[2:]),
        kind="registry",
        description=f"{what} ({name}, {url})",
    )
    quote = await manager.quote(account.address, request)
    confirm_fee(request.description, quote.likely_fee, quote.max_fee, assume_yes=assume_yes)
    record = await manager.send(
        account.address, request, quote, lambda tx: account.sign_transaction(tx).raw_transaction
    )
    record = await manager.wait(record, timeout=300)
    if record.status != "confirmed":
        raise UserFacingError(
            f"The registry transaction did not complete ({record.status}): {record.error or ''}"
        )
    ctx.activity.record("registry", f"{what}: {name} at {url}", account=account.address)
    return {**result, "action": action, "txHash": record.tx_hash, "catalogUrl": url, "name": name}
