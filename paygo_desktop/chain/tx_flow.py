"""A transaction flow: one or more transactions (an approval, then a deposit), each shown, sent, watched.

The Qt-free state machine behind the transaction dialog (``gui/widgets/transaction_flow.py``); a headless
caller can drive it the same way. For each step, in order:

    quoting  → ``prepare()`` estimates gas and fees (a revert, a shortfall or a dead RPC → failed)
    review   → the user sees what will happen and what it may cost, and agrees
    sending  → ``send(sign)`` signs (the wallet must be unlocked) and broadcasts through the manager
    pending  → ``poll()`` until it is in a block: ``mined`` while confirmations are counted
    done     → the last step confirmed; otherwise the next step starts at ``quoting``

``speed_up(sign)`` and ``cancel(sign)`` work while a step is pending; the flow then follows whichever
transaction took the nonce. It ends ``cancelled`` if the cancel won, ``failed`` if the step reverted in a
block or the node dropped it. Nothing is ever sent twice: the manager stores each transaction before
broadcasting it, and ``resume(record)`` picks up one left pending by an earlier run. Before the first
step, the account's earlier transactions are healed (``TransactionManager.heal``): one stored but never
sent goes out again, and a nonce gap the new transaction would wait behind is filled at ``send`` (the
review says so). The store's work and the signing run off the event loop (``chain.transactions``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from eth_utils import to_checksum_address

from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.chain.transactions import (
    FeeQuote,
    RpcUnavailable,
    Signer,
    TransactionError,
    TransactionManager,
    TxRequest,
)
from paygo_desktop.errors import UserFacingError
from paygo_desktop.store.transactions import TransactionRecord

PHASES = ("quoting", "review", "sending", "pending", "mined", "done", "failed", "cancelled")
FINAL_PHASES = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class FlowState:
    phase: str
    step: int  # 0-based index of the current step
    steps: int
    request: TxRequest | None
    quote: FeeQuote | None = None
    record: TransactionRecord | None = None
    confirmations: int = 0
    required_confirmations: int = 1
    message: str = ""
    explorer_url: str | None = None
    records: tuple[TransactionRecord, ...] = ()  # every step's final transaction so far

    @property
    def is_final(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def can_replace(self) -> bool:
        """Speed-up and cancel make sense only while the transaction is not in a block."""
        return self.phase == "pending" and self.record is not None


class TxFlow:
    def __init__(
        self,
        manager: TransactionManager,
        sender: str,
        requests: Sequence[TxRequest],
        *,
        explorer: Callable[[str], str | None] = lambda _h: None,
        nonce: int | None = None,
    ) -> None:
        if not requests:
            raise ValueError("a flow needs at least one transaction")
        self.manager = manager
        self.sender = to_checksum_address(sender)
        self.requests = list(requests)
        self.explorer = explorer
        self.nonce = nonce  # only for filling a nonce gap: the one step goes to this nonce
        self._healed = False
        self._gaps: list[int] = []  # nonce gaps to fill before the first step is sent
        self.state = FlowState(
            "quoting",
            0,
            len(self.requests),
            self.requests[0],
            required_confirmations=manager.confirmations,
        )

    @classmethod
    def resume(
        cls,
        manager: TransactionManager,
        record: TransactionRecord,
        *,
        explorer: Callable[[str], str | None] = lambda _h: None,
    ) -> TxFlow:
        """Watch a transaction sent earlier (found open in the store at start-up)."""
        request = TxRequest(
            to=record.to_address, value=record.value, kind=record.kind, description=record.description
        )
        flow = cls(manager, record.sender, [request], explorer=explorer)
        flow.state = replace(
            flow.state, phase="pending", record=record, explorer_url=explorer(record.tx_hash)
        )
        return flow

    # -- steps -----------------------------------------------------------------------------------------
    def _set(self, **changes: object) -> FlowState:
        self.state = replace(self.state, **changes)  # type: ignore[arg-type]
        return self.state

    def _fail(self, error: BaseException) -> FlowState:
        message = str(error) if isinstance(error, UserFacingError) else "Something went wrong; see the log."
        return self._set(phase="failed", message=message)

    async def prepare(self) -> FlowState:
        """Estimate the current step's gas and fees (EIP-1559)."""
        request = self.state.request
        assert request is not None and self.state.phase in ("quoting", "review", "failed")
        self._set(phase="quoting", message="", quote=None)
        notes: list[str] = []
        try:
            if not self._healed and self.nonce is None:
                healed = await self.manager.heal(self.sender)
                self._healed = True
                self._gaps = list(healed.gaps)
                notes = healed.describe()
                notes += [
                    f"Nonce {gap} is missing, so this transaction would wait behind it for ever: sending "
                    "fills it first with an empty transfer to yourself (a small network fee)."
                    for gap in self._gaps
                ]
            quote = await self.manager.quote(self.sender, request)
        except TransactionError as exc:
            return self._fail(exc)
        return self._set(phase="review", quote=quote, message=" ".join(notes))

    async def send(self, sign: Signer) -> FlowState:
        request, quote = self.state.request, self.state.quote
        if self.state.phase != "review" or request is None or quote is None:
            raise RuntimeError("send() needs a reviewed quote")
        self._set(phase="sending", message="")
        try:
            while self._gaps:
                await self.manager.fill_gap(self.sender, self._gaps[0], sign)
                self._gaps.pop(0)
        except TransactionError as exc:
            return self._fail(exc)
        except UserFacingError as exc:
            return self._set(phase="review", message=str(exc))
        before = {r.tx_hash for r in await self.manager.recent(50)}
        try:
            record = await self.manager.send(self.sender, request, quote, sign, nonce=self.nonce)
        except RpcUnavailable as exc:
            # It may or may not have reached the node; it is stored, so the flow watches it either way.
            stored = await self._stored_since(before)
            if stored is None:
                return self._fail(exc)
            return self._set(
                phase="pending",
                record=stored,
                explorer_url=self.explorer(stored.tx_hash),
                message=f"{exc} The transaction is kept and will be sent again when the network answers.",
            )
        except TransactionError as exc:
            return self._fail(exc)
        except UserFacingError as exc:  # signing refused (the wallet locked meanwhile): nothing was stored
            return self._set(phase="review", message=str(exc))
        return self._set(phase="pending", record=record, explorer_url=self.explorer(record.tx_hash))

    async def _stored_since(self, before: set[str]) -> TransactionRecord | None:
        """The transaction ``send`` stored before its broadcast failed, if it got that far."""
        for record in await self.manager.recent(50):
            if record.tx_hash not in before and record.sender == self.sender and record.is_open:
                return record
        return None

    async def poll(self) -> FlowState:
        """Bring the current transaction up to date; move to the next step when it is confirmed."""
        record = self.state.record
        if record is None or self.state.phase not in ("pending", "mined"):
            return self.state
        try:
            record = await self.manager.refresh(record)
            if record.status == "replaced":
                winner = await self._winner(record)
                if winner is None:
                    return self._set(
                        phase="failed",
                        record=record,
                        message="Another transaction from this account used the same nonce; this one "
                        "was not sent. Nothing was paid.",
                    )
                record = await self.manager.refresh(winner)
            count = await self.manager.confirmation_count(record)
        except RpcUnavailable as exc:
            return self._set(message=f"{exc} Still watching the transaction.")
        except TransactionError as exc:
            return self._set(message=str(exc))
        except Exception as exc:
            return self._set(
                message=f"The network did not answer ({short_rpc_message(exc)}). "
                "Still watching the transaction."
            )
        self._set(record=record, explorer_url=self.explorer(record.tx_hash), message="")
        if record.status == "pending":
            return self._set(phase="pending", confirmations=0)
        if record.status in ("mined", "confirmed"):
            if record.status == "mined":
                return self._set(phase="mined", confirmations=count)
            return self._finish_step(record, count)
        if record.status == "failed":
            return self._set(phase="failed", message=record.error or "The transaction reverted.")
        return self._set(phase="failed", message=record.error or "The node dropped the transaction.")

    async def _winner(self, record: TransactionRecord) -> TransactionRecord | None:
        """The transaction that took ``record``'s nonce, if this app sent it."""
        siblings = await self.manager.with_nonce(record.sender, record.nonce)
        for other in reversed(siblings):
            if other.tx_hash != record.tx_hash and other.status != "replaced":
                return other
        return None

    def _finish_step(self, record: TransactionRecord, confirmations: int) -> FlowState:
        records = (*self.state.records, record)
        if record.kind == "cancel" and self.state.request is not None and self.state.request.kind != "cancel":
            return self._set(
                phase="cancelled",
                confirmations=confirmations,
                records=records,
                message="Cancelled: the nonce went to an empty transfer to yourself. Only its fee was paid.",
            )
        next_step = self.state.step + 1
        if next_step >= len(self.requests):
            return self._set(phase="done", confirmations=confirmations, records=records)
        self.nonce = None
        return self._set(
            phase="quoting",
            step=next_step,
            request=self.requests[next_step],
            quote=None,
            record=None,
            confirmations=0,
            explorer_url=None,
            records=records,
        )

    async def speed_up(self, sign: Signer) -> FlowState:
        return await self._replace(sign, cancel=False)

    async def cancel(self, sign: Signer) -> FlowState:
        return await self._replace(sign, cancel=True)

    async def _replace(self, sign: Signer, *, cancel: bool) -> FlowState:
        record = self.state.record
        if record is None or not self.state.can_replace:
            raise RuntimeError("nothing pending to replace")
        try:
            if cancel:
                replacement = await self.manager.cancel(record, sign)
            else:
                replacement = await self.manager.speed_up(record, sign)
        except TransactionError as exc:
            return self._set(message=str(exc))
        what = "A cancel was sent" if cancel else "Sent again with a higher fee"
        return self._set(
            record=replacement,
            explorer_url=self.explorer(replacement.tx_hash),
            message=f"{what}; waiting for whichever the network takes.",
        )

    def abandon_remaining(self) -> None:
        """Stop before the next step (the user closed the dialog between steps)."""
        if self.state.phase in ("quoting", "review") and self.state.step > 0:
            self._set(phase="cancelled", message="Stopped before the remaining steps; nothing more was sent.")
