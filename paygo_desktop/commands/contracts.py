"""``paygo-desktop contracts deploy``: deploy PayGoVault to a network from one of the wallet's accounts.

For vendors who bring up a network the app does not know a vault on. The transaction goes through the
transaction manager like every other: its fee is shown first, it is stored before it is sent, and it is
watched until it has its confirmations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:  # the command's real work imports the store and web3 only when it runs
    from paygo_desktop.context import AppContext
    from paygo_desktop.networks import Network

# Payers need time to see a withdrawal request before it completes; seconds are fine only on local chains.
PUBLIC_MIN_DELAY, LOCAL_MIN_DELAY = 3600, 5
SHORTEST_PUBLIC_DELAY = 600
LONGEST_DELAY = 30 * 24 * 3600  # PayGoVault.MAX_WITHDRAW_DELAY: the constructor refuses a longer minimum


def add_parser(subparsers: Any) -> None:
    contracts = subparsers.add_parser("contracts", help="deploy the escrow contract to a network")
    actions = contracts.add_subparsers(dest="action", required=True)
    deploy = actions.add_parser("deploy", help="deploy PayGoVault from an account of this wallet")
    deploy.add_argument(
        "--network", required=True, help="sandbox, base-sepolia, base, or a custom network's key"
    )
    deploy.add_argument("--rpc-url", help="use this endpoint instead of the network's")
    deploy.add_argument("--account", help="deploy from this address (default: the first account)")
    deploy.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    deploy.add_argument(
        "--min-withdraw-delay",
        type=int,
        help=f"seconds (default {PUBLIC_MIN_DELAY} on public networks, {LOCAL_MIN_DELAY} on local ones)",
    )
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

    from eth_typing import HexStr

    from paygo_desktop.chain.artifacts import load_artifact
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.transactions import TransactionManager, TxRequest
    from paygo_desktop.commands.unlock import unlocked_account
    from paygo_desktop.store.deployments import DeploymentRepository
    from paygo_desktop.store.transactions import TransactionRepository

    network = ctx.networks.get(args.network)
    if network is None:
        names = ", ".join(n.key for n in ctx.networks.all())
        raise UserFacingError(f"No network called {args.network!r}. Known: {names}.")
    rpc_url = args.rpc_url or network.rpc_url
    delay = args.min_withdraw_delay
    if delay is None:
        delay = LOCAL_MIN_DELAY if network.is_local else PUBLIC_MIN_DELAY
    if not network.is_local and delay < SHORTEST_PUBLIC_DELAY:
        raise UserFacingError(
            "On a public network the minimum withdrawal delay must be at least "
            f"{SHORTEST_PUBLIC_DELAY} seconds."
        )
    if delay > LONGEST_DELAY:
        raise UserFacingError(
            f"The minimum withdrawal delay can be at most 30 days ({LONGEST_DELAY} seconds): the vault "
            "refuses channels whose delay is longer."
        )
    if args.with_test_usdc and not network.is_local:
        raise UserFacingError("The test USDC is for local chains only.")
    account = await asyncio.to_thread(unlocked_account, ctx.wallet, args.account, args.password_file)
    w3 = async_web3(rpc_url)
    manager = TransactionManager(w3, network.chain_id, TransactionRepository(ctx.store))
    await manager.check_network()
    deployments = DeploymentRepository(ctx.store)
    result: dict[str, Any] = {"network": network.key, "chainId": network.chain_id, "minWithdrawDelay": delay}
    plan = [("PayGoVault", [delay])] + ([("TestUSDC", [])] if args.with_test_usdc else [])
    for name, ctor_args in plan:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = bytes.fromhex(factory.constructor(*ctor_args).data_in_transaction[2:])
        request = TxRequest(to=None, data=data, kind="deploy", description=f"Deploy {name} on {network.name}")
        quote = await manager.quote(account.address, request)
        _confirm(network, name, quote.likely_fee, quote.max_fee, assume_yes=args.yes)
        record = await manager.send(
            account.address, request, quote, lambda tx: account.sign_transaction(tx).raw_transaction
        )
        record = await manager.wait(record, timeout=300)
        if record.status != "confirmed":
            raise UserFacingError(
                f"Deploying {name} did not complete ({record.status}): {record.error or ''}"
            )
        receipt = await w3.eth.get_transaction_receipt(HexStr(record.tx_hash))
        address = str(receipt["contractAddress"])
        deployments.save(network.key, network.chain_id, name, address, record.tx_hash)
        ctx.activity.record(
            "deploy", f"Deployed {name} at {address}", account=account.address, network=network.key
        )
        result[name] = {"address": address, "txHash": record.tx_hash, "gasUsed": record.gas_used}
    return result


def _confirm(network: Network, name: str, likely: int, most: int, *, assume_yes: bool) -> None:
    from paygo_desktop.money import ETH, Amount

    line = (
        f"Deploy {name} on {network.name}: network fee about {Amount(ETH, likely).format(max_decimals=8)}, "
        f"at most {Amount(ETH, most).format(max_decimals=8)}."
    )
    print(line, file=sys.stderr)
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UserFacingError("Not sending without confirmation: add --yes to deploy from a script.")
    if input("Send? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UserFacingError("Cancelled; nothing was sent.")
