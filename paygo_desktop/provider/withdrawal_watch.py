"""The claimer's withdrawal watch: it reads new vault events, and a ``WithdrawRequested`` on one of this
provider's channels triggers an immediate claim of that channel (before the payer can finalize the
withdrawal). ``Claimer`` (``provider.claimer``) mixes this in and runs it in a task of its own.

The poll reads only the events that may lower a channel's coverage (WithdrawRequested, Withdrawn, Closed).

The watch's block cursor is kept in the provider's database, so a restarted provider first looks back at
the blocks mined while it was down (a withdrawal requested then is claimed at once, like a live one). The
look-back reads in chunks; a chunk the node refuses is halved down to one block, and grows back after
successes (as ``chain.event_sync`` does). The cursor moves past a chunk whatever happens to the claims it
triggered: a channel whose claim failed is in the retry schedule (a revert) or in ``urgent`` (the node
failed), retried at the next round, so one channel can never hold the watch (and every other channel's
withdrawal) back. A database that never watched starts at the chain's head, claiming once whatever
vouchers it already holds (a database from before the cursor).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.chain.vault import VaultClient, WithdrawRequested
from paygo_desktop.errors import UserFacingError
from paygo_desktop.provider.store import Store

log = logging.getLogger(__name__)
LOG_CHUNK = 2_000  # blocks per eth_getLogs query at first; halved when the node refuses, grows back to
MAX_LOG_CHUNK = 10_000


class WatchError(Exception):
    """The node refused the logs of even a single block, or is unreachable."""


class WithdrawalWatch:
    """The withdrawal watch of ``Claimer`` (what it uses of the claimer is declared here)."""

    if TYPE_CHECKING:
        store: Store
        vault: VaultClient
        provider: str
        urgent: set[str]

        async def claim_pending(
            self, only: set[str] | None = None, *, withdrawal: bool = False
        ) -> tuple[str | None, list[str]]: ...

        @staticmethod
        async def _step(what: str, step: Callable[[], Any]) -> None: ...

    def _init_watch(self) -> None:
        self.next_block: int | None = None
        self.withdraw_triggered = 0
        self.ranges = LogRangeWalker(LOG_CHUNK, MAX_LOG_CHUNK)
        self._topics: list[str] | None = None

    async def poll_withdrawals(self) -> list[str]:
        """Claim at once the channels on which a withdrawal was requested since the last poll (after a
        restart: since the last block the previous run read). Returns the ids of the claimed channels."""
        latest = int(await self.vault.w3.eth.block_number)
        if self.next_block is None:
            saved = self.store.watch_cursor(self.vault.address)
            if saved is None:  # a database that never watched this vault: start at the head
                self._advance(latest + 1)
                _, ids = await self.claim_pending()
                return ids
            self.next_block = saved
            if saved <= latest:
                log.info("looking back at blocks %d-%d, mined while the provider was down", saved, latest)
        claimed: list[str] = []

        async def fetch(frm: int, end: int) -> list[Any]:
            # only the events that can lower a channel's coverage (escrow - pending withdrawal) are
            # fetched: a claim leaves it unchanged and a top-up raises it. Decoding thousands of
            # Funded/Claimed logs would stall the event loop for nothing.
            return list(
                await self.vault.w3.eth.get_logs(
                    {
                        "address": self.vault.address,
                        "fromBlock": frm,
                        "toBlock": end,
                        "topics": [self._watched_topics()],
                    }
                )
            )

        def refused(block: int, reason: str) -> Exception:
            return WatchError(f"the node refused the logs of block {block}: {reason}")

        async for _frm, end, logs in self.ranges.walk(self.next_block, latest, fetch, refused):
            events = self.vault.decode_logs(logs)
            hit = {
                "0x" + e.channel_id.hex()
                for e in events
                if isinstance(e, WithdrawRequested) and e.provider == self.provider and e.amount > 0
            }
            if hit:
                log.info("withdrawal requested on %d channel(s): claiming now", len(hit))
                self.withdraw_triggered += 1
                try:
                    _, ids = await self.claim_pending(hit, withdrawal=True)
                    claimed.extend(ids)
                except Exception as exc:
                    # the cursor moves on all the same: these channels are tried again at the next round
                    log.warning(
                        "claim after a withdrawal request failed: %s; trying again",
                        exc if isinstance(exc, UserFacingError) else repr(exc),
                    )
                    self.urgent |= hit
            self._advance(end + 1)
        return claimed

    def _advance(self, next_block: int) -> None:
        self.store.save_watch_cursor(self.vault.address, next_block)
        self.next_block = next_block

    def _watched_topics(self) -> list[str]:
        if self._topics is None:
            names = {"WithdrawRequested", "Withdrawn", "Closed"}
            self._topics = [
                "0x" + topic.hex()
                for topic, name in self.vault._topics.items()  # the vault client's event table
                if name in names
            ]
            assert len(self._topics) == len(names), "PayGoVault ABI lacks a watched event"
        return self._topics

    async def _watch(self, poll_interval: float) -> None:
        while True:
            await self._step("event poll", self.poll_withdrawals)
            await asyncio.sleep(poll_interval)
