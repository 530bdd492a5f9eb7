"""The transaction manager: fees, nonces, sending, watching, speed-up and cancel.

Every transaction is written to the store *before* it is broadcast, with its signed bytes, so that a crash
or a dead RPC never loses one and a restart never sends one twice: ``refresh`` finds it again, and if the
node has forgotten it, sends the very same bytes (same hash) once more.

Statuses: pending → mined → confirmed, or failed (reverted), replaced (its nonce went to another
transaction: a speed-up, a cancel, or one sent elsewhere) or dropped (the node refused it again). A reorg
that un-mines a transaction moves it back to pending.

The store's reads and writes run off the event loop (the GUI's thread), one after the other in the order
they were asked for, through ``self.db`` (a ``store.worker.StoreWorker``, as the sessions' ``rt.db``); the
``Signer`` signs there too (``asyncio.to_thread``). The store's write is awaited before the broadcast starts.

``heal`` runs before anything new is sent, from every place that sends (the transaction dialog, a
session's deposit, recovery): transactions stored but never sent (a kill between the two) go out again,
and nonce gaps under this app's open transactions are filled, so that no later transaction waits behind
them for ever. ``wait_open`` waits for those, with a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

from paygo_desktop.chain.nonce_evidence import nonce_use, receipt_in_block
from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.chain.tx_errors import (  # raised here, and imported from here by the callers
    FeeTooHigh,
    InsufficientFunds,
    Reverted,
    RpcUnavailable,
    TransactionError,
    WrongNetwork,
    explain,
    format_gwei,
    revert_reason,
)
from paygo_desktop.logs import public_hex
from paygo_desktop.networks import CUSTOM_FEE_CEILING, FEE_CEILING_PLACE, Network, confirmations_for
from paygo_desktop.store.transactions import TransactionRecord, TransactionRepository
from paygo_desktop.store.worker import StoreWorker

log = logging.getLogger(__name__)

Signer = Callable[[dict[str, Any]], bytes]
"""Signs a transaction dict and returns the raw signed bytes (the wallet's LocalAccount, for example)."""

# A replacement must raise both fee fields by at least 10% (geth's rule); 12.5% leaves a margin.
REPLACEMENT_BUMP_NUM, REPLACEMENT_BUMP_DEN = 1125, 1000
SELF_TRANSFER_GAS = 21_000
# The most this app ever signs per unit of gas (maxFeePerGas), whatever the node says, is the network's fee
# ceiling (``Network.max_fee_per_gas_ceiling``: its own, or what the user set for it in Settings). The fee
# comes from the node's eth_feeHistory; a node that misreports it (a public RPC the user chose, a broken one)
# would otherwise have a deposit sent headless (`session start --deposit`), a nonce gap filled or a speed-up
# signed at any price the account can pay, none of them reviewed. The app's services build their manager
# with ``TransactionManager.for_network``; a manager built without a network (tests, tools) holds to the
# ceiling a custom network has.
MAX_FEE_PER_GAS_CEILING = CUSTOM_FEE_CEILING


NOT_CHECKED = "The app's transactions are not checked against it; nothing was changed or sent."


@dataclass(frozen=True)
class TxRequest:
    to: str | None
    data: bytes = b""
    value: int = 0
    kind: str = "transfer"
    description: str = ""


@dataclass(frozen=True)
class FeeQuote:
    """What a transaction will cost, estimated before it is sent (EIP-1559)."""

    gas_limit: int
    base_fee_per_gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    @property
    def likely_fee(self) -> int:
        """Wei, at the current base fee plus the tip: what it will most likely cost."""
        return self.gas_limit * min(
            self.max_fee_per_gas, self.base_fee_per_gas + self.max_priority_fee_per_gas
        )

    @property
    def max_fee(self) -> int:
        """Wei, the most it can cost whatever the base fee does."""
        return self.gas_limit * self.max_fee_per_gas


def _bump(value: int) -> int:
    return value * REPLACEMENT_BUMP_NUM // REPLACEMENT_BUMP_DEN + 1


@dataclass(frozen=True)
class Healed:
    """What ``heal`` did: stored transactions sent again, nonce gaps filled (or left, without a signer)."""

    resent: tuple[TransactionRecord, ...] = ()
    filled: tuple[TransactionRecord, ...] = ()
    gaps: tuple[int, ...] = ()
    open: tuple[TransactionRecord, ...] = ()  # the sender's transactions still pending or mined

    def describe(self) -> list[str]:
        never_sent = "Sent again a transaction an earlier run stored but never sent"
        lines = [f"{never_sent}: {r.description} (nonce {r.nonce})." for r in self.resent]
        lines += [
            f"Filled the missing nonce {r.nonce} with an empty transfer to yourself." for r in self.filled
        ]
        return lines


class TransactionManager:
    """Sends and tracks one account's transactions on one chain, through an AsyncWeb3 instance."""

    def __init__(
        self,
        w3: Any,
        chain_id: int,
        repository: TransactionRepository,
        *,
        confirmations: int = 1,
        gas_margin_percent: int = 20,
        priority_fee_floor: int = 1_000_000,  # 0.001 gwei: Base's typical tip
        max_fee_per_gas_ceiling: int = MAX_FEE_PER_GAS_CEILING,
        network: Network | None = None,
    ) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.repository = repository
        self.db = StoreWorker()  # ``await self.db(self.repository.open, chain_id)``: off the loop, in order
        self.confirmations = max(1, confirmations)
        self.gas_margin_percent = gas_margin_percent
        self.priority_fee_floor = priority_fee_floor
        self.max_fee_per_gas_ceiling = max_fee_per_gas_ceiling
        self.network = network  # named in a refusal (where its ceiling is raised)
        self._send_lock = asyncio.Lock()
        self._resent: list[TransactionRecord] = []  # sent again by ``refresh`` (same bytes), in order

    @classmethod
    def for_network(
        cls, w3: Any, network: Network, repository: TransactionRepository, *, confirmations: int | None = None
    ) -> TransactionManager:
        """The manager for ``network`` (as the app uses it: ``AppContext.network``), held to its fee ceiling;
        ``confirmations``: the network's (``confirmations_for``) unless given."""
        return cls(
            w3,
            network.chain_id,
            repository,
            confirmations=confirmations if confirmations is not None else confirmations_for(network),
            max_fee_per_gas_ceiling=network.max_fee_per_gas_ceiling,
            network=network,
        )

    # -- before sending ------------------------------------------------------------------------------
    async def check_network(self, then: str = "Nothing was sent.") -> None:
        try:
            actual = int(await self.w3.eth.chain_id)
        except Exception as exc:
            raise RpcUnavailable(
                f"The network's RPC endpoint did not answer ({short_rpc_message(exc)})."
            ) from None
        if actual != self.chain_id:
            raise WrongNetwork(f"The RPC endpoint is on chain {actual}, not {self.chain_id}. {then}")

    async def quote(self, sender: str, request: TxRequest) -> FeeQuote:
        """Estimate gas (turning a revert into its reason) and EIP-1559 fees from eth_feeHistory."""
        from web3.exceptions import ContractCustomError, ContractLogicError

        sender = to_checksum_address(sender)
        tx: dict[str, Any] = {"from": sender, "value": request.value, "data": request.data}
        if request.to:
            tx["to"] = to_checksum_address(request.to)
        try:
            gas = int(await self.w3.eth.estimate_gas(tx))
            history = await self.w3.eth.fee_history(5, "latest", [25, 50])
        except (ContractLogicError, ContractCustomError) as exc:
            raise Reverted(revert_reason(exc)) from None
        except Exception as exc:
            raise explain(exc) from None
        base_fees = [int(x) for x in history["baseFeePerGas"]]
        next_base = base_fees[-1] if base_fees else 0
        tips = sorted(int(r[1]) for r in history.get("reward", []) if r)
        tip = max(self.priority_fee_floor, tips[len(tips) // 2] if tips else 0)
        gas_limit = gas if gas == SELF_TRANSFER_GAS else gas * (100 + self.gas_margin_percent) // 100
        # Room for the base fee to double before the transaction stalls, as wallets commonly allow.
        quote = FeeQuote(
            gas_limit=gas_limit,
            base_fee_per_gas=next_base,
            max_fee_per_gas=2 * next_base + tip,
            max_priority_fee_per_gas=tip,
        )
        self._check_ceiling(quote)
        try:
            balance = int(await self.w3.eth.get_balance(sender))
        except Exception as exc:
            raise explain(exc) from None
        if balance < request.value + quote.max_fee:
            raise InsufficientFunds(
                "The account does not hold enough ETH for this amount plus the network fee "
                f"(needs up to {request.value + quote.max_fee} wei, holds {balance} wei)."
            )
        return quote

    def _check_ceiling(self, quote: FeeQuote) -> None:
        """Refuse a fee per gas above the network's ceiling: nothing is signed at it."""
        asked = max(quote.max_fee_per_gas, quote.max_priority_fee_per_gas)
        if asked > self.max_fee_per_gas_ceiling:
            raise FeeTooHigh(
                f"{self._node()} asks up to {format_gwei(asked)} gwei per unit of gas, above the fee "
                f"ceiling of {format_gwei(self.max_fee_per_gas_ceiling)} gwei {self._set_for()}: its RPC "
                "endpoint may be misreporting fees, or the network is unusually busy. Nothing was sent; try "
                f"again later or use another RPC endpoint. {self._where_to_raise()}".strip()
            )

    def _node(self) -> str:
        return f"The {self.network.name} node" if self.network is not None else "The network's node"

    def _set_for(self) -> str:
        return f"set for {self.network.name}" if self.network is not None else "this app pays"

    def _where_to_raise(self) -> str:
        """Where the user raises the ceiling, when fees on this network really are that high."""
        if self.network is None:
            return ""
        return (
            f"If fees on {self.network.name} really are this high, raise its fee ceiling in "
            f"{FEE_CEILING_PLACE} (or: paygo-desktop network fee-ceiling {self.network.key} GWEI)."
        )

    async def next_nonce(self, sender: str) -> int:
        """The node's pending count, or one past the highest this app has open, whichever is greater."""
        sender = to_checksum_address(sender)
        chain_nonce = int(await self.w3.eth.get_transaction_count(sender, "pending"))
        local = await self.db(self.repository.highest_open_nonce, self.chain_id, sender)
        return max(chain_nonce, (local + 1) if local is not None else 0)

    # -- sending -----------------------------------------------------------------------------------------
    async def send(
        self,
        sender: str,
        request: TxRequest,
        quote: FeeQuote,
        sign: Signer,
        *,
        nonce: int | None = None,
        replaces: str | None = None,
    ) -> TransactionRecord:
        sender = to_checksum_address(sender)
        self._check_ceiling(quote)  # a quote made elsewhere (a speed-up's) is held to it too
        async with self._send_lock:
            await self.check_network()
            if nonce is None:
                nonce = await self.next_nonce(sender)
            tx: dict[str, Any] = {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": nonce,
                "gas": quote.gas_limit,
                "maxFeePerGas": quote.max_fee_per_gas,
                "maxPriorityFeePerGas": quote.max_priority_fee_per_gas,
                "value": request.value,
                "data": request.data,
            }
            if request.to:
                tx["to"] = to_checksum_address(request.to)
            raw = bytes(await asyncio.to_thread(sign, tx))  # signing: off the event loop
            tx_hash = "0x" + keccak(raw).hex()
            record = await self.db(
                self.repository.add,
                TransactionRecord(
                    chain_id=self.chain_id,
                    sender=sender,
                    nonce=nonce,
                    tx_hash=tx_hash,
                    raw_tx="0x" + raw.hex(),
                    kind=request.kind,
                    description=request.description,
                    to_address=tx.get("to"),
                    value=request.value,
                    gas_limit=quote.gas_limit,
                    max_fee_per_gas=quote.max_fee_per_gas,
                    max_priority_fee_per_gas=quote.max_priority_fee_per_gas,
                    replaces=replaces,
                ),
            )
            try:  # only once the store holds it
                await self.w3.eth.send_raw_transaction(raw)
            except Exception as exc:
                error = explain(exc)
                if isinstance(error, RpcUnavailable):
                    # Unknown whether it reached the node: keep it pending; refresh() will find or resend it.
                    log.warning("broadcast of %s uncertain: %s", public_hex(tx_hash), error)
                    raise error from None
                await self.db(self.repository.update, tx_hash, status="dropped", error=str(error))
                raise error from None
            log.info("sent %s %s nonce %d", request.kind, public_hex(tx_hash), nonce)
            return record

    async def speed_up(self, record: TransactionRecord, sign: Signer) -> TransactionRecord:
        """Send the same transaction again with higher fees, on the same nonce."""
        request = TxRequest(
            to=record.to_address,
            data=self._data_of(record),
            value=record.value,
            kind=record.kind,
            description=record.description,
        )
        return await self._replace(record, request, record.gas_limit, sign)

    async def cancel(self, record: TransactionRecord, sign: Signer) -> TransactionRecord:
        """Take the nonce back with an empty transfer to oneself at higher fees."""
        request = TxRequest(
            to=record.sender, kind="cancel", description=f"Cancel {record.description}".strip()
        )
        return await self._replace(record, request, SELF_TRANSFER_GAS, sign)

    async def fill_gap(self, sender: str, nonce: int, sign: Signer) -> TransactionRecord:
        """Fill a missing nonce (a gap that holds later transactions back) with an empty self-transfer."""
        request = TxRequest(to=sender, kind="fill-gap", description=f"Fill nonce gap at {nonce}")
        quote = await self.quote(sender, request)
        return await self.send(sender, request, quote, sign, nonce=nonce)

    async def _replace(
        self, record: TransactionRecord, request: TxRequest, gas_limit: int, sign: Signer
    ) -> TransactionRecord:
        record = await self.refresh(record)
        if not record.is_open or record.status == "mined":
            raise TransactionError("That transaction is already in a block; it can no longer be replaced.")
        current = await self.quote(record.sender, TxRequest(to=record.sender))
        tip = max(_bump(record.max_priority_fee_per_gas), current.max_priority_fee_per_gas)
        max_fee = max(_bump(record.max_fee_per_gas), current.max_fee_per_gas, tip)
        quote = FeeQuote(gas_limit, current.base_fee_per_gas, max_fee, tip)
        if max_fee > self.max_fee_per_gas_ceiling:
            raise FeeTooHigh(
                f"Replacing it would take {format_gwei(max_fee)} gwei per unit of gas (the node wants each "
                f"replacement at least 10% above the last), above the fee ceiling of "
                f"{format_gwei(self.max_fee_per_gas_ceiling)} gwei {self._set_for()}. Nothing was sent. "
                f"{self._where_to_raise()}".strip()
            )
        return await self.send(
            record.sender, request, quote, sign, nonce=record.nonce, replaces=record.tx_hash
        )

    def _data_of(self, record: TransactionRecord) -> bytes:
        import rlp

        raw = bytes.fromhex(record.raw_tx[2:])
        if raw[:1] != b"\x02":
            raise TransactionError("Only EIP-1559 transactions sent by this app can be sped up.")
        # EIP-1559 payload: [chainId, nonce, tip, maxFee, gas, to, value, data, accessList, v, r, s]
        return bytes(rlp.decode(raw[1:])[7])

    # -- watching ----------------------------------------------------------------------------------------
    async def refresh(self, record: TransactionRecord) -> TransactionRecord:
        """Bring one transaction's status up to date with the chain."""
        from web3.exceptions import TransactionNotFound

        if record.status not in ("pending", "mined"):
            return record

        async def receipt_of(tx_hash: str) -> Any:
            try:
                return await self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None

        try:
            receipt = await receipt_of(record.tx_hash)
            latest = record.nonce
            if receipt is None:
                # Not found: on this chain, or the node is on another one now (a custom network's endpoint
                # repointed), where every transaction is missing; there, one would be sent again (refused)
                # and called dropped, a confirmed one first moved back to pending, all final.
                await self.check_network(NOT_CHECKED)
                latest = int(await self.w3.eth.get_transaction_count(record.sender, "latest"))
                if latest > record.nonce:
                    # The nonce moved on after we looked: it may be this very transaction, mined in between.
                    receipt = await receipt_of(record.tx_hash)
            if receipt is not None:
                return await self._in_block(record, receipt)
            if latest > record.nonce:
                # Its nonce is used, but not by it (a speed-up, a cancel, or a transaction sent elsewhere),
                # or by it and this node has not got its receipt yet: a public RPC's load balancer answers
                # from backends many blocks apart. Replaced is final (the user is told nothing was paid),
                # so only on block-pinned evidence of another transaction on the nonce.
                return await self._nonce_used(record)
            if record.status == "mined":
                log.warning(
                    "transaction %s left the chain (reorg); back to pending", public_hex(record.tx_hash)
                )
                record = await self.db(self.repository.update, record.tx_hash, status="pending")
            try:
                await self.w3.eth.get_transaction(record.tx_hash)
                return record
            except TransactionNotFound:
                if await self._superseded(record):
                    # the node let a speed-up or cancel of it take its place: that one's confirmation marks
                    # this one replaced; sending this one again would only be refused as underpriced
                    return record
                return await self._rebroadcast(record)
        except TransactionError:
            raise
        except Exception as exc:
            raise explain(exc) from None

    async def _in_block(self, record: TransactionRecord, receipt: Any) -> TransactionRecord:
        """``record`` as its receipt says: failed (reverted), or mined/confirmed by its depth."""
        head = int(await self.w3.eth.block_number)
        block = int(receipt["blockNumber"])
        gas_used = int(receipt["gasUsed"])
        if int(receipt["status"]) != 1:
            updated = await self.db(
                self.repository.update,
                record.tx_hash,
                status="failed",
                block_number=block,
                gas_used=gas_used,
                error="The transaction was mined but reverted; only its gas was spent.",
            )
        else:
            done = head - block + 1 >= self.confirmations
            updated = await self.db(
                self.repository.update,
                record.tx_hash,
                status="confirmed" if done else "mined",
                block_number=block,
                gas_used=gas_used,
            )
        await self._mark_siblings_replaced(updated)
        return updated

    async def _rebroadcast(self, record: TransactionRecord) -> TransactionRecord:
        try:
            await self.w3.eth.send_raw_transaction(bytes.fromhex(record.raw_tx[2:]))
            log.info("rebroadcast %s", public_hex(record.tx_hash))
            self._resent.append(record)
            return record
        except Exception as exc:
            error = explain(exc)
            if isinstance(error, RpcUnavailable):
                raise error from None
            if "already known" in str(exc).lower():
                return record
            if "nonce too low" in str(exc).lower():
                # its nonce was used meanwhile, by another transaction or by this one mined since it was
                # looked for: the next refresh tells which, once that block is deep enough
                return record
            return await self.db(self.repository.update, record.tx_hash, status="dropped", error=str(error))

    async def _nonce_used(self, record: TransactionRecord) -> TransactionRecord:
        """``record``'s nonce is used: by which transaction, as the block (``confirmations`` deep or
        deeper) that used it says (nonce_evidence); without that answer it stays pending, not sent again."""
        deep = max(0, int(await self.w3.eth.block_number) - self.confirmations + 1)
        use = await nonce_use(self.w3, record.sender, record.nonce, deep)
        if use is None:
            return record
        if use.tx_hash != record.tx_hash.lower():
            log.warning(
                "transaction %s replaced by %s (block %d)",
                public_hex(record.tx_hash),
                public_hex(use.tx_hash),
                use.block,
            )
            error = f"Another transaction used the same nonce: {use.tx_hash} (block {use.block})."
            return await self.db(self.repository.update, record.tx_hash, status="replaced", error=error)
        receipt = await receipt_in_block(self.w3, use.block, record.tx_hash)
        log.info(
            "transaction %s is in block %d (receipt %s)",
            public_hex(record.tx_hash),
            use.block,
            receipt is not None,
        )
        return record if receipt is None else await self._in_block(record, receipt)

    async def with_nonce(self, sender: str, nonce: int) -> list[TransactionRecord]:
        """This app's transactions of ``sender`` on ``nonce``, oldest first (a speed-up, a cancel)."""
        return await self.db(self.repository.with_nonce, self.chain_id, sender, nonce)

    async def _superseded(self, record: TransactionRecord) -> bool:
        """Another open transaction of ours holds the same nonce (a speed-up or a cancel of this one)."""
        return any(
            other.tx_hash != record.tx_hash and other.is_open
            for other in await self.with_nonce(record.sender, record.nonce)
        )

    async def _mark_siblings_replaced(self, winner: TransactionRecord) -> None:
        for other in await self.with_nonce(winner.sender, winner.nonce):
            if other.tx_hash != winner.tx_hash and other.is_open:
                await self.db(
                    self.repository.update,
                    other.tx_hash,
                    status="replaced",
                    error=f"Replaced by {winner.tx_hash}.",
                )

    async def confirmation_count(self, record: TransactionRecord) -> int:
        """How many blocks hold this transaction (its own included); 0 while it is not in a block."""
        if record.block_number is None or record.status not in ("mined", "confirmed", "failed"):
            return 0
        head = int(await self.w3.eth.block_number)
        return max(0, head - record.block_number + 1)

    async def recheck_confirmed(self, sender: str, depth: int = 64) -> list[TransactionRecord]:
        """Confirmed transactions of ``sender`` within ``depth`` blocks of the head whose block a reorg
        replaced: back to pending (then refreshed, which finds them again or rebroadcasts them)."""
        from web3.exceptions import TransactionNotFound

        sender = to_checksum_address(sender)
        await self.check_network(NOT_CHECKED)
        try:
            head = int(await self.w3.eth.block_number)
            moved: list[TransactionRecord] = []
            for record in await self.recent(200):
                if (
                    record.chain_id != self.chain_id
                    or record.sender != sender
                    or record.status != "confirmed"
                    or record.block_number is None
                    or record.block_number < head - depth
                ):
                    continue
                try:
                    receipt = await self.w3.eth.get_transaction_receipt(record.tx_hash)
                except TransactionNotFound:
                    receipt = None
                if receipt is None or int(receipt["blockNumber"]) != record.block_number:
                    log.warning(
                        "transaction %s left block %s (reorg); back to pending",
                        public_hex(record.tx_hash),
                        record.block_number,
                    )
                    pending = await self.db(self.repository.update, record.tx_hash, status="pending")
                    moved.append(await self.refresh(pending))
            return moved
        except TransactionError:
            raise
        except Exception as exc:
            raise explain(exc) from None

    async def heal(self, sender: str, sign: Signer | None = None) -> Healed:
        """Before sending anything new from ``sender``: confirmed transactions a reorg took out go back to
        pending, every open one is brought up to date (one the node does not know, stored but never sent,
        goes out again with the very same bytes), and with ``sign`` each nonce gap under this app's open
        transactions is filled with an empty transfer to oneself (without it, the gaps are reported)."""
        sender = to_checksum_address(sender)
        before = len(self._resent)
        await self.recheck_confirmed(sender)
        for record in await self._open(sender):
            await self.refresh(record)
        resent = tuple(self._resent[before:])
        gaps = await self.nonce_gaps(sender)
        filled: list[TransactionRecord] = []
        if sign is not None:
            for nonce in gaps:
                filled.append(await self.fill_gap(sender, nonce, sign))
            gaps = []
        still = tuple(await self._open(sender))
        healed = Healed(resent=resent, filled=tuple(filled), gaps=tuple(gaps), open=still)
        for line in healed.describe():
            log.info("%s", line)
        return healed

    async def wait_open(
        self, sender: str, *, timeout: float = 120.0, poll: float = 0.2
    ) -> list[TransactionRecord]:
        """Wait until none of ``sender``'s transactions is pending (a later one would queue behind them);
        returns those still pending when ``timeout`` seconds have passed (empty: all in a block or over)."""
        sender = to_checksum_address(sender)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            still = []
            for record in await self._open(sender):
                record = await self.refresh(record)
                if record.status == "pending":
                    still.append(record)
            if not still or asyncio.get_running_loop().time() > deadline:
                return still
            await asyncio.sleep(poll)

    async def refresh_all(self) -> list[TransactionRecord]:
        """Refresh every open transaction of this chain (at start-up, and on a timer)."""
        await self.check_network(NOT_CHECKED)
        return [await self.refresh(r) for r in await self._open()]

    async def wait(
        self, record: TransactionRecord, *, timeout: float = 60.0, poll: float = 0.2
    ) -> TransactionRecord:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            record = await self.refresh(record)
            if record.status not in ("pending", "mined"):
                return record
            if asyncio.get_running_loop().time() > deadline:
                return record
            await asyncio.sleep(poll)

    async def open_of(self, sender: str) -> list[TransactionRecord]:
        """``sender``'s open transactions (pending or mined) on this chain, as stored, oldest nonce first."""
        return await self._open(to_checksum_address(sender))

    async def stored(self, tx_hash: str) -> TransactionRecord | None:
        """One transaction as the store holds it now."""
        return await self.db(self.repository.get, tx_hash)

    async def _open(self, sender: str | None = None) -> list[TransactionRecord]:
        """This chain's open transactions (of ``sender`` only, if given), oldest nonce first."""
        records = await self.db(self.repository.open, self.chain_id)
        return [r for r in records if sender is None or r.sender == sender]

    async def recent(self, limit: int = 100) -> list[TransactionRecord]:
        """The store's latest transactions (every chain's), newest first."""
        return await self.db(self.repository.recent, limit)

    async def nonce_gaps(self, sender: str) -> list[int]:
        """Nonces missing below this app's open transactions: they hold those transactions back."""
        sender = to_checksum_address(sender)
        latest = int(await self.w3.eth.get_transaction_count(sender, "latest"))
        open_nonces = {r.nonce for r in await self._open(sender)}
        if not open_nonces:
            return []
        pending_on_node = int(await self.w3.eth.get_transaction_count(sender, "pending"))
        known = open_nonces | set(range(latest, pending_on_node))
        return [n for n in range(latest, max(open_nonces)) if n not in known]
