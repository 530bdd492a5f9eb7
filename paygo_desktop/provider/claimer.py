"""On-chain claims: batch-claim the latest vouchers on a schedule, and at once on a WithdrawRequested.

``claimable`` lists every channel whose latest voucher is above what the chain has paid out (a fresh read
of each channel: a claim the vendor sent from the app is simply found claimed); ``claim_pending`` claims
them (``claimBatch``, ``CLAIM_BATCH`` channels per transaction) from the provider's key. A voucher of a
contract-wallet signer is re-checked (EIP-1271) first and left out while the wallet refuses it, since one
bad signature reverts a whole batch. The vendor route ``GET /vendor/vouchers`` answers with ``claimable``.

``poll_withdrawals`` reads new vault events; a ``WithdrawRequested`` on one of this provider's channels
triggers an immediate claim of that channel (before the payer can finalize the withdrawal).

The poll reads only the events that may lower a channel's coverage (WithdrawRequested, Withdrawn,
Closed). Each successful poll keeps the provider's cache of channel states honest (``ChainStateCache``):
every channel those events name is dropped from it, and the poll marks the watch as live.

The watch's block cursor is kept in the provider's database, so a restarted provider first looks back at
the blocks mined while it was down (a withdrawal requested then is claimed at once, like a live one). The
look-back reads in chunks; a chunk the node refuses is halved down to one block, and grows back after
successes (as ``chain.event_sync`` does). The cursor moves past a chunk only once the claims it triggered
went through, so a failed claim is retried on the next poll. A database that never watched starts at
the chain's head, claiming once whatever vouchers it already holds (a database from before the cursor).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from paygo_desktop.chain.channel_state_reader import ChannelStateReader
from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.chain.vault import VaultClient, WithdrawRequested
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.provider.store import ChannelRow, ClaimRow, Store, channel_of
from paygo_desktop.provider.voucher_signatures import VoucherSignatures

if TYPE_CHECKING:
    from paygo_desktop.provider.core import ChainStateCache

log = logging.getLogger(__name__)
CLAIM_BATCH = 50  # channels per claimBatch transaction
LOG_CHUNK = 2_000  # blocks per eth_getLogs query at first; halved when the node refuses, grows back to
MAX_LOG_CHUNK = 10_000


@dataclass(frozen=True)
class Claimable:
    """A channel's latest voucher, above what the vault has paid out for it."""

    channel_id: str  # 0x-hex
    channel: Channel
    cumulative: int
    signature: str  # 0x-hex
    claimed: int  # on chain, read just now
    escrow: int  # deposited - withdrawn: a claim pays at most min(cumulative, escrow) - claimed

    @property
    def payout(self) -> int:
        return min(self.cumulative, self.escrow) - self.claimed


class WatchError(Exception):
    """The node refused the logs of even a single block, or is unreachable."""


class Claimer:
    def __init__(
        self,
        store: Store,
        vault: VaultClient,
        sender: object,
        provider: str,
        *,
        lock: asyncio.Lock,
        wall_clock: Callable[[], float] = time.time,
        cache: ChainStateCache | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.states = ChannelStateReader(vault.w3, vault.address)  # fresh reads, without web3's call stack
        self.sender = sender
        self.provider = provider
        self.lock = lock  # serialises claim transactions (one sender, one nonce sequence)
        self.wall_clock = wall_clock
        self.next_block: int | None = None
        self.withdraw_triggered = 0
        self.cache = cache  # channel states the provider trusts; events invalidate them
        self.ranges = LogRangeWalker(LOG_CHUNK, MAX_LOG_CHUNK)
        self._topics: list[str] | None = None
        self._signatures: VoucherSignatures | None = None

    def _held_vouchers(self, only: set[str] | None) -> list[Any]:
        """Rows (id, channel fields, cumulative, signature) of each channel whose latest voucher is above
        what this database knows as claimed (a claim sent by someone else is only found by the chain read).
        Plain columns: the Channel objects are built one by one between chain reads (``claimable``)."""
        query = select(
            ChannelRow.id,
            ChannelRow.payer,
            ChannelRow.provider,
            ChannelRow.token,
            ChannelRow.signer,
            ChannelRow.withdraw_delay,
            ChannelRow.salt,
            ChannelRow.last_cumulative,
            ChannelRow.last_signature,
            ChannelRow.claimed_cumulative,
        ).where(ChannelRow.last_signature.is_not(None))
        with self.store.tx() as db:
            return [
                r
                for r in db.execute(query)
                if r.last_signature
                and int(r.last_cumulative) > int(r.claimed_cumulative)
                and (only is None or r.id in only)
            ]

    async def claimable(self, only: set[str] | None = None) -> list[Claimable]:
        """The vouchers a ``claimBatch`` would be paid for now, ordered by (provider, token).

        Each channel's state is read from the chain: a voucher already claimed (by this claimer, or by a
        batch the vendor sent from the app) is marked claimed here and left out. A contract wallet's
        voucher is asked to the wallet again, since one refused signature reverts a whole batch."""
        found: list[Claimable] = []
        for r in self._held_vouchers(only):
            # each Channel is built here, between chain reads: checksumming the addresses of 1,000 channels
            # in one go held the event loop for ~60 ms
            channel = channel_of(r)
            cid, amount, sig = r.id, int(r.last_cumulative), r.last_signature
            st = await self.states.channel_state(channel.id)
            if min(amount, st.escrow) <= st.claimed:
                self._mark(cid, amount, None)  # nothing left to collect (already claimed or closed)
                continue
            if not await self._still_signed(channel, amount, sig):
                # a contract wallet that no longer accepts the voucher would revert the whole batch
                log.warning("%s: the signer no longer accepts the latest voucher; not claiming it", cid)
                continue
            found.append(Claimable("0x" + channel.id.hex(), channel, amount, sig, st.claimed, st.escrow))
        found.sort(key=lambda c: (c.channel.provider, c.channel.token))
        return found

    async def claim_pending(self, only: set[str] | None = None) -> tuple[str | None, list[str]]:
        """Claim every channel (or those in ``only``) with an unclaimed voucher. Returns (tx hash, ids)."""
        async with self.lock:
            found = await self.claimable(only)
            if not found:
                return None, []
            items = [(c.channel, c.cumulative, bytes.fromhex(c.signature[2:])) for c in found]
            ids = [c.channel_id for c in found]
            tx_hash: str | None = None
            # bounded batches: building, signing and decoding one huge transaction would stall the event
            # loop (and every voucher behind it) for hundreds of milliseconds
            for at in range(0, len(items), CLAIM_BATCH):
                chunk, chunk_ids = items[at : at + CLAIM_BATCH], ids[at : at + CLAIM_BATCH]
                result = await self.vault.claim_batch(self.sender, chunk)  # type: ignore[arg-type]
                tx_hash = "0x" + result.tx.tx_hash.hex()
                for (_, amount, _), cid in zip(chunk, chunk_ids, strict=True):
                    self._mark(cid, amount, tx_hash)
                log.info("claimed %d channel(s) in %s", len(chunk_ids), tx_hash)
            return tx_hash, ids

    async def _still_signed(self, channel: Channel, amount: int, signature: str) -> bool:
        """ECDSA, or the contract signer's EIP-1271 answer now (never a remembered one)."""
        if self._signatures is None:
            self._signatures = VoucherSignatures(self.vault, await self.vault.domain())
        return await self._signatures.valid(channel, amount, signature, cached=False)

    def _mark(self, cid: str, amount: int, tx_hash: str | None) -> None:
        with self.store.tx() as db:
            row = db.get(ChannelRow, cid)
            if row is not None and int(row.claimed_cumulative) < amount:
                row.claimed_cumulative = str(amount)
            if tx_hash is not None:
                db.add(
                    ClaimRow(tx_hash=tx_hash, channel_id=cid, cumulative=str(amount), at=self.wall_clock())
                )

    async def poll_withdrawals(self) -> list[str]:
        """Claim at once the channels on which a withdrawal was requested since the last poll (after a
        restart: since the last block the previous run read). Returns the ids of the claimed channels."""
        latest = int(await self.vault.w3.eth.block_number)
        if self.next_block is None:
            saved = self.store.watch_cursor(self.vault.address)
            if saved is None:  # a database that never watched this vault: start at the head
                self._advance(latest + 1)
                self._polled()
                _, ids = await self.claim_pending()
                return ids
            self.next_block = saved
            if saved <= latest:
                log.info("looking back at blocks %d-%d, mined while the provider was down", saved, latest)
        claimed: list[str] = []

        async def fetch(frm: int, end: int) -> list[Any]:
            # only the events that can lower a channel's coverage (escrow - pending withdrawal) are
            # fetched: a claim leaves it unchanged and a top-up raises it (a voucher above the cached
            # coverage re-reads the chain). Decoding thousands of Funded/Claimed logs would stall the
            # event loop for nothing.
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
            if self.cache is not None and events:
                self.cache.invalidate({e.channel_id for e in events})
            hit = {
                "0x" + e.channel_id.hex()
                for e in events
                if isinstance(e, WithdrawRequested) and e.provider == self.provider and e.amount > 0
            }
            if hit:
                log.info("withdrawal requested on %d channel(s): claiming now", len(hit))
                self.withdraw_triggered += 1
                _, ids = await self.claim_pending(hit)
                claimed.extend(ids)
            self._advance(end + 1)
        self._polled()
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

    def _polled(self) -> None:
        if self.cache is not None:
            self.cache.polled()

    async def run(self, claim_interval: float, poll_interval: float) -> None:
        """Background loop (cancel to stop)."""
        last_claim = time.monotonic()
        try:
            await self.poll_withdrawals()  # sets the starting block
        except Exception as exc:
            log.warning("event poll failed: %r", exc)
        while True:
            await asyncio.sleep(min(poll_interval, claim_interval))
            try:
                await self.poll_withdrawals()
                if time.monotonic() - last_claim >= claim_interval:
                    last_claim = time.monotonic()
                    await self.claim_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("claimer: %r", exc)
