"""``paygo-desktop contracts deploy``: put PayGo's contracts on a network, at their canonical addresses.

PayGoVault and PayGoRegistry are deployed with CREATE2 through the deterministic-deployment proxy, with
fixed constructor arguments and a fixed salt (``chain.canonical``, ``chain.create2``): the same address on
every chain, so the app knows them without being told. Anyone can deploy them, once per chain; a contract
already there is checked (its code) and reported, nothing is sent for it. Each transaction goes through the
transaction manager like every other: its fee is shown first, it is stored before it is sent, and it is
watched until it has its confirmations.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:  # the command's real work imports the store and web3 only when it runs
    from paygo_desktop.context import AppContext
    from paygo_desktop.networks import Network


def add_parser(subparsers: Any) -> None:
    contracts = subparsers.add_parser("contracts", help="deploy PayGo's contracts to a network")
    actions = contracts.add_subparsers(dest="action", required=True)
    deploy = actions.add_parser(
        "deploy",
        help="deploy PayGoVault and PayGoRegistry at their canonical addresses from an account of the wallet",
    )
    deploy.add_argument(
        "--network", required=True, help="sandbox, base-sepolia, base, or a custom network's key"
    )
    deploy.add_argument("--rpc-url", help="use this endpoint instead of the network's")
    deploy.add_argument("--account", help="deploy from this address (default: the first account)")
    deploy.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    deploy.add_argument(
        "--with-test-usdc", action="store_true", help="also deploy the test USDC (local only)"
    )
    deploy.add_argument("--yes", action="store_true", help="do not ask before sending")
    deploy.set_defaults(handler=run_deploy)


def run_deploy(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.context import AppContext

    ctx = AppContext.open(data_dir)
    try:
        result = asyncio.run(_deploy(ctx, args))
    finally:
        ctx.close()
    print(json.dumps(result, indent=2))
    return 0


async def _deploy(ctx: AppContext, args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    from paygo_desktop.chain.canonical import CANONICAL_CONTRACTS, PROXY, VAULT_MIN_WITHDRAW_DELAY
    from paygo_desktop.chain.code_check import check_contract_code
    from paygo_desktop.chain.create2 import code_at, deployment_data, require_proxy
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.transactions import TransactionManager, TxRequest
    from paygo_desktop.commands.confirm import confirm_fee
    from paygo_desktop.commands.unlock import unlocked_account
    from paygo_desktop.store.transactions import TransactionRepository

    found = ctx.networks.get(args.network)
    network = ctx.configured(found) if found is not None else None
    if network is None:
        names = ", ".join(n.key for n in ctx.networks.all())
        raise UserFacingError(f"No network called {args.network!r}. Known: {names}.")
    if args.with_test_usdc and not network.is_local:
        raise UserFacingError("The test USDC is for local chains only.")
    if args.rpc_url:
        network = replace(network, rpc_url=args.rpc_url)
    w3 = async_web3(network.rpc_url)
    manager = TransactionManager.for_network(w3, network, TransactionRepository(ctx.store))
    await manager.check_network()
    result: dict[str, Any] = {
        "network": network.key,
        "chainId": network.chain_id,
        "minWithdrawDelay": VAULT_MIN_WITHDRAW_DELAY,
    }
    missing = []
    for contract in CANONICAL_CONTRACTS:
        if await code_at(w3, contract.address):
            await check_contract_code(w3, contract, network.chain_id)  # another contract there: refused
            print(f"{contract.name} is already deployed at {contract.address}.", file=sys.stderr)
            result[contract.name] = {"address": contract.address, "txHash": None, "alreadyDeployed": True}
            _remember(ctx, network, contract.name, contract.address, None)
        else:
            missing.append(contract)
    if not missing and not args.with_test_usdc:
        return result
    if missing:
        await require_proxy(w3)
    account = await asyncio.to_thread(unlocked_account, ctx.wallet, args.account, args.password_file)

    async def send(name: str, request: TxRequest) -> Any:
        quote = await manager.quote(account.address, request)
        confirm_fee(f"Deploy {name} on {network.name}", quote.likely_fee, quote.max_fee, assume_yes=args.yes)
        record = await manager.send(
            account.address, request, quote, lambda tx: account.sign_transaction(tx).raw_transaction
        )
        record = await manager.wait(record, timeout=300)
        if record.status != "confirmed":
            raise UserFacingError(
                f"Deploying {name} did not complete ({record.status}): {record.error or ''}"
            )
        return record

    for contract in missing:
        request = TxRequest(
            to=PROXY,
            data=deployment_data(contract),
            kind="deploy",
            description=f"Deploy {contract.name} v{contract.version} on {network.name}",
        )
        record = await send(contract.name, request)
        await check_contract_code(w3, contract, network.chain_id)
        _remember(ctx, network, contract.name, contract.address, record.tx_hash, account.address)
        result[contract.name] = {
            "address": contract.address,
            "txHash": record.tx_hash,
            "gasUsed": record.gas_used,
            "alreadyDeployed": False,
        }
    if args.with_test_usdc:
        result["TestUSDC"] = await _deploy_test_usdc(ctx, w3, network, account, send)
    return result


async def _deploy_test_usdc(ctx: AppContext, w3: Any, network: Network, account: Any, send: Any) -> Any:
    from eth_typing import HexStr

    from paygo_desktop.chain.artifacts import load_artifact
    from paygo_desktop.chain.transactions import TxRequest

    artifact = load_artifact("TestUSDC")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = bytes.fromhex(factory.constructor().data_in_transaction[2:])
    record = await send(
        "TestUSDC",
        TxRequest(to=None, data=data, kind="deploy", description=f"Deploy TestUSDC on {network.name}"),
    )
    receipt = await w3.eth.get_transaction_receipt(HexStr(record.tx_hash))
    address = str(receipt["contractAddress"])
    _remember(ctx, network, "TestUSDC", address, record.tx_hash, account.address)
    return {"address": address, "txHash": record.tx_hash, "gasUsed": record.gas_used}


def _remember(
    ctx: AppContext, network: Network, name: str, address: str, tx_hash: str | None, sender: str | None = None
) -> None:
    from paygo_desktop.store.deployments import DeploymentRepository

    DeploymentRepository(ctx.store).save(network.key, network.chain_id, name, address, tx_hash)
    if tx_hash is not None:
        ctx.activity.record("deploy", f"Deployed {name} at {address}", account=sender, network=network.key)
