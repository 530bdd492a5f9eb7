"""What every way to pay has in common: one session's payer opens it at the provider, runs its loop, and
ends it through the one epilogue.

A payer is made by its ``prepare`` (the checks, any reads and the deposit; nothing is written yet), then
``record`` writes the session's row and its live view, ``open`` sends the start, ``run`` pays until an
``Ending``, ``finish`` stops it at the provider. However a session ends — stopped, failed at the start, or
left with the provider — ``conclude`` settles the books, closes the row, makes the live view final, drops
the key, reports the event and returns the summary.
"""

from __future__ import annotations

import abc
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from paygo_desktop.changes import NOTHING, Changes
from paygo_desktop.errors import describe_error
from paygo_desktop.metering.meter import Meter, short_duration
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.plan import SessionError
from paygo_desktop.sessions.reports import SessionSummary
from paygo_desktop.sessions.runtime import NS_PER_SECOND, Runtime
from paygo_desktop.sessions.status import EventKind, SessionStatus
from paygo_desktop.sessions.terms import SessionTerms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """Why a session's loop ended: ``failed`` when it was not the user's or the cap's doing."""

    reason: str
    failed: bool = False
    provider_gone: bool = False  # escrow: the provider died or stopped confirming payments
    exhausted: bool = False  # zcash: the permission ran out (the escrow channel may take over)


@dataclass(frozen=True)
class Outcome:
    """How a session ended, for the one epilogue."""

    status: SessionStatus  # the live session's end: stopped, failed or receipt_invalid
    reason: str  # why it stopped: the row's and the card's
    message: str  # what the event and the summary say
    seconds: int = 0
    metered: int = 0
    cost: int | None = None  # the spending records settle to it; None: they stay as they are
    receipt: m.Receipt | zm.ZcashSession | None = None
    receipt_ok: bool = False  # the summary's verdict on the receipt
    paid_ahead_credit: int = 0
    interrupted: bool = False  # the provider may hold it: the row waits for recovery, not ended
    announce: bool = True  # report the end as an event
    columns: Mapping[str, Any] = field(default_factory=dict)  # more of the row (a payer's own figures)


class Payer(abc.ABC):
    """One session's payment. Subclasses: ``EscrowPayer``, ``ZcashPayer``."""

    checks_receipts: ClassVar[bool] = False  # the row's receipt_ok is this payer's verdict on it
    changes: ClassVar[Changes] = NOTHING  # what its events change beyond their kind's

    def __init__(self, rt: Runtime, cap_reason: str) -> None:
        self.rt = rt
        self.cap_reason = cap_reason
        self.live: LiveSession | None = None  # set by record()
        self.start_sent = False  # the start request may have reached the provider
        self.summary: SessionSummary | None = None  # set by conclude()

    # -- the session's life ----------------------------------------------------------------------------
    @abc.abstractmethod
    def session_terms(self) -> SessionTerms:
        """The terms ``prepare`` decided."""

    async def record(self) -> LiveSession:
        """Write the session's row (before anything reaches the provider) and its live view."""
        terms = self.session_terms()
        local_id = uuid.uuid4().hex
        await self.rt.db(self.rt.history.create, local_id, terms, self.rt.now())
        self.live = LiveSession(local_id, terms, self.new_meter(terms))
        return self.live

    def new_meter(self, terms: SessionTerms) -> Meter:
        return Meter(terms.price, terms.cap, terms.tick_seconds, clock=self.rt.clock)

    @property
    def session(self) -> LiveSession:
        assert self.live is not None, "record() first"
        return self.live

    @abc.abstractmethod
    async def open(self) -> None:
        """Start the session at the provider; it runs when this returns. A refused start concludes the
        session and raises ``SessionError``."""

    @abc.abstractmethod
    async def run(self) -> Ending:
        """Pay as the meter runs, until the cap, the user, the funds or the provider end it."""

    @abc.abstractmethod
    async def finish(self, ending: Ending) -> SessionSummary:
        """Stop the session at the provider and conclude it."""

    async def follow_chain(self, every: float) -> None:  # noqa: B027 - most payers follow nothing
        """A background task while the session runs (escrow: the provider's claims on chain)."""

    def release_key(self) -> None:  # noqa: B027 - a payer without a key keeps nothing
        """The key is not kept past the session."""

    # -- shared by both payers -------------------------------------------------------------------------
    def emit(self, kind: EventKind, message: str) -> None:
        self.rt.emit(kind, self.session.local_id, message, self.changes)

    def warn_if_low(self) -> None:
        """Under 20% of the cap left: one ``low_funds`` event."""
        live, meter = self.session, self.session.meter
        if live.low_funds_warned or not meter.is_low():
            return
        live.low_funds_warned = True
        self.emit(
            EventKind.LOW_FUNDS,
            f"Less than 20% of this session's funds left: {live.terms.amount(meter.remaining())}, about "
            f"{short_duration(meter.seconds_left())} at this rate.",
        )

    def elapsed_seconds(self) -> int:
        return self.session.meter.elapsed_ns() // NS_PER_SECOND

    async def conclude(self, outcome: Outcome) -> SessionSummary:
        """The one end of every session: the books settled to its cost, the row closed, the live view
        final, the key dropped, the event reported, the summary returned (and kept)."""
        live, rt = self.session, self.rt
        live.meter.stop()
        if outcome.cost is not None:
            await rt.db(rt.history.settle_spending, live.local_id, outcome.cost)
        row: dict[str, Any] = {
            "status": SessionStatus.INTERRUPTED if outcome.interrupted else outcome.status,
            "stop_reason": outcome.reason,
            "seconds": outcome.seconds,
            "receipt": None if outcome.receipt is None else outcome.receipt.model_dump_json(by_alias=True),
            "receipt_ok": outcome.receipt_ok if self.checks_receipts and outcome.receipt else None,
            "paid_ahead_credit": outcome.paid_ahead_credit,
            **outcome.columns,
        }
        if outcome.cost is not None:
            row["cost"] = outcome.cost
        if not outcome.interrupted:
            row["ended_at"] = rt.now()
        await rt.db(rt.history.update, live.local_id, **row)
        live.stop_reason, live.status = outcome.reason, outcome.status
        self.release_key()
        if outcome.announce:
            self.emit(EventKind.ending(outcome.status), outcome.message)
        self.summary = SessionSummary(
            local_id=live.local_id,
            seconds=outcome.seconds,
            cost=live.acked if outcome.cost is None else outcome.cost,
            rate=live.terms.price,
            asset=live.terms.asset,
            receipt_ok=outcome.receipt_ok,
            receipt=outcome.receipt,
            message=outcome.message,
            metered=outcome.metered,
            status=outcome.status,
            paid_ahead_credit=outcome.paid_ahead_credit,
        )
        return self.summary

    async def fail(self, reason: str, *, interrupted: bool = False, announce: bool = True) -> SessionSummary:
        """A start that did not go through: failed at once (nothing more is owed than what the provider
        confirmed), or ``interrupted`` when the provider may hold it (recovery settles it with it)."""
        acked = self.session.acked
        return await self.conclude(
            Outcome(
                SessionStatus.FAILED,
                reason,
                reason,
                cost=None if interrupted else acked,
                interrupted=interrupted,
                announce=announce,
            )
        )

    async def abandon(self, exc: BaseException) -> SessionSummary:
        """A start that failed after the engine registered it (an error, or the start cancelled)."""
        if self.summary is not None:
            return self.summary
        if not isinstance(exc, SessionError):
            log.error("session %s: the start failed: %r", self.session.local_id, exc)
        why = describe_error(exc) if isinstance(exc, Exception) else "the start was cancelled"
        return await self.fail(f"The session did not start: {why}", interrupted=self.start_sent)

    async def fail_while_stopping(self, exc: BaseException) -> SessionSummary:
        """``finish`` itself went wrong: the session is marked failed."""
        live = self.session
        log.error("session %s stop failed: %r", live.local_id, exc, exc_info=exc)
        message = f"Stopping went wrong ({type(exc).__name__}); the session is marked failed."
        return await self.conclude(
            Outcome(
                SessionStatus.FAILED,
                message,
                message,
                seconds=self.elapsed_seconds(),
                metered=live.meter.cost(),
            )
        )
