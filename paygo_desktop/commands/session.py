"""``paygo-desktop session start|list``: the session engine without the window, for scripts.

``start`` plans the session, funds the channel if ``--deposit`` says so (less a deposit into it already on
its way: an earlier run's, killed before sending it, goes out again and counts), runs it for ``--seconds``
(or until Ctrl-C, the budget or the channel's funds), stops it and prints the summary. Every line on stdout
is one JSON object: the engine's events as they happen (``{"event": "voucher", ...}``), the summary last
(``{"event": "summary", ...}``). A service the provider delivers through its gateway is offered on a local
URL while the session runs (``{"event": "access", "url": "http://127.0.0.1:…/<secret>/", "delivery": ...}``:
sessions.access_proxy), closed when it ends. Sessions an earlier run left unfinished are reconciled
first. The wallet password comes from ``PAYGO_PASSWORD``, ``--password-file`` / ``PAYGO_PASSWORD_FILE``,
or a prompt.

``list`` prints the history as a JSON array (or CSV with ``--csv FILE``, ``-`` for stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:
    import asyncio

    from paygo_desktop.context import AppContext
    from paygo_desktop.money import Asset
    from paygo_desktop.prices.feeds import Currency
    from paygo_desktop.prices.fiat import FiatPrice
    from paygo_desktop.sessions.access_proxy import AccessProxy
    from paygo_desktop.sessions.engine import SessionEngine
    from paygo_desktop.sessions.fee_limit import FeeLimit
    from paygo_desktop.sessions.live import LiveSession
    from paygo_desktop.sessions.plan import FundingOption, SessionPlan
    from paygo_desktop.sessions.session_record import SessionRecord


def add_parser(subparsers: Any) -> None:
    session = subparsers.add_parser("session", help="run a metered session without the window, or list them")
    actions = session.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="start a session, run it, stop it and print the summary as JSON")
    start.add_argument("--provider", required=True, metavar="URL", help="the provider's base URL")
    start.add_argument("--service", required=True, metavar="ID", help="the service's id in its catalog")
    start.add_argument("--budget", required=True, metavar="AMOUNT", help="cap for this session, e.g. 0.5")
    start.add_argument("--seconds", type=int, metavar="N", help="stop after N seconds (default: Ctrl-C)")
    start.add_argument(
        "--deposit",
        metavar="AMOUNT",
        help="fund or top up the channel first with AMOUNT (a deposit into it already on its way, such as "
        "one an earlier run stored but never sent, counts toward it, and so does an earlier start's deposit "
        "no session has used yet); asks first: what is deposited, where, and the most the network fees "
        "can cost",
    )
    start.add_argument(
        "--yes", action="store_true", help="deposit without asking (for scripts; needed without a terminal)"
    )
    start.add_argument("--account", help="pay from this address (default: the first account)")
    start.add_argument("--password-file", type=Path, help="read the wallet password from this file")
    start.set_defaults(handler=run_start)
    listing = actions.add_parser("list", help="the session history as JSON (or CSV)")
    listing.add_argument("--provider", help="only this provider (URL or name)")
    listing.add_argument("--service", help="only this service (id or name)")
    listing.add_argument("--status", help="only sessions with this status (stopped, failed, recovered, ...)")
    listing.add_argument("--since", type=_date, metavar="DATE", help="started on or after (ISO date/time)")
    listing.add_argument("--until", type=_date, metavar="DATE", help="started before (ISO date/time)")
    listing.add_argument("--csv", metavar="FILE", help="write CSV to FILE instead (- for stdout)")
    listing.set_defaults(handler=run_list)


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text[:40]}” is not an ISO date such as 2026-11-23") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def run_start(args: argparse.Namespace, data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.commands.confirm import require_terminal
    from paygo_desktop.context import AppContext

    if args.seconds is not None and args.seconds <= 0:
        raise UserFacingError("--seconds must be a positive number of seconds.")
    if args.deposit:
        require_terminal(args.yes, "depositing")
    ctx = AppContext.open(data_dir)
    try:
        return asyncio.run(_start(ctx, args))
    finally:
        ctx.close()


def _password(password_file: Path | None) -> str:
    from paygo_desktop.commands.unlock import read_password

    from_env = os.environ.get("PAYGO_PASSWORD")
    return from_env if from_env else read_password(password_file)


async def _start(ctx: AppContext, args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from paygo_desktop.money import Amount
    from paygo_desktop.sessions.engine import SessionEngine
    from paygo_desktop.sessions.plan import SessionError, StartOptions
    from paygo_desktop.sessions.status import SessionStatus
    from paygo_desktop.sessions.terms import Funding

    accounts = ctx.wallet.accounts()
    if not accounts:
        raise UserFacingError("This data directory has no wallet yet: start the app once to create one.")
    account = args.account or accounts[0].address
    if not any(a.address.lower() == account.lower() for a in accounts):
        raise UserFacingError(f"The wallet has no account {account}.")
    password = _password(args.password_file)
    await asyncio.to_thread(ctx.wallet.unlock, password)
    network = ctx.network
    engine = SessionEngine(
        store=ctx.store,
        wallet=ctx.wallet,
        account=account,
        network=network,
        vault_address=ctx.vault_address(network),
    )
    engine.subscribe(lambda e: _say({"event": e.kind, "localId": e.local_id, "message": e.message}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for report in await engine.recover():
            _say(
                {
                    "event": "recovered",
                    "localId": report.local_id,
                    "outcome": report.outcome,
                    "message": report.message,
                }
            )
        plan = await engine.plan(args.provider, args.service)
        budget = Amount.parse(args.budget, plan.asset).units
        escrow = plan.option(Funding.ESCROW)
        if escrow is None:
            raise SessionError(f"{plan.provider.name} takes no escrow payments on {network.name}.")
        deposit = _deposit(args.deposit, plan.asset, escrow)
        fees = await _agreed_fees(engine, plan, deposit, args.yes, stop) if deposit else None
        options = StartOptions(Funding.ESCROW, budget=budget, deposit=deposit, deposit_fees=fees)
        live = await engine.start(plan, options)
        ended = asyncio.ensure_future(engine.wait(live.local_id))
        proxy = await _open_access(live)
        waiters: set[asyncio.Future[Any]] = {ended, asyncio.ensure_future(stop.wait())}
        if args.seconds is not None:
            waiters.add(asyncio.ensure_future(asyncio.sleep(args.seconds)))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters - {ended}:
            waiter.cancel()
        if proxy is not None:  # the service ends with the session, before its final voucher
            await proxy.close()
        if ended.done():
            summary = ended.result()
        else:
            reason = "Stopped by Ctrl-C." if stop.is_set() else f"Stopped after {args.seconds} s as asked."
            summary = await engine.stop(live.local_id, reason)
        _say({"event": "summary", **summary.as_json()})
        return 0 if summary.status is SessionStatus.STOPPED else 1
    finally:
        await engine.shutdown()


def _deposit(text: str | None, asset: Asset, escrow: FundingOption) -> int:
    """What ``--deposit`` still sends: a deposit into the channel already on its way (an earlier run's,
    stored but never sent, sent again now) is the one asked for, and counts toward it; said on stdout."""
    from paygo_desktop.money import Amount
    from paygo_desktop.sessions.deposits_on_way import still_to_deposit

    asked = Amount.parse(text, asset).units if text else 0
    deposit, said = still_to_deposit(asked, escrow.on_its_way, asset, escrow.available)
    if said:
        _say({"event": "transaction", "localId": "", "message": said})
    return deposit


async def _agreed_fees(
    engine: SessionEngine, plan: SessionPlan, deposit: int, assume_yes: bool, cancel: asyncio.Event
) -> FeeLimit:
    """The deposit shown on stderr (amount, vault, channel, provider, the most its fees can cost) and agreed
    to before anything is signed: a yes at the terminal, or ``--yes``; the fees the deposit is held to."""
    from paygo_desktop.commands.confirm import ask_yes
    from paygo_desktop.sessions.deposit_review import review_deposit

    review = await review_deposit(engine.chain, plan, deposit)
    for line in review.lines():
        print(line, file=sys.stderr)
    if not assume_yes and not await ask_yes("Proceed? [y/N] ", cancel):
        raise UserFacingError("Cancelled: nothing was deposited, signed or sent.")
    return review.limit


async def _open_access(live: LiveSession) -> AccessProxy | None:
    """The session's service on a local URL (sessions.access_proxy), announced as an ``access`` event;
    None when the service delivers nothing through the provider's gateway."""
    from paygo_desktop.sessions.access_proxy import AccessProxy, AccessProxyError

    if live.access is None or not live.access.service_url:
        return None
    try:
        proxy = AccessProxy(live.access, live.terms.provider_url)
        url = await proxy.start()
    except (AccessProxyError, OSError) as exc:
        _say({"event": "access", "localId": live.local_id, "url": None, "message": str(exc)})
        return None
    event = {"event": "access", "localId": live.local_id, "url": url, "delivery": proxy.delivery.value}
    _say({**event, "open": proxy.open_url} if proxy.open_url != url else event)  # a media file to play
    return proxy


def run_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.sessions.history import HistoryFilter, SessionHistory
    from paygo_desktop.sessions.history_csv import export_csv

    ctx = AppContext.open(data_dir)
    try:
        history = SessionHistory(ctx.store)
        records = history.find(
            HistoryFilter(
                provider=args.provider,
                service=args.service,
                status=args.status,
                since=args.since,
                until=args.until,
            )
        )
        if args.csv:
            currency, prices, unvalued = _session_values(ctx, records)
    finally:
        ctx.close()
    if args.csv:
        if args.csv == "-":
            export_csv(records, sys.stdout, prices=prices, currency=currency, unvalued=unvalued)
        else:
            with open(args.csv, "w", newline="", encoding="utf-8") as out:
                export_csv(records, out, prices=prices, currency=currency, unvalued=unvalued)
        return 0
    print(json.dumps([record_json(r) for r in records], indent=2))
    return 0


def _session_values(
    ctx: AppContext, records: list[SessionRecord]
) -> tuple[Currency | None, dict[str, FiatPrice | None] | None, str]:
    """The sessions' prices when they ended, as the Sessions page values them (``AppContext.session_prices``:
    the current network's feeds); with an unreachable node, none and the reason (the amounts are exported
    all the same)."""
    import asyncio

    try:
        currency, prices = asyncio.run(asyncio.wait_for(ctx.session_prices(records), timeout=30))
    except Exception as exc:  # a dead node or a broken feed: export the amounts, say why there is no value
        reason = str(exc) or type(exc).__name__
        return None, None, f"not valued: the price feeds of {ctx.network.name} could not be read ({reason})"
    return currency, prices, ""


def record_json(r: SessionRecord) -> dict[str, Any]:
    from paygo_desktop.money import Amount

    t = r.terms

    def amount(units: int) -> str:
        return Amount(t.asset, units).format(symbol=False, grouping=False)

    return {
        "localId": r.local_id,
        "remoteId": r.remote_id,
        "status": r.status.value,
        "provider": t.provider_name,
        "providerUrl": t.provider_url,
        "serviceId": t.service_id,
        "service": t.service_name,
        "funding": t.funding.value,
        "asset": t.asset.symbol,
        "rate": {"amount": str(t.price.amount), "unit": t.price.unit},
        "budget": amount(t.cap),
        "cost": amount(r.cost),
        "costUnits": str(r.cost),
        "paidAheadCredit": amount(r.paid_ahead_credit),
        "paidAheadCreditUnits": str(r.paid_ahead_credit),
        "seconds": r.seconds,
        "startedAt": r.started_at.isoformat(),
        "endedAt": r.ended_at.isoformat() if r.ended_at else None,
        "receiptOk": r.receipt_ok,
        "stopReason": r.stop_reason,
        "channelId": t.channel_id,
    }
