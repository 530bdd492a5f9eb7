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

Every claim is signed at most at the provider's fee ceiling (``provider.fee_ceiling``: its
``max_fee_per_gas_gwei``), whatever the node quotes: a round whose quote is above it sends nothing, says so
in one warning (the fee the node asked, the ceiling, where to raise it) and the next round tries again; the
vendor's Claim now answers 503 ``fee_above_ceiling``. Every check runs at the gas price the claim is sent
with (the quote of the round, used for the simulation, the gas estimate and the transaction, always as
explicit fee fields: web3 never picks a price by itself): an ``eth_call`` without one runs with
``tx.gasprice == 0``, and a contract signer that approves only then passes every check and reverts every
claim. Contract-signed vouchers go in batches of their own, and a contract batch that passes its
simulation and reverts when mined is sent again channel by channel at once; which vouchers a contract
signs, their short schedule and the refusal for good of a channel whose lone claim reverts when mined are
``provider.contract_signed_claims``'s (a mixin of ``Claimer``).

The withdrawal watch (``poll_withdrawals``: new vault events, its block cursor kept in the database and
the look-back after a restart) is ``provider.withdrawal_watch``'s (a mixin of ``Claimer``): a
``WithdrawRequested`` on one of this provider's channels is claimed at once.

``run`` polls in a task of its own, and retries what is due and claims on schedule, each step on its own: a
failure in one never skips the others. A withdrawal claim never waits behind other claims: a round that is
not one stops before its next transaction when a withdrawal claim waits for the lock (what it left is
claimed at the next round), and a round sends at most ``LONE_PER_ROUND`` lone claims (each waits for its
block), so many hostile channels cannot hold the watch past a withdrawal delay. It runs in one worker only,
the leader (``provider.leader``); every claim round, the leader's or one a vendor asks of any worker, holds
the claim lock, so a voucher is never claimed twice.
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
from paygo_desktop.chain.fees import FeeQuote
from paygo_desktop.chain.tx import TransactionFailed, sender_address
from paygo_desktop.chain.vault import RevertError, VaultClient, revert_error_name
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.logs import public_hex
from paygo_desktop.networks import CUSTOM_FEE_CEILING
from paygo_desktop.provider.contract_signed_claims import REVERTED_ON_CHAIN, ContractSignedClaims
from paygo_desktop.provider.fee_ceiling import FeeAboveCeiling, capped_fees
from paygo_desktop.provider.store import ChannelRow, ClaimRow, Store, channel_of
from paygo_desktop.provider.withdrawal_watch import WithdrawalWatch

log = logging.getLogger(__name__)
CLAIM_BATCH = 50  # channels per claimBatch transaction
RETRY_FIRST = 10.0  # seconds before a channel whose claim would revert is tried again, alone; doubles
RETRY_MAX = 600.0
LONE_PER_ROUND = 4  # lone claims (each waits for its block) sent in one round; the rest wait for the next
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
    contract: bool = False  # signed by a contract (EIP-1271), not ECDSA: its answer may change on chain

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


class Claimer(ContractSignedClaims, WithdrawalWatch):
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
        max_fee_per_gas: int = CUSTOM_FEE_CEILING,
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
        self.max_fee_per_gas = max_fee_per_gas  # wei per gas: the most a claim is signed at (fee_ceiling)
        self.retries: dict[str, _Retry] = {}  # channels whose claim would revert: tried alone when due
        self.urgent: set[str] = set()  # withdrawal claims the node failed to take: tried at the next round
        self._from = sender_address(sender)  # type: ignore[arg-type]
        self._fees: FeeQuote | None = None  # the round's gas price: its simulations, estimate and claims
        self._call_gas = 0  # gas of a simulation at that price, as much as the provider's ether pays for
        self._withdrawals_waiting = 0  # withdrawal claims waiting for the lock: other rounds stop for them
        self.cut_short = False  # a round stopped for a withdrawal claim: the rest goes at the next round
        self._first = False  # the round holding the lock is a withdrawal claim's: it never stops for another
        self._init_watch()  # provider.withdrawal_watch: the block cursor, the look-back's chunks
        self._init_contract_signers()  # provider.contract_signed_claims: the signature checker, who signs

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
        if refused:  # a channel refused for good is never sent again
            skip = skip | self.store.refused_ids(REVERTED_ON_CHAIN)
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
            contract = await self._is_contract_signed(r.id, channel, amount, sig)
            entry = Claimable("0x" + channel.id.hex(), channel, amount, sig, st.claimed, st.escrow, contract)
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

    async def claim_pending(
        self, only: set[str] | None = None, *, withdrawal: bool = False
    ) -> tuple[str | None, list[str]]:
        """Claim every channel (or those in ``only``) with an unclaimed voucher. Returns (the last tx hash,
        the ids claimed). A channel whose claim would revert is left out and scheduled for a retry on its
        own; node errors propagate (the caller retries). A ``withdrawal`` round goes before the others: they
        stop before their next transaction while it waits (``cut_short``)."""
        if withdrawal:
            self._withdrawals_waiting += 1
        try:
            async with self.lock():
                first = withdrawal
                if withdrawal:
                    self._withdrawals_waiting -= 1
                    withdrawal = False
                self._first = first
                return await self._round(only)
        finally:
            if withdrawal:  # cancelled or failed before it held the lock
                self._withdrawals_waiting -= 1

    async def _round(self, only: set[str] | None) -> tuple[str | None, list[str]]:
        now = self.monotonic()
        w3 = self.vault.w3
        self._fees = None
        self._fees = await capped_fees(w3, self.max_fee_per_gas)  # above the ceiling: nothing is sent
        held = await w3.eth.get_balance(self._from)  # type: ignore[arg-type]
        self._call_gas = self._fees.call_gas(int(held))
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
        # loop (and every voucher behind it) for hundreds of milliseconds. Contract-signed vouchers go in
        # batches of their own: one that reverts on chain never takes an EOA channel's claim with it.
        groups: list[list[Claimable]] = []
        for kind in (False, True):
            same = [c for c in batch if c.contract == kind]
            groups += [same[at : at + CLAIM_BATCH] for at in range(0, len(same), CLAIM_BATCH)]
        groups += [[c] for c in alone[:LONE_PER_ROUND]]  # the others stay due: the next round
        for group in groups:
            if self._yield_to_withdrawal():
                break
            tx_hash, ids = await self._claim_group(group, tx_hash)
            claimed.extend(ids)
        return tx_hash, claimed

    def _yield_to_withdrawal(self) -> bool:
        """True (and ``cut_short`` set) when a withdrawal claim waits for the lock and this round is not
        one: stop sending."""
        if self._withdrawals_waiting > 0 and not self._first:
            self.cut_short = True
            return True
        return False

    async def _claim_group(self, group: list[Claimable], tx_hash: str | None) -> tuple[str | None, list[str]]:
        """Simulate, leave out what would revert, send the rest. Sending reverts only if the chain moved
        between the simulation and the send, or a contract signer answers the vault otherwise than the
        simulation: then an EOA group is split again once, and whatever still fails is scheduled for a
        retry; a contract group is sent again channel by channel, and a contract-signed channel whose lone
        claim reverts when mined is refused for good."""
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
            for at, part in enumerate(sendable):
                if self._yield_to_withdrawal():
                    for rest in sendable[at:]:
                        if len(rest) == 1 and rest[0].contract:  # split from a contract batch: alone next
                            self._defer(rest[0])
                    return tx_hash, claimed
                assert self._fees is not None  # the round's, held to the ceiling: never web3's own price
                try:
                    result = await self.vault.claim_batch(
                        self.sender,  # type: ignore[arg-type]
                        [c.item for c in part],
                        fees=self._fees.params(),
                    )
                except (*RevertError, TransactionFailed) as exc:
                    mined = isinstance(exc, TransactionFailed)
                    if mined and part[0].contract:
                        if len(part) == 1:
                            self._reverted_on_chain(part[0])
                        elif attempt == 0:
                            pending.extend([c] for c in part)
                        else:
                            for c in part:
                                self._defer(c)
                    elif attempt == 0:
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
                log.info("claimed %d channel(s) in %s", len(part), public_hex(tx_hash))
            if not pending:
                break
        return tx_hash, claimed

    def _defer(self, c: Claimable) -> None:
        """Not sent in this round: tried alone at the next one."""
        retry = self.retries.get(c.channel_id)
        self.retries[c.channel_id] = _Retry(retry.attempts if retry else 0, self.monotonic(), "deferred")

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
        params: dict[str, Any] = {"from": self._from}
        if self._fees is not None:  # at the price it will be sent with (tx.gasprice is 0 without one)
            params.update(self._fees.params(), gas=self._call_gas)
        try:
            await call.call(params)
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
                public_hex(c.channel_id),
                c.channel.payer,
                c.cumulative,
            )
            self.on_refused(c.channel_id)
        log.warning(
            "channel %s: its claim would revert (%s); left out of the batch, tried alone in %.0f s",
            public_hex(c.channel_id),
            reason,
            wait,
        )

    async def retry_due(self) -> list[str]:
        """Claim the channels whose retry is due and the withdrawal claims that failed (node errors)."""
        now = self.monotonic()
        due = {cid for cid, r in self.retries.items() if r.due <= now} | self.urgent
        if not due:
            return []
        urgent = set(self.urgent)
        _, ids = await self.claim_pending(due, withdrawal=bool(urgent))
        self.urgent -= urgent  # claimed, found claimed, or in the retry schedule now
        return ids

    def _mark(self, cid: str, amount: int, tx_hash: str | None) -> None:
        with self.store.tx() as db:
            row = db.get(ChannelRow, cid)
            if row is not None and int(row.claimed_cumulative) < amount:
                row.claimed_cumulative = str(amount)
            if tx_hash is not None:
                db.add(
                    ClaimRow(tx_hash=tx_hash, channel_id=cid, cumulative=str(amount), at=self.wall_clock())
                )

    async def run(
        self, claim_interval: float, poll_interval: float, contract_interval: float | None = None
    ) -> None:
        """Background loops (cancel to stop): the watch in a task of its own, so it never waits behind a
        claim round (its claims go first: ``claim_pending(withdrawal=True)``); retries, the contract-signed
        channels' schedule (``contract_interval``) and the scheduled claim, each on its own."""
        watch = asyncio.create_task(self._watch(poll_interval))
        try:
            await self._claims(claim_interval, poll_interval, contract_interval or claim_interval)
        finally:
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch

    async def _claims(self, claim_interval: float, poll_interval: float, contract_interval: float) -> None:
        last_claim = last_contract = time.monotonic()
        first = True
        while True:
            if not first:
                await asyncio.sleep(min(poll_interval, claim_interval, contract_interval))
            first = False
            cut_short, self.cut_short = self.cut_short, False
            steps: list[tuple[str, Callable[[], Any]]] = [("retrying claims", self.retry_due)]
            if cut_short or time.monotonic() - last_contract >= contract_interval:
                last_contract = time.monotonic()
                steps.append(("contract-signed claim", self.claim_contract_signed))
            if cut_short or time.monotonic() - last_claim >= claim_interval:
                last_claim = time.monotonic()
                steps.append(("scheduled claim", self.claim_pending))
            for what, step in steps:
                await self._step(what, step)

    @staticmethod
    async def _step(what: str, step: Callable[[], Any]) -> None:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except FeeAboveCeiling as exc:
            log.warning("claimer, %s: not sent: %s Tried again at the next round.", what, exc)
        except Exception as exc:
            log.warning("claimer, %s: %r", what, exc)
