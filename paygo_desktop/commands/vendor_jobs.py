"""``paygo-desktop jobs vendor-list|accept|decline|deliver --config provider.toml``: the vendor's side of
fixed-price jobs without the window (``vendor.jobs``), signed with the key the provider's config names.

    jobs vendor-list --config F                          every job requested from the provider (JSON)
    jobs accept|decline JOB --config F                   the provider's answer (its JobInfo, JSON)
    jobs deliver JOB --config F --file PATH              the file; the provider records its SHA-256 on chain
    jobs deliver JOB --config F --link URL --sha256 HEX  a file served elsewhere, with its SHA-256
    jobs vendor-release JOB --config F                   the price of a delivery the client left unapproved
                                                         past its review window (the provider sends release)

The provider is reached at the config's ``public_base_url`` unless ``--provider URL`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir


def add_actions(actions: Any) -> None:
    """The vendor's actions, beside the client's under ``jobs``."""
    for name, what in (
        ("vendor-list", "the vendor: every job requested from the provider"),
        ("accept", "the vendor: take a funded job on"),
        ("decline", "the vendor: refuse a job (the client gets the provider's cancellation)"),
        ("deliver", "the vendor: deliver a file or a link with its SHA-256"),
        ("vendor-release", "the vendor: take the price once the review window passed without approval"),
    ):
        p = actions.add_parser(name, help=what)
        if name != "vendor-list":
            p.add_argument("job", metavar="JOB")
        p.add_argument("--config", type=Path, required=True, metavar="FILE", help="the provider's config")
        p.add_argument("--provider", metavar="URL", help="default: the config's public_base_url")
        if name == "deliver":
            what_ = p.add_mutually_exclusive_group(required=True)
            what_.add_argument("--file", type=Path, metavar="PATH")
            what_.add_argument("--link", metavar="URL")
            p.add_argument("--sha256", metavar="HEX", help="with --link: the SHA-256 of what it serves")
        p.set_defaults(handler=partial(_handle, name))


def _handle(action: str, args: argparse.Namespace, _data_dir: DataDir) -> int:
    import asyncio

    from paygo_desktop.provider.config import load_config

    config = load_config(args.config)
    if action == "deliver" and args.link is not None and not args.sha256:
        raise UserFacingError("--link needs --sha256: the SHA-256 of the file the link serves.")
    url = args.provider or config.public_base_url
    print(json.dumps(asyncio.run(_run(action, args, url, config.account())), indent=2), flush=True)
    return 0


async def _run(action: str, args: argparse.Namespace, url: str, key: Any) -> Any:
    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.vendor import jobs as vj

    async with ProviderClient(url) as client:
        if action == "vendor-list":
            jobs = await vj.list_jobs(client, key)
            return [
                {
                    "offer": j.offer_name,
                    "price": j.price_text,
                    "stateText": j.state_text,
                    "actions": list(j.actions),
                    **j.info.model_dump(mode="json", by_alias=True),
                }
                for j in jobs
            ]
        if action == "accept":
            info = await vj.accept(client, key, args.job)
        elif action == "decline":
            info = await vj.decline(client, key, args.job)
        elif action == "vendor-release":
            released = await vj.release(client, key, args.job)
            if isinstance(released, vj.ReleaseOnItsWay):
                return {"jobId": args.job, "release": "on_its_way", "message": vj.ON_ITS_WAY_TEXT}
            info = released
        elif args.file is not None:
            info = await vj.deliver_file(client, key, args.job, args.file)
        else:
            info = await vj.deliver_link(client, key, args.job, args.link, args.sha256)
        return info.model_dump(mode="json", by_alias=True)
