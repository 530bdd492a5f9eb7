"""``paygo-desktop jobs ...``: fixed-price jobs without the window, for scripts (``jobs.service``).

    jobs offers --provider URL                       the provider's job offers (JSON)
    jobs request --provider URL --offer ID --brief TEXT|--brief-file F [--fund] [--max-price AMOUNT]
    jobs list | jobs status JOB                      each job's state, what can be done, the reminder (JSON)
    jobs fund|approve|refund|cancel|release JOB      send that transaction (its fee shown first; --yes)
    jobs download JOB --to DIR                       the delivery, kept only if it matches the hash on chain
    jobs vendor-list|accept|decline|deliver --config F   the vendor's side (commands/vendor_jobs.py)

Every answer on stdout is JSON. ``cancel`` first asks the provider for its Cancel (a declined job). The
wallet password comes from ``PAYGO_PASSWORD``, ``--password-file`` / ``PAYGO_PASSWORD_FILE``, or a prompt.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir

if TYPE_CHECKING:
    from paygo_desktop.jobs.service import JobsService
    from paygo_desktop.jobs.view import JobView

SENDS = ("fund", "approve", "refund", "cancel", "release")


def add_parser(subparsers: Any) -> None:
    jobs = subparsers.add_parser("jobs", help="fixed-price jobs: request, fund, approve or refund them")
    actions = jobs.add_subparsers(dest="action", required=True)

    def common(p: argparse.ArgumentParser, *, unlock: bool) -> None:
        p.add_argument("--account", help="this account (default: the first one)")
        p.add_argument(
            "--jobs-contract", metavar="ADDRESS", help=argparse.SUPPRESS
        )  # tests: a non-canonical one
        if unlock:
            p.add_argument("--password-file", type=Path, help="read the wallet password from this file")

    offers = actions.add_parser("offers", help="a provider's job offers")
    offers.add_argument("--provider", required=True, metavar="URL")
    common(offers, unlock=False)
    offers.set_defaults(handler=_handler("offers"))

    request = actions.add_parser("request", help="ask a provider for a job from one of its offers")
    request.add_argument("--provider", required=True, metavar="URL")
    request.add_argument("--offer", required=True, metavar="ID")
    brief = request.add_mutually_exclusive_group(required=True)
    brief.add_argument("--brief", metavar="TEXT")
    brief.add_argument("--brief-file", type=Path, metavar="FILE")
    request.add_argument("--fund", action="store_true", help="lock the price at once")
    request.add_argument(
        "--max-price", metavar="AMOUNT", help="refuse the job if the offer costs more (e.g. 5 for 5 USDC)"
    )
    request.add_argument("--yes", action="store_true", help="send without asking (scripts)")
    common(request, unlock=True)
    request.set_defaults(handler=_handler("request"))

    listing = actions.add_parser("list", help="this account's jobs on the current network")
    common(listing, unlock=False)
    listing.set_defaults(handler=_handler("list"))

    status = actions.add_parser("status", help="one job")
    status.add_argument("job", metavar="JOB")
    common(status, unlock=False)
    status.set_defaults(handler=_handler("status"))

    for name, what in (
        ("fund", "lock the job's price in PayGoJobs"),
        ("approve", "pay the worker for the delivery on chain"),
        ("refund", "take the price back after the deadline (nothing delivered)"),
        ("cancel", "take the price back with the provider's cancellation (it declined the job)"),
        ("release", "pay the worker after the review window"),
    ):
        p = actions.add_parser(name, help=what)
        p.add_argument("job", metavar="JOB")
        p.add_argument("--yes", action="store_true", help="send without asking (scripts)")
        common(p, unlock=True)
        p.set_defaults(handler=_handler(name))

    download = actions.add_parser("download", help="download the delivery and check its hash")
    download.add_argument("job", metavar="JOB")
    download.add_argument("--to", type=Path, required=True, metavar="DIR")
    common(download, unlock=True)
    download.set_defaults(handler=_handler("download"))

    from paygo_desktop.commands.vendor_jobs import add_actions

    add_actions(actions)  # the vendor's side: vendor-list, accept, decline, deliver


def _handler(action: str) -> Any:
    def handle(args: argparse.Namespace, data_dir: DataDir) -> int:
        import asyncio

        from paygo_desktop.context import AppContext

        ctx = AppContext.open(data_dir)
        try:
            return asyncio.run(_run(ctx, action, args))
        finally:
            ctx.close()

    return handle


def _say(payload: Any) -> None:
    print(json.dumps(payload, indent=2), flush=True)


def view_json(view: JobView) -> dict[str, Any]:
    record, job = view.record, view.record.job
    reminder = view.reminder
    return {
        "jobId": view.job_id,
        "state": view.state.value,
        "actions": list(view.actions),
        "reminder": None
        if reminder is None
        else {"kind": reminder.kind, "at": reminder.at, "message": reminder.message},
        "provider": record.provider_name,
        "providerUrl": record.provider_url,
        "offer": record.offer_name,
        "offerId": record.offer_id,
        "price": view.price.format(symbol=False, grouping=False),
        "priceUnits": str(job.price),
        "asset": record.asset.symbol,
        "deadline": job.deadline,
        "reviewWindow": job.review_window,
        "reviewEndsAt": view.review_ends_at,
        "delivery": None if view.on_chain.delivered_at == 0 else "0x" + view.on_chain.delivery.hex(),
        "chainTime": view.chain_time,
        "downloaded": record.download_path,
    }


async def _run(ctx: Any, action: str, args: argparse.Namespace) -> int:
    from paygo_desktop.jobs.service import JobsService

    accounts = ctx.wallet.accounts()
    if not accounts:
        raise UserFacingError("This data directory has no wallet yet: start the app once to create one.")
    account = args.account or accounts[0].address
    if not any(a.address.lower() == account.lower() for a in accounts):
        raise UserFacingError(f"The wallet has no account {account}.")
    service = JobsService.open(ctx, account, jobs_address=args.jobs_contract)
    try:
        return await _act(ctx, service, action, args)
    finally:
        await service.aclose()


async def _key(ctx: Any, service: JobsService, args: argparse.Namespace) -> Any:
    import asyncio

    from paygo_desktop.commands.unlock import read_password

    password = os.environ.get("PAYGO_PASSWORD") or read_password(args.password_file)
    await asyncio.to_thread(ctx.wallet.unlock, password)
    return ctx.wallet.local_account(service.account)


async def _act(ctx: Any, service: JobsService, action: str, args: argparse.Namespace) -> int:
    from paygo_desktop.commands.tx_run import account_signer, run_flow

    if action == "offers":
        offers = await service.offers(args.provider)
        _say([o.model_dump(mode="json", by_alias=True) for o in offers])
        return 0
    if action == "list":
        _say([view_json(v) for v in await service.views()])
        return 0
    if action == "status":
        _say(view_json(await service.view(args.job)))
        return 0
    key = await _key(ctx, service, args)
    if action == "request":
        brief = args.brief if args.brief is not None else _read_brief(args.brief_file)
        record = await service.request(args.provider, args.offer, brief, key, max_price=args.max_price)
        if args.fund:
            plan = await service.plan_fund(record.job_id)
            await run_flow(
                service.transactions, service.account, plan, account_signer(key), assume_yes=args.yes
            )
        _say(view_json(await service.view(record.job_id)))
        return 0
    if action == "download":
        path = await service.download(args.job, key, args.to)
        _say({"jobId": args.job, "file": str(path), "checked": True})
        return 0
    if action == "cancel":
        await service.refresh_from_provider(args.job, key)
    planner = {
        "fund": service.plan_fund,
        "approve": service.plan_approve,
        "refund": service.plan_refund,
        "cancel": service.plan_cancel,
        "release": service.plan_release,
    }[action]
    plan = await planner(args.job)
    hashes = await run_flow(
        service.transactions, service.account, plan, account_signer(key), assume_yes=args.yes
    )
    _say({**view_json(await service.view(args.job)), "txHashes": hashes})
    return 0


def _read_brief(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserFacingError(f"Cannot read the brief {path}: {exc}.") from None
