"""On-chain claims: batch-claim the latest vouchers on a schedule, and at once on a WithdrawRequested.

``claimable`` lists every channel whose latest voucher is above what the chain has paid out (a fresh read
of each channel: a claim the vendor sent from the app is simply found claimed); ``claim_pending`` claims
them (``claimBatch``, ``CLAIM_BATCH`` channels per transaction) from the provider's key. The vendor route
``GET /vendor/vouchers`` answers with ``claimable`` (and ``refused``).

One channel never blocks the others. One refused signature reverts a whole ``claimBatch``, and a contract
wallet can answer the provider's checks one way and the vault's claim another, so every batch is first
simulated (``eth_call`` from the provider's key, as it will be sent). When the simulation reverts, the
batch is halved until the failing channels are found; they are left out, the rest is sent, and each failing
channel is tried again later on its own, after a backoff that doubles (``RETRY_FIRST`` up to
``RETRY_MAX``). A contract wallet asked about its voucher before the batch (as the vault asks) that
answers with an error (one that burns all the gas it is given) is left out the same way. A channel whose
signature the vault refuses (``InvalidSignature``; or a contract wallet that no longer approves its
voucher when asked as the vault asks) is also marked refused in the store: its sessions are refused from
then on (``on_refused`` ends a live one), the vendor sees it listed and the log says so.

``poll_withdrawals`` reads new vault events; a ``WithdrawRequested`` on one of this provider's channels
triggers an immediate claim of that channel (before the payer can finalize the withdrawal). The poll reads
only the events that may lower a channel's coverage (WithdrawRequested, Withdrawn, Closed).

The watch's block cursor is kept in the provider's database, so a restarted provider first looks back at
the blocks mined while it was down (a withdrawal requested then is claimed at once, like a live one). The
look-back reads in chunks; a chunk the node refuses is halved down to one block, and grows back after
successes (as ``chain.event_sync`` does). The cursor moves past a chunk whatever happens to the claims it
triggered: a channel whose claim failed is in the retry schedule (a revert) or in ``urgent`` (the node
failed), retried at the next round, so one channel can never hold the watch (and every other channel's
withdrawal) back. A database that never watched starts at the chain's head, claiming once whatever
vouchers it already holds (a database from before the cursor).

``run`` polls, retries what is due and claims on schedule, each step on its own: a failure in one never
skips the others. It runs in one worker only, the leader (``provider.leader``); every claim round, the
leader's or one a vendor asks of any worker, holds the claim lock, so a voucher is never claimed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from paygo_desktop.chain.channel_state_reader import ChannelStateReader
from paygo_desktop.chain.log_ranges import LogRangeWalker
from paygo_desktop.chain.tx import TransactionFailed, sender_address
from paygo_desktop.chain.vault import RevertError, VaultClient, WithdrawRequested, revert_error_name
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.provider.store import ChannelRow, ClaimRow, Store, channel_of
from paygo_desktop.provider.voucher_signatures import VoucherSignatures

log = logging.getLogger(__name__)
CLAIM_BATCH = 50  # channels per claimBatch transaction
LOG_CHUNK = 2_000  # blocks per eth_getLogs query at first; halved when the node refuses, grows back to
MAX_LOG_CHUNK = 10_000
RETRY_FIRST = 10.0  # seconds before a channel whose claim would revert is tried again, alone; doubles
RETRY_MAX = 600.0
REFUSED_SIGNATURE = "InvalidSignature"


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

    @property
    def item(self) -> tuple[Channel, int, bytes]:
        return self.channel, self.cumulative, bytes.fromhex(self.signature[2:])


@dataclass
class _Retry:
    attempts: int
    due: float  # monotonic seconds
    reason: str


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
        lock: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_refused: Callable[[str], None] = lambda _cid: None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.states = ChannelStateReader(vault.w3, vault.address)  # fresh reads, without web3's call stack
        self.sender = sender
        self.provider = provider
        # serialises claim rounds (one sender, one nonce sequence), across workers (provider.leader)
        self.lock = lock
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.on_refused = on_refused  # called with a channel id the vault refused (its sessions end)
        self.next_block: int | None = None
        self.withdraw_triggered = 0
        self.ranges = LogRangeWalker(LOG_CHUNK, MAX_LOG_CHUNK)
        self.retries: dict[str, _Retry] = {}  # channels whose claim would revert: tried alone when due
        self.urgent: set[str] = set()  # withdrawal claims the node failed to take: tried at the next round
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
        """The vouchers a ``claimBatch`` would be paid for now, ordered by (provider, token), refused
        channels left out (``GET /vendor/vouchers`` lists them apart)."""
        found, _ = await self._collect(only, include_refused=False)
        return found

    async def _collect(
        self, only: set[str] | None, *, include_refused: bool, skip: frozenset[str] = frozenset()
    ) -> tuple[list[Claimable], list[tuple[Claimable, str]]]:
        """(vouchers to claim, vouchers left out with the reason), channels in ``skip`` not looked at.

        Each channel's state is read from the chain: a voucher already claimed (by this claimer, or by a
        batch the vendor sent from the app) is marked claimed here and left out. A contract wallet's
        voucher is asked to the wallet again (as the vault asks), since one refused signature reverts a
        whole batch; a wallet that refuses it, or whose answer fails with an error (one that burns all the
        gas it is given), is left out, and the other channels go on."""
        refused = self.store.refused_ids()
        found: list[Claimable] = []
        left_out: list[tuple[Claimable, str]] = []
        for r in self._held_vouchers(only):
            if r.id in skip or (r.id in refused and not include_refused):
                continue
            # each Channel is built here, between chain reads: checksumming the addresses of 1,000 channels
            # in one go held the event loop for ~60 ms
            channel = channel_of(r)
            cid, amount, sig = r.id, int(r.last_cumulative), r.last_signature
            st = await self.states.channel_state(channel.id)
            if min(amount, st.escrow) <= st.claimed:
                self._mark(cid, amount, None)  # nothing left to collect (already claimed or closed)
                continue
            entry = Claimable("0x" + channel.id.hex(), channel, amount, sig, st.claimed, st.escrow)
            try:
                signed = await self._still_signed(channel, amount, sig)
            except Exception as exc:
                log.warning("%s: asking the signer about the latest voucher failed: %r", cid, exc)
                left_out.append((entry, f"the signer's check failed ({type(exc).__name__})"))
                continue
            if not signed:
                log.warning("%s: the signer no longer approves the latest voucher; not claiming it", cid)
                left_out.append((entry, REFUSED_SIGNATURE))  # the vault would refuse it the same way
                continue
            found.append(entry)
        found.sort(key=lambda c: (c.channel.provider, c.channel.token))
        return found, left_out

    async def claim_pending(self, only: set[str] | None = None) -> tuple[str | None, list[str]]:
        """Claim every channel (or those in ``only``) with an unclaimed voucher. Returns (the last tx hash,
        the ids claimed). A channel whose claim would revert is left out and scheduled for a retry on its
        own; node errors propagate (the caller retries)."""
        async with self.lock():
            now = self.monotonic()
            waiting = frozenset(cid for cid, r in self.retries.items() if r.due > now)
            found, left_out = await self._collect(only, include_refused=True, skip=waiting)
            for c, reason in left_out:
                self._failed(c, reason)
            refused = self.store.refused_ids()
            batch: list[Claimable] = []
            alone: list[Claimable] = []
            for c in found:
                if c.channel_id in self.retries:  # its retry is due: tried on its own
                    alone.append(c)
                elif c.channel_id in refused:  # refused in an earlier run: back in the schedule, tried alone
                    self.retries[c.channel_id] = _Retry(1, now + RETRY_MAX, REFUSED_SIGNATURE)
                else:
                    batch.append(c)
            tx_hash: str | None = None
            claimed: list[str] = []
            # bounded batches: building, signing and decoding one huge transaction would stall the event
            # loop (and every voucher behind it) for hundreds of milliseconds
            groups = [batch[at : at + CLAIM_BATCH] for at in range(0, len(batch), CLAIM_BATCH)]
            for group in groups + [[c] for c in alone]:
                tx_hash, ids = await self._claim_group(group, tx_hash)
                claimed.extend(ids)
            return tx_hash, claimed

    async def _claim_group(self, group: list[Claimable], tx_hash: str | None) -> tuple[str | None, list[str]]:
        """Simulate, leave out what would revert, send the rest. Sending reverts only if the chain moved
        between the simulation and the send: then the group is split again once, and whatever still
        fails is scheduled for a retry."""
        claimed: list[str] = []
        pending = [group]
        for attempt in range(2):
            sendable: list[list[Claimable]] = []
            for part in pending:
                passing, failing = await self._partition(part)
                for c, reason in failing:
                    self._failed(c, reason)
                sendable.extend(passing)
            pending = []
            for part in sendable:
                try:
                    result = await self.vault.claim_batch(self.sender, [c.item for c in part])  # type: ignore[arg-type]
                except (*RevertError, TransactionFailed) as exc:
                    if attempt == 0:
                        pending.append(part)
                    else:
                        for c in part:
                            self._failed(c, revert_error_name(exc) or "reverted")
                    continue
                tx_hash = "0x" + result.tx.tx_hash.hex()
                for c in part:
                    self._mark(c.channel_id, c.cumulative, tx_hash)
                    self.retries.pop(c.channel_id, None)
                    claimed.append(c.channel_id)
                log.info("claimed %d channel(s) in %s", len(part), tx_hash)
            if not pending:
                break
        return tx_hash, claimed

    async def _partition(
        self, items: list[Claimable]
    ) -> tuple[list[list[Claimable]], list[tuple[Claimable, str]]]:
        """(groups whose claimBatch simulates fine, channels that revert alone with the vault's reason)."""
        reason = await self._simulate(items)
        if reason is None:
            return [items], []
        if len(items) == 1:
            return [], [(items[0], reason)]
        mid = len(items) // 2
        first, first_failing = await self._partition(items[:mid])
        second, second_failing = await self._partition(items[mid:])
        groups = first + second
        if len(groups) > 1:  # the halves that passed, together again in one transaction if they can be
            merged = [c for g in groups for c in g]
            if await self._simulate(merged) is None:
                groups = [merged]
        return groups, first_failing + second_failing

    async def _simulate(self, items: list[Claimable]) -> str | None:
        """None if ``claimBatch`` of ``items`` would go through now, else the vault's revert reason."""
        call = self.vault.claim_batch_call([c.item for c in items])
        try:
            await call.call({"from": sender_address(self.sender)})  # type: ignore[arg-type]
        except RevertError as exc:
            return revert_error_name(exc) or "reverted"
        return None

    def _failed(self, c: Claimable, reason: str) -> None:
        """Leave ``c`` out of the batches: retry it alone after a backoff; refuse its channel when the
        vault refuses its signature."""
        retry = self.retries.get(c.channel_id)
        attempts = 1 if retry is None else retry.attempts + 1
        wait = min(RETRY_MAX, RETRY_FIRST * 2 ** (attempts - 1))
        self.retries[c.channel_id] = _Retry(attempts, self.monotonic() + wait, reason)
        if reason == REFUSED_SIGNATURE and self.store.refuse_channel(
            c.channel,
            c.cumulative,
            "the vault refuses the voucher's signature (a contract wallet that answers the vault otherwise)",
            self.wall_clock(),
        ):
            log.warning(
                "channel %s (payer %s): the vault refuses the signature of its voucher for %d; "
                "the channel and its sessions are refused from now on",
                c.channel_id,
                c.channel.payer,
                c.cumulative,
            )
            self.on_refused(c.channel_id)
        log.warning(
            "channel %s: its claim would revert (%s); left out of the batch, tried alone in %.0f s",
            c.channel_id,
            reason,
            wait,
        )

    async def retry_due(self) -> list[str]:
        """Claim the channels whose retry is due and the withdrawal claims that failed (node errors)."""
        now = self.monotonic()
        due = {cid for cid, r in self.retries.items() if r.due <= now} | self.urgent
        if not due:
            return []
        _, ids = await self.claim_pending(due)
        self.urgent -= due  # claimed, found claimed, or in the retry schedule now
        return ids

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
                    _, ids = await self.claim_pending(hit)
                    claimed.extend(ids)
                except Exception as exc:
                    # the cursor moves on all the same: these channels are tried again at the next round
                    log.warning("claim after a withdrawal request failed: %r; trying again", exc)
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

    async def run(self, claim_interval: float, poll_interval: float) -> None:
        """Background loop (cancel to stop): watch, retries and the scheduled claim, each on its own."""
        last_claim = time.monotonic()
        first = True
        while True:
            if not first:
                await asyncio.sleep(min(poll_interval, claim_interval))
            first = False
            steps: list[tuple[str, Callable[[], Any]]] = [
                ("event poll", self.poll_withdrawals),
                ("retrying claims", self.retry_due),
            ]
            if time.monotonic() - last_claim >= claim_interval:
                last_claim = time.monotonic()
                steps.append(("scheduled claim", self.claim_pending))
            for what, step in steps:
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("claimer, %s: %r", what, exc)
