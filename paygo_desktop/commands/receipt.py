"""``paygo-desktop receipt verify FILE [--rpc URL]``,
``receipt export (--session ID | --job ID | --x402 ID) --out FILE``.

``verify`` prints one line a check (✓, ✗ or ·) and a summary; it exits 0 when the proof is verified, 1
when it is refused (a check failed, or the file is not a proof). ``export`` writes a finished session's
(a paid-out job's, a settled x402 payment's) proof file, sealed with the payer's (the job's client's) key
(the wallet's password: ``--password-file``, PAYGO_PASSWORD_FILE or a prompt).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir


def add_parser(subparsers: Any) -> None:
    receipt = subparsers.add_parser(
        "receipt", help="verify or export a session's, a job's or an x402 payment's proof file"
    )
    actions = receipt.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check a proof file's signatures (and, with --rpc, the chain)")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument("--rpc", metavar="URL", help="a node of the proof's chain: check it on chain too")
    verify.add_argument("--registry", metavar="ADDRESS", help="PayGo's registry (default: the canonical one)")
    verify.set_defaults(handler=run_verify)
    export = actions.add_parser("export", help="write a finished session's or job's proof file")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", metavar="ID", help="the session's id (session list)")
    which.add_argument("--job", metavar="ID", help="the job's id (jobs list): approved, released or refunded")
    which.add_argument("--x402", metavar="ID", type=int, help="a settled x402 payment's id (x402 list)")
    export.add_argument("--out", required=True, type=Path, metavar="FILE")
    export.add_argument("--password-file", type=Path, help="unlock the wallet with this file's password")
    export.set_defaults(handler=run_export)


def run_verify(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.chain.canonical import REGISTRY
    from paygo_desktop.receipts.verify import verify

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UserFacingError(f"Cannot read {args.file}: {exc.strerror}.") from None
    verdict = asyncio.run(verify(data, args.rpc, registry=args.registry or REGISTRY.address))
    for line in verdict.lines():
        print(line)
    print(verdict.summary)
    return 0 if verdict.ok else 1


def run_export(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.commands.unlock import unlocked_account
    from paygo_desktop.context import AppContext
    from paygo_desktop.fileio import atomic_write_bytes
    from paygo_desktop.receipts.build import session_evidence

    ctx = AppContext.open(data_dir)
    try:
        if args.x402 is not None:
            data, what = _x402(ctx, args), f"x402 payment {args.x402}"
            atomic_write_bytes(args.out, data, 0o644)
            print(f"Wrote the proof of {what} to {args.out}.", file=sys.stderr)
            return 0
        if args.job:
            payer, what = _job_client(ctx, args.job), f"job {args.job}"
        else:
            payer, what = (
                str(session_evidence(ctx.store, args.session).channel["payer"]),
                f"session {args.session}",
            )
        key = unlocked_account(ctx.wallet, payer, args.password_file)
        data = asyncio.run(_export(ctx, args, key))
        atomic_write_bytes(args.out, data, 0o644)
    finally:
        ctx.close()
    print(f"Wrote the proof of {what} to {args.out}.", file=sys.stderr)
    return 0


def _x402(ctx: Any, args: argparse.Namespace) -> bytes:
    """A settled x402 payment's proof: what the app kept, sealed by the payer (no node needed)."""
    from paygo_desktop.commands.unlock import unlocked_account
    from paygo_desktop.receipts.x402_build import settled_payment, x402_proof

    payer = settled_payment(ctx.store, args.x402).payer
    key = unlocked_account(ctx.wallet, payer, args.password_file)
    network = ctx.network
    return x402_proof(ctx.store, args.x402, network.chain_id, network.name, key)


def _job_client(ctx: Any, job_id: str) -> str:
    from paygo_desktop.jobs.records import JobRepository

    record = JobRepository(ctx.store).get(job_id)
    if record is None:
        raise UserFacingError(f"This app has no job {job_id[:18]} (see `paygo-desktop jobs list`).")
    return record.job.client


async def _export(ctx: Any, args: argparse.Namespace, key: Any) -> bytes:
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.jobs.proof_file import job_proof
    from paygo_desktop.receipts.build import session_proof

    network = ctx.network
    w3 = async_web3(network.rpc_url, timeout=20)
    try:
        if args.job:
            return await job_proof(w3, ctx.store, args.job, network.name, key)
        return await session_proof(w3, ctx.store, args.session, network.name, key)
    finally:
        await w3.provider.disconnect()
