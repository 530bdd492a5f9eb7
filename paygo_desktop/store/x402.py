"""x402's rows: the user's per-site spending policies and the payments this app signed (``x402.payer``).

Amounts are integer base units (stored as decimal strings: a uint256 fits no SQL integer). A payment is
written ``pending`` before its signed authorization leaves the app, then marked ``settled`` or ``failed``
(``finish``; a settled one together with its booking in Activity, in one transaction).
``amount`` is the most the authorization lets move (``exact``: the price; ``upto``: the signed maximum);
``settled_amount`` what the settlement moved, once known. Two parts of the app may settle the same payment
at once (the lapsed check when the app opens, and the payer before a payment to that site, maybe in
another process): ``finish(only_from=...)`` marks it only if nobody marked it meanwhile, so it is booked
once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update

from paygo_desktop.store.database import Store
from paygo_desktop.store.models import X402PaymentRow, X402PolicyRow, utcnow

PENDING, SETTLED, FAILED = "pending", "settled", "failed"
MAX_QUOTE = 16 * 1024  # characters of the quoted requirements' JSON kept with a payment


@dataclass(frozen=True)
class SitePolicy:
    """Limits for one origin, in base units of ``asset`` (None: no such limit). ``allowed`` False blocks the
    site; ``ask_first`` asks the user before each payment."""

    origin: str
    chain_id: int
    asset: str
    asset_symbol: str
    decimals: int
    allowed: bool = True
    ask_first: bool = False
    max_per_request: int | None = None
    max_per_day: int | None = None
    max_total: int | None = None


@dataclass(frozen=True)
class X402Payment:
    id: int
    created_at: datetime
    origin: str
    url: str
    method: str
    scheme: str
    network: str
    payer: str
    pay_to: str
    asset: str
    asset_symbol: str
    decimals: int
    amount: int
    nonce: str
    valid_before: int
    status: str
    tx_hash: str | None
    error: str | None
    settled_at: datetime | None
    # what the proof file needs (migration 0011; None for a payment recorded before it): the authorization's
    # validAfter, the payer's EIP-3009 signature, the requirements the server quoted (JSON, ``MAX_QUOTE``)
    valid_after: int | None = None
    signature: str | None = None
    requirements: str | None = None
    settled_amount: int | None = None  # base units moved (``upto``: at most ``amount``); None: not known
    # the chain showed its authorization unspent after the chain's own time passed ``valid_before``
    # (``x402.lapsed``, migration 0014): it can never move money
    never_moves: bool = False

    @property
    def unused(self) -> bool:
        """Settled at nothing without a transaction (``upto``): no transaction spent its Permit2 nonce, so
        the signature could still move up to ``amount`` until ``valid_before``."""
        return self.status == SETTLED and self.settled_amount == 0 and self.tx_hash is None

    @property
    def moved(self) -> int:
        """What the settlement moved, as far as known: ``settled_amount``, else ``amount``."""
        return self.amount if self.settled_amount is None else self.settled_amount

    @property
    def counted(self) -> int:
        """What this payment counts against the limits: what it settled, else the most it may still move."""
        if self.status == SETTLED and not self.unused:
            return self.moved
        return self.amount

    @property
    def on_servers_word(self) -> bool:
        """Not settled by what the app saw on chain but by what the server said: pending, ``failed`` (the
        server kept the signed authorization and could still submit it), or settled ``unused``."""
        return not self.never_moves and (self.status != SETTLED or self.unused)

    def may_still_move(self, now: int) -> bool:
        """Whether this authorization counts against the limits: settled, or still valid (a server that said
        "failed", or settled an upto payment at nothing, still holds a signed authorization it could submit
        until ``valid_before``). Past that, ``x402.lapsed`` asks the chain: spent, it is marked settled;
        unspent for good, ``never_moves``."""
        if self.never_moves:
            return False
        return (self.status == SETTLED and not self.unused) or self.valid_before > now


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _bounded(text: str | None) -> str | None:
    return None if text is None or len(text) > MAX_QUOTE else text


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite keeps the wall time: it was written as UTC


class X402Store:
    def __init__(self, store: Store) -> None:
        self._store = store

    # ---- policies

    def policy(self, origin: str) -> SitePolicy | None:
        with self._store.session() as s:
            row = s.scalar(select(X402PolicyRow).where(X402PolicyRow.origin == origin))
            return None if row is None else _policy(row)

    def policies(self) -> list[SitePolicy]:
        with self._store.session() as s:
            return [_policy(r) for r in s.scalars(select(X402PolicyRow).order_by(X402PolicyRow.origin))]

    def save_policy(self, policy: SitePolicy) -> None:
        with self._store.session() as s:
            row = s.scalar(select(X402PolicyRow).where(X402PolicyRow.origin == policy.origin))
            if row is None:
                row = X402PolicyRow(origin=policy.origin)
                s.add(row)
            row.allowed = policy.allowed
            row.ask_first = policy.ask_first
            row.chain_id = policy.chain_id
            row.asset = policy.asset
            row.asset_symbol = policy.asset_symbol
            row.decimals = policy.decimals
            row.max_per_request = _str(policy.max_per_request)
            row.max_per_day = _str(policy.max_per_day)
            row.max_total = _str(policy.max_total)
            row.updated_at = utcnow()

    def remove_policy(self, origin: str) -> bool:
        with self._store.session() as s:
            row = s.scalar(select(X402PolicyRow).where(X402PolicyRow.origin == origin))
            if row is None:
                return False
            s.delete(row)
            return True

    # ---- payments

    def record(self, payment: X402Payment) -> int:
        """Write a payment (``pending``) before its authorization is sent; its id."""
        with self._store.session() as s:
            row = X402PaymentRow(
                created_at=payment.created_at.astimezone(UTC),
                origin=payment.origin,
                url=payment.url[:4000],
                method=payment.method,
                scheme=payment.scheme,
                network=payment.network,
                payer=payment.payer,
                pay_to=payment.pay_to,
                asset=payment.asset,
                asset_symbol=payment.asset_symbol,
                decimals=payment.decimals,
                amount=str(payment.amount),
                nonce=payment.nonce,
                valid_before=payment.valid_before,
                status=PENDING,
                valid_after=_str(payment.valid_after),
                signature=payment.signature,
                requirements=_bounded(payment.requirements),
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def finish(
        self,
        payment_id: int,
        status: str,
        *,
        tx_hash: str | None = None,
        error: str | None = None,
        settled_amount: int | None = None,
        booked: Callable[[X402Payment], list[Any]] | None = None,
        only_from: X402Payment | None = None,
    ) -> bool:
        """Mark ``payment_id`` ``status``. ``booked`` gives the rows that book it (Activity's spending and
        log, from the payment as marked): they are written in the same transaction, so a payment is never
        settled without its booking, nor booked without being settled, whatever stops the app between.
        ``only_from``: the payment as the caller read it; marked only if its outcome is still that one
        (status, transaction, amount settled, never-moves), in the one UPDATE that starts the write, so two
        callers that read it alike mark and book it once. Whether it was marked."""
        settled = status == SETTLED
        query = update(X402PaymentRow).where(X402PaymentRow.id == payment_id)
        if only_from is not None:
            query = query.where(*_outcome_is(only_from))
        values = {
            "status": status,
            "tx_hash": tx_hash,
            "settled_amount": _str(settled_amount) if settled else None,
            "error": None if error is None else error[:2000],
            "settled_at": utcnow() if settled else None,
        }
        with self._store.session() as s:
            marked = s.execute(query.values(**values), execution_options={"synchronize_session": False})
            if not getattr(marked, "rowcount", 0):
                return False
            if booked is not None:
                row = s.get(X402PaymentRow, payment_id)
                assert row is not None
                s.add_all(booked(_payment(row)))
            return True

    def mark_never_moves(self, payment_id: int) -> None:
        """The chain showed ``payment_id``'s authorization unspent past its ``valid_before``: it counts no
        more and is not looked up again. Its status and note stay as they were."""
        with self._store.session() as s:
            row = s.get(X402PaymentRow, payment_id)
            if row is not None:
                row.never_moves = True

    def with_transaction(self, tx_hash: str, besides: int) -> int | None:
        """The id of a payment other than ``besides`` recorded as settled by ``tx_hash`` (any letter case)."""
        query = select(X402PaymentRow.id).where(
            func.lower(X402PaymentRow.tx_hash) == tx_hash.lower(), X402PaymentRow.id != besides
        )
        with self._store.session() as s:
            return s.scalar(query.limit(1))

    def payment(self, payment_id: int) -> X402Payment | None:
        with self._store.session() as s:
            row = s.get(X402PaymentRow, payment_id)
            return None if row is None else _payment(row)

    def payments(self, origin: str | None = None, since: datetime | None = None) -> list[X402Payment]:
        """Payments, newest first (only ``origin``'s, only from ``since`` on, when given)."""
        query = select(X402PaymentRow).order_by(X402PaymentRow.created_at.desc(), X402PaymentRow.id.desc())
        if origin is not None:
            query = query.where(X402PaymentRow.origin == origin)
        if since is not None:
            query = query.where(X402PaymentRow.created_at >= since.astimezone(UTC))
        with self._store.session() as s:
            return [_payment(r) for r in s.scalars(query)]


def _outcome_is(p: X402Payment) -> list[ColumnElement[bool]]:
    """The row's outcome is still ``p``'s: what a compare-and-set of ``finish`` checks."""

    def same(column: Any, value: object) -> ColumnElement[bool]:
        return column.is_(None) if value is None else column == value

    return [
        X402PaymentRow.status == p.status,
        same(X402PaymentRow.tx_hash, p.tx_hash),
        same(X402PaymentRow.settled_amount, _str(p.settled_amount)),
        X402PaymentRow.never_moves == p.never_moves,
    ]


def _policy(r: X402PolicyRow) -> SitePolicy:
    return SitePolicy(
        origin=r.origin,
        chain_id=r.chain_id,
        asset=r.asset,
        asset_symbol=r.asset_symbol,
        decimals=r.decimals,
        allowed=r.allowed,
        ask_first=r.ask_first,
        max_per_request=_int(r.max_per_request),
        max_per_day=_int(r.max_per_day),
        max_total=_int(r.max_total),
    )


def _payment(r: X402PaymentRow) -> X402Payment:
    return X402Payment(
        id=r.id,
        created_at=_utc(r.created_at),
        origin=r.origin,
        url=r.url,
        method=r.method,
        scheme=r.scheme,
        network=r.network,
        payer=r.payer,
        pay_to=r.pay_to,
        asset=r.asset,
        asset_symbol=r.asset_symbol,
        decimals=r.decimals,
        amount=int(r.amount),
        nonce=r.nonce,
        valid_before=r.valid_before,
        status=r.status,
        tx_hash=r.tx_hash,
        error=r.error,
        settled_at=None if r.settled_at is None else _utc(r.settled_at),
        valid_after=_int(r.valid_after),
        signature=r.signature,
        requirements=r.requirements,
        settled_amount=_int(r.settled_amount),
        never_moves=bool(r.never_moves),
    )
