"""The Vendor page's calls to its provider and its network, each run to its end in a worker thread with a
time limit (the page and its Jobs and Services tabs use them)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from paygo_desktop.errors import UserFacingError

if TYPE_CHECKING:
    from paygo_desktop.context import AppContext

VENDOR_READ_TIMEOUT = 120.0  # seconds: the first read syncs the vault's Claimed events


def run_bounded(work: Any) -> Any:
    """Run ``work`` (a coroutine) to its end in this worker thread, or give up after the timeout with a
    message: a node or provider that accepts a connection and never answers must not hold a thread."""
    try:
        return asyncio.run(asyncio.wait_for(work, VENDOR_READ_TIMEOUT))
    except TimeoutError:
        raise UserFacingError("The provider or the network did not answer in time; try again.") from None


def with_provider(ctx: AppContext, url: str, account: str, work: Any) -> Any:
    """Run ``work(client, key)`` to its end in this worker thread, with the provider's key (an account of
    this wallet): the Jobs and Services tabs' signed requests."""
    from paygo_desktop.protocol.client import ProviderClient

    key = ctx.wallet.local_account(account)

    async def go() -> Any:
        async with ProviderClient(url) as client:
            return await work(client, key)

    return run_bounded(go())
