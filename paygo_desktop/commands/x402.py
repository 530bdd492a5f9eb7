"""``paygo-desktop x402 get|proxy|policy|list|approve-permit2``: pay x402 (HTTP 402) endpoints from scripts,
within limits.

``get URL [--max AMOUNT]`` requests URL; on a 402 it pays what the server quotes if the site's limits (and
``--max``, in the quoted token) allow, and writes the answer's body to stdout (or ``--output FILE``). A line
of JSON on stderr says what was paid (``{"event": "x402", ...}``). A site without limits is paid only with
``--max``. Exit status 0 for a 2xx answer, 1 otherwise, 2 for a refused payment (nothing was signed).

``proxy`` serves a loopback URL (printed as JSON on stdout) through which scripts, ``curl`` and tools call
x402 endpoints, paid within the same limits (``sessions.x402_proxy``), until Ctrl-C. A payment to an
ask-first site is asked about on the terminal (``terminal_ask``; ``get --yes`` pays without asking); without
a terminal it is refused, saying so.

``policy set ORIGIN --per-request A --per-day A --total A [--ask-first] [--block] [--token SYMBOL]`` sets a
site's limits (amounts in the token, default USDC; a limit left out is no limit), ``policy list`` and
``policy remove ORIGIN``. ``list`` prints the payments as JSON (or CSV with ``--csv FILE``, ``-`` stdout);
with ``--check-chain`` it first asks the current network's node about the payments whose authorization
lapsed on the server's word (``x402.lapsed_sweep``, as the app does when it opens): those it shows spent
are marked settled and booked in Activity, those that never moved are closed (a line of JSON on stderr
says which); with the node away they stay as they are.

``approve-permit2 --amount A [--token SYMBOL] [--yes]`` lets Permit2 take at most A of the token (default
USDC) from the account: what x402's ``upto`` payments draw on (``x402.permit2``). A bounded amount, never
unlimited; 0 takes the allowance back. The fee is shown and agreed first (``--yes`` from a script).
The wallet password comes from ``PAYGO_PASSWORD``, ``--password-file`` / ``PAYGO_PASSWORD_FILE``, or a
prompt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from paygo_desktop.context import AppContext
    from paygo_desktop.money import Asset
    from paygo_desktop.store.x402 import SitePolicy, X402Payment
    from paygo_desktop.x402.limits import Quote
    from paygo_desktop.x402.payer import Confirm, X402Payer

REFUSED_EXIT = 2


def add_parser(subparsers: Any) -> None:
    x402 = subparsers.add_parser("x402", help="pay x402 (HTTP 402) endpoints within per-site limits")
    actions = x402.add_subparsers(dest="action", required=True)
    get = actions.add_parser("get", help="request a URL, paying its x402 price within your limits")
    get.add_argument("url", metavar="URL")
    get.add_argument(
        "--max", metavar="AMOUNT", help="pay at most AMOUNT of the quoted token for this request"
    )
    get.add_argument("--method", default="GET", help="HTTP method (default GET)")
    get.add_argument("--data", metavar="TEXT", help="request body (sent as is)")
    get.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="extra header")
    get.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the body to FILE")
    get.add_argument("--yes", action="store_true", help="confirm payments to ask-first sites")
    get.add_argument("--account", help="pay from this address (default: the first account)")
    get.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    get.set_defaults(handler=run_get)

    proxy = actions.add_parser("proxy", help="a local URL through which tools call x402 endpoints, paid")
    proxy.add_argument("--account", help="pay from this address (default: the first account)")
    proxy.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    proxy.set_defaults(handler=run_proxy)

    policy = actions.add_parser("policy", help="set, list or remove a site's spending limits")
    what = policy.add_subparsers(dest="policy_action", required=True)
    put = what.add_parser("set", help="set a site's limits (replacing its earlier ones)")
    put.add_argument("origin", metavar="ORIGIN", help="the site, e.g. https://api.example.com")
    put.add_argument("--per-request", metavar="AMOUNT", help="at most AMOUNT per request")
    put.add_argument("--per-day", metavar="AMOUNT", help="at most AMOUNT in any 24 hours")
    put.add_argument("--total", metavar="AMOUNT", help="at most AMOUNT in total")
    put.add_argument("--token", default="USDC", metavar="SYMBOL", help="the token the limits are in")
    put.add_argument("--ask-first", action="store_true", help="ask before each payment")
    put.add_argument("--block", action="store_true", help="never pay this site")
    put.set_defaults(handler=run_policy_set)
    listing = what.add_parser("list", help="every site's limits as JSON")
    listing.set_defaults(handler=run_policy_list)
    remove = what.add_parser("remove", help="forget a site's limits (it is then no longer allowed)")
    remove.add_argument("origin", metavar="ORIGIN")
    remove.set_defaults(handler=run_policy_remove)

    approve = actions.add_parser(
        "approve-permit2", help="let Permit2 take at most an amount of a token, for x402 upto payments"
    )
    approve.add_argument("--amount", required=True, metavar="AMOUNT", help="at most AMOUNT (0 revokes)")
    approve.add_argument("--token", default="USDC", metavar="SYMBOL", help="the token (default USDC)")
    approve.add_argument("--yes", action="store_true", help="send without asking (scripts)")
    approve.add_argument("--account", help="approve from this address (default: the first account)")
    approve.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    approve.set_defaults(handler=run_approve_permit2)

    payments = actions.add_parser("list", help="the x402 payments made, as JSON (or CSV)")
    payments.add_argument("--site", metavar="ORIGIN", help="only this site's")
    payments.add_argument("--csv", metavar="FILE", help="write CSV to FILE instead (- for stdout)")
    payments.add_argument(
        "--check-chain",
        action="store_true",
        help="first ask the chain about payments whose authorization lapsed (settled ones are booked)",
    )
    payments.set_defaults(handler=run_list)


# ---- get


def run_get(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.context import AppContext
    from paygo_desktop.x402.limits import X402Refused

    ctx = AppContext.open(data_dir)
    try:
        return asyncio.run(_get(ctx, args))
    except X402Refused as exc:
        _say({"event": "x402", "paid": False, "refused": exc.reason, "message": str(exc)})
        return REFUSED_EXIT
    finally:
        ctx.close()


async def _payer(ctx: AppContext, args: argparse.Namespace, confirm: Confirm | None) -> X402Payer:
    """The payer for ``--account`` (default: the first), the wallet unlocked, on the current network."""
    from paygo_desktop.x402.payer import X402Payer

    network = ctx.network
    return X402Payer(
        ctx.store, await _account(ctx, args), network, ctx.known_tokens(network), confirm=confirm
    )


async def _account(ctx: AppContext, args: argparse.Namespace) -> LocalAccount:
    """``--account`` (default: the first), the wallet unlocked."""
    import asyncio

    from paygo_desktop.commands.session import _password

    accounts = ctx.wallet.accounts()
    if not accounts:
        raise UserFacingError("This data directory has no wallet yet: start the app once to create one.")
    address = args.account or accounts[0].address
    if not any(a.address.lower() == address.lower() for a in accounts):
        raise UserFacingError(f"The wallet has no account {address}.")
    password = _password(args.password_file)
    await asyncio.to_thread(ctx.wallet.unlock, password)
    return ctx.wallet.local_account(address)


async def _get(ctx: AppContext, args: argparse.Namespace) -> int:

    headers = dict(_header(h) for h in args.header)

    from paygo_desktop.commands.terminal_ask import TerminalAsk

    terminal = TerminalAsk() if sys.stdin.isatty() else None

    async def confirm(quote: Quote) -> bool:
        if args.yes:
            return True
        return False if terminal is None else await terminal(quote)

    payer = await _payer(ctx, args, confirm)
    body = args.data.encode() if args.data is not None else None
    answer = await payer.request(
        args.method.upper(), args.url, headers=headers, content=body, max_amount=args.max
    )
    if args.output:
        args.output.write_bytes(answer.body)
    else:
        sys.stdout.buffer.write(answer.body)
        sys.stdout.flush()
    summary: dict[str, Any] = {
        "event": "x402",
        "httpStatus": answer.status,
        "paid": answer.payment is not None,
    }
    if answer.payment is not None:
        summary.update(payment_json(answer.payment))
    if answer.truncated:
        summary["truncated"] = True
    _say(summary)
    return 0 if 200 <= answer.status < 300 else 1


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UserFacingError(f"--header wants NAME:VALUE, not “{text[:60]}”.")
    return name.strip(), value.strip()


# ---- proxy


def run_proxy(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.context import AppContext

    ctx = AppContext.open(data_dir)
    try:
        return asyncio.run(_proxy(ctx, args))
    finally:
        ctx.close()


async def _proxy(ctx: AppContext, args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from paygo_desktop.commands.terminal_ask import TerminalAsk
    from paygo_desktop.sessions.x402_proxy import X402Proxy

    # an ask-first site is asked about on this terminal; without one it is refused in words (nobody to ask)
    confirm = TerminalAsk() if sys.stdin.isatty() else None
    proxy = X402Proxy(await _payer(ctx, args, confirm))
    url = await proxy.start()
    print(
        json.dumps({"event": "x402-proxy", "url": url, "use": url + "<http|https>/<host>/<path>"}), flush=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await proxy.close()
    return 0


# ---- Permit2's allowance (x402 upto)


def run_approve_permit2(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.context import AppContext

    ctx = AppContext.open(data_dir)
    try:
        return asyncio.run(_approve_permit2(ctx, args))
    finally:
        ctx.close()


async def _approve_permit2(ctx: AppContext, args: argparse.Namespace) -> int:
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.transactions import TransactionManager
    from paygo_desktop.commands.tx_run import account_signer, run_flow
    from paygo_desktop.money import Amount
    from paygo_desktop.store.transactions import TransactionRepository
    from paygo_desktop.x402 import permit2

    network = ctx.network
    asset = _token(ctx.known_tokens(network), args.token, network.name)
    request = permit2.approve_request(asset, Amount.parse(args.amount, asset).units)  # bounded, or refused
    account = await _account(ctx, args)
    w3 = async_web3(network.rpc_url, timeout=15)
    try:
        manager = TransactionManager.for_network(w3, network, TransactionRepository(ctx.store))
        hashes = await run_flow(
            manager, account.address, [request], account_signer(account), assume_yes=args.yes
        )
        allowed = await permit2.allowance(w3, account.address, asset.address or "")
    finally:
        await w3.provider.disconnect()
    print(
        json.dumps(
            {
                "event": "permit2-approval",
                "account": account.address,
                "token": asset.symbol,
                "tokenAddress": asset.address,
                "spender": permit2.PERMIT2,
                "allowance": Amount(asset, allowed).format(symbol=False, grouping=False),
                "allowanceUnits": str(allowed),
                "transactions": hashes,
            }
        )
    )
    return 0


# ---- policies


def run_policy_set(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.money import Amount
    from paygo_desktop.store.x402 import SitePolicy, X402Store
    from paygo_desktop.x402.limits import origin_of

    ctx = AppContext.open(data_dir)
    try:
        network = ctx.network
        asset = _token(ctx.known_tokens(network), args.token, network.name)

        def units(text: str | None) -> int | None:
            return None if text is None else Amount.parse(text, asset).units

        policy = SitePolicy(
            origin=origin_of(args.origin),
            chain_id=network.chain_id,
            asset=asset.address or "",
            asset_symbol=asset.symbol,
            decimals=asset.decimals,
            allowed=not args.block,
            ask_first=args.ask_first,
            max_per_request=units(args.per_request),
            max_per_day=units(args.per_day),
            max_total=units(args.total),
        )
        X402Store(ctx.store).save_policy(policy)
    finally:
        ctx.close()
    print(json.dumps(policy_json(policy), indent=2))
    return 0


def run_policy_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.store.x402 import X402Store

    ctx = AppContext.open(data_dir)
    try:
        policies = X402Store(ctx.store).policies()
    finally:
        ctx.close()
    print(json.dumps([policy_json(p) for p in policies], indent=2))
    return 0


def run_policy_remove(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.store.x402 import X402Store
    from paygo_desktop.x402.limits import origin_of

    ctx = AppContext.open(data_dir)
    try:
        origin = origin_of(args.origin)
        if not X402Store(ctx.store).remove_policy(origin):
            raise UserFacingError(f"There are no limits for {origin}.")
    finally:
        ctx.close()
    return 0


def _token(assets: tuple[Asset, ...], symbol: str, network: str) -> Asset:
    for asset in assets:
        if asset.address and asset.symbol.lower() == symbol.lower():
            return asset
    raise UserFacingError(f"This wallet knows no token {symbol} on {network}.")


# ---- payments


def run_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.history.x402_csv import export_csv
    from paygo_desktop.store.x402 import X402Store
    from paygo_desktop.x402.limits import origin_of

    site = origin_of(args.site) if args.site else None
    ctx = AppContext.open(data_dir)
    try:
        if args.check_chain:
            _check_lapsed(ctx, site)
        payments = X402Store(ctx.store).payments(site)
    finally:
        ctx.close()
    if args.csv:
        if args.csv == "-":
            export_csv(payments, sys.stdout)
        else:
            with open(args.csv, "w", newline="", encoding="utf-8") as out:
                export_csv(payments, out)
        return 0
    print(json.dumps([payment_json(p) for p in payments], indent=2))
    return 0


def _check_lapsed(ctx: AppContext, site: str | None) -> None:
    """``list --check-chain``: the lapsed check (every site's, or ``site``'s) on the current network; what it
    marked, said on stderr."""
    import asyncio

    from paygo_desktop.x402.lapsed_sweep import settle_every_lapsed

    check = asyncio.run(settle_every_lapsed(ctx.store, ctx.network, int(time.time()), site))
    if check.found_spent or check.closed:
        _say(
            {
                "event": "x402-lapsed",
                "settled": [p.id for p in check.found_spent],
                "neverMoved": check.closed,
                "stillCounting": sorted(check.still),
            }
        )


def payment_json(p: X402Payment) -> dict[str, Any]:
    from paygo_desktop.money import Amount, Asset

    return {
        "id": p.id,
        "at": p.created_at.isoformat(),
        "site": p.origin,
        "url": p.url,
        "method": p.method,
        "scheme": p.scheme,
        "network": p.network,
        "payTo": p.pay_to,
        "asset": p.asset_symbol,
        "assetAddress": p.asset,
        "amount": Amount(Asset(p.asset_symbol, p.decimals, p.asset), p.amount).format(
            symbol=False, grouping=False
        ),
        "amountUnits": str(p.amount),
        "settledUnits": None if p.settled_amount is None else str(p.settled_amount),
        "status": p.status,
        # whether it still counts against the site's limits: settled, or its signature could still move money
        # (a pending one, or one the server called failed, until the chain shows it lapsed unused)
        "countsAgainstLimits": p.may_still_move(int(time.time())),
        "transaction": p.tx_hash,
        "error": p.error,
    }


def policy_json(p: SitePolicy) -> dict[str, Any]:
    from paygo_desktop.money import Amount, Asset

    asset = Asset(p.asset_symbol, p.decimals, p.asset)

    def shown(units: int | None) -> str | None:
        return None if units is None else Amount(asset, units).format(symbol=False, grouping=False)

    return {
        "site": p.origin,
        "allowed": p.allowed,
        "askFirst": p.ask_first,
        "token": p.asset_symbol,
        "tokenAddress": p.asset,
        "chainId": p.chain_id,
        "perRequest": shown(p.max_per_request),
        "perDay": shown(p.max_per_day),
        "total": shown(p.max_total),
    }


def _say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), file=sys.stderr, flush=True)
