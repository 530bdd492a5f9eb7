"""Zcash spending permissions: the rules the routes call (``provider.zcash_routes``, registered by
``create_app`` when ``[zcash]`` is enabled).

A permission is bought by paying ``amountZat`` to its own receiving address (memo ``paygo:perm:<id>`` as a
second key) and consumed at ``ratePerHourZat`` by sessions (``POST /api/v1/sessions``). The charge is
cumulative on the permission's total used seconds, ``rate * usedSeconds // 3600`` (never rounded per
session or interval), through ``paygo_desktop.zcash.permissions``. A live session ends by itself when the
permission runs out (balance or expiry); the provider settles it at that instant. Time is the provider's
injected clock.

The create response carries a ``token`` (shown once, stored hashed): starting a session, ending one and
revoking need ``Authorization: Bearer <token>``, since permission ids are visible through the wallet lookup
route and session ids are not secrets either. The public answers (GET, verify, the wallet lookup, GET of a
session) leave out ``liveSessionId``; only the token holder sees it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Collection
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import ProviderConfig
from paygo_desktop.provider.core import Clock
from paygo_desktop.provider.service_upstreams import gateway_service
from paygo_desktop.provider.store import ServiceRow, Store
from paygo_desktop.provider.zcash_credit import credit
from paygo_desktop.provider.zcash_settlement import end_session, permission_of, settle, store_permission
from paygo_desktop.provider.zcash_store import ZcashPermissionRow, ZcashSessionRow
from paygo_desktop.provider.zcash_views import permission_view, session_view
from paygo_desktop.provider.zcash_wallet_rpc import PaymentVerifier, ReceivedNote, WalletError
from paygo_desktop.zcash.addresses import InvalidAddress, Network, ZcashAddress, parse_address
from paygo_desktop.zcash.permissions import (
    SECONDS_PER_HOUR,
    PermissionsError,
    PermissionStatus,
    PermissionTerms,
    payment_memo,
)
from paygo_desktop.zcash.zip321 import InvalidPaymentRequest, Payment, build_uri

SESSION_PREFIX = "zs_"  # a Zcash session's id: the gateway asks ZcashPermissions about these
log = logging.getLogger(__name__)

_RATE = TypeAdapter(Annotated[zm.Zatoshi, Field(gt=0)])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ZcashPermissions:
    def __init__(self, config: ProviderConfig, store: Store, clock: Clock, verifier: PaymentVerifier) -> None:
        self.config = config
        self.cfg = config.zcash
        self.network = Network(self.cfg.network)
        self.store = store
        self.clock = clock
        self.verifier = verifier
        self.lock = asyncio.Lock()

    def now(self) -> int:
        return int(self.clock())

    # ------------------------------------------------------------------ validation

    def parse(self, text: str, what: str) -> ZcashAddress:
        try:
            addr = parse_address(text)
        except InvalidAddress as exc:
            raise ApiError(422, "invalid_address", f"{what}: {exc.message}") from None
        same = addr.network is self.network or (
            addr.is_transparent and {addr.network, self.network} <= {Network.TEST, Network.REGTEST}
        )
        if not same:
            raise ApiError(422, "wrong_network", f"{what} is not a {self.network.value}net address")
        return addr

    def sweep(self) -> int:
        """Settle every live session that ran out (background loop). Returns how many ended."""
        now = self.now()
        with self.store.tx() as db:
            due = db.scalars(
                select(ZcashSessionRow.permission_id).where(
                    ZcashSessionRow.status == zm.ZcashSessionStatus.live.value, ZcashSessionRow.ends_at <= now
                )
            ).all()
        for permission_id in due:  # each in the permission's own transaction (its lock)
            with self.store.tx() as db:
                settle(db, self._load(db, permission_id), now)
        return len(due)

    # ------------------------------------------------------------------ views

    def _lock(self, db: Session, permission_id: str) -> None:
        """Serialise this transaction with every other one on the permission, in every worker (a database
        lock: provider.store.Store.lock)."""
        self.store.lock(db, "zcash:" + permission_id)

    def _load(self, db: Session, permission_id: str) -> ZcashPermissionRow:
        self._lock(db, permission_id)
        row = db.get(ZcashPermissionRow, permission_id)
        if row is None:
            raise ApiError(404, "unknown_permission", "no such permission")
        return row

    @staticmethod
    def _holds(row: ZcashPermissionRow, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(row.token_hash, _hash(token))

    @classmethod
    def _check_token(cls, row: ZcashPermissionRow, token: str | None) -> None:
        if not cls._holds(row, token):
            raise ApiError(401, "bad_permission_token", "missing or wrong permission token (Bearer)")

    # ------------------------------------------------------------------ operations

    async def create(self, req: zm.ZcashPermissionRequest) -> zm.ZcashPermission:
        user = self.parse(req.user_wallet_address, "userWalletAddress")
        if req.amount_zat > self.cfg.max_amount_zat:
            raise ApiError(422, "amount_too_large", f"amountZat is limited to {self.cfg.max_amount_zat}")
        if req.rate_per_hour_zat > req.amount_zat:
            raise ApiError(422, "rate_exceeds_amount", "the amount must pay for at least one hour")
        try:
            terms = PermissionTerms(req.amount_zat, req.rate_per_hour_zat, req.duration_days * 86400)
        except PermissionsError as exc:
            raise ApiError(422, "invalid_terms", str(exc)) from None
        permission_id = "zp_" + secrets.token_urlsafe(18)
        try:
            address = await self.verifier.new_address(permission_id)
        except WalletError as exc:
            raise ApiError(503, "zcash_wallet_unavailable", str(exc)) from None
        parsed = self.parse(address, "the wallet's receiving address")
        memo = payment_memo(permission_id).encode() if parsed.is_shielded else None
        try:
            uri = build_uri(Payment(address=parsed.encoded, amount_zat=terms.amount_zat, memo=memo))
        except InvalidPaymentRequest as exc:
            raise ApiError(
                503, "zcash_wallet_unavailable", f"cannot build the payment request: {exc}"
            ) from None
        token = secrets.token_urlsafe(32)
        now = self.now()
        with self.store.tx() as db:
            if db.scalar(
                select(ZcashPermissionRow.id).where(ZcashPermissionRow.payment_address == parsed.encoded)
            ):
                raise ApiError(503, "zcash_wallet_unavailable", "the wallet reused a receiving address")
            row = ZcashPermissionRow(
                id=permission_id,
                user_address=user.encoded,
                payment_address=parsed.encoded,
                payment_uri=uri,
                token_hash=_hash(token),
                amount_zat=str(terms.amount_zat),
                rate_zat_per_hour=str(terms.rate_zat_per_hour),
                expiry_seconds=terms.expiry_seconds,
                created_at=now,
                status=PermissionStatus.PENDING_PAYMENT.value,
                verification=zm.ZcashVerification.awaiting_payment.value,
                received_zat="0",
                confirmations=0,
                used_seconds=0,
            )
            db.add(row)
            db.flush()
            return permission_view(db, row, now, token=token, holder=True)

    def get(self, permission_id: str, token: str | None = None) -> zm.ZcashPermission:
        """Public; with the permission's token the answer also names its live session."""
        now = self.now()
        with self.store.tx() as db:
            row = self._load(db, permission_id)
            settle(db, row, now)
            return permission_view(db, row, now, holder=self._holds(row, token))

    async def verify(self, permission_id: str) -> zm.ZcashPermission:
        with self.store.tx() as db:
            row = self._load(db, permission_id)
            settle(db, row, self.now())
            if row.status != PermissionStatus.PENDING_PAYMENT.value:
                return permission_view(db, row, self.now())
            address = row.payment_address
        try:
            notes = await self.verifier.received(address, payment_memo(permission_id))
        except WalletError as exc:
            raise ApiError(503, "zcash_wallet_unavailable", str(exc)) from None
        async with self.lock:
            now = self.now()
            with self.store.tx() as db:
                row = self._load(db, permission_id)
                settle(db, row, now)
                if row.status == PermissionStatus.PENDING_PAYMENT.value:
                    self._credit(db, row, notes, now)
                return permission_view(db, row, now)

    def _credit(self, db: Session, row: ZcashPermissionRow, notes: list[ReceivedNote], now: int) -> None:
        """Credit the notes the crediting rule gives this pending permission (provider.zcash_credit), then
        set its verification from every note credited to it; activate it once paid and confirmed."""
        credited = credit(db, row.id, notes, now)
        need = self.cfg.min_confirmations
        seen = sum(int(n.amount_zat) for n in credited)
        confirmed = sum(int(n.amount_zat) for n in credited if n.confirmations >= need)
        if not credited:
            verification = zm.ZcashVerification.awaiting_payment
        elif confirmed >= int(row.amount_zat):
            verification = zm.ZcashVerification.confirmed
        elif confirmed == seen:
            verification = zm.ZcashVerification.underpaid
        else:
            verification = zm.ZcashVerification.seen
        row.verification = verification.value
        row.received_zat = str(seen)
        row.confirmations = min((n.confirmations for n in credited), default=0)
        if verification is zm.ZcashVerification.confirmed:
            perm = permission_of(row)
            perm.activate(now)
            store_permission(row, perm)
            log.info("zcash permission %s active (%s zat credited)", row.id, seen)

    async def revoke(self, permission_id: str, token: str | None) -> zm.ZcashPermission:
        async with self.lock:
            now = self.now()
            with self.store.tx() as db:
                row = self._load(db, permission_id)
                self._check_token(row, token)
                settle(db, row, now)
                if row.live_session_id is not None:
                    sess = db.get(ZcashSessionRow, row.live_session_id)
                    if sess is not None:
                        end_session(row, sess, now, revoked=True)
                perm = permission_of(row)
                if perm.refresh(now).is_terminal:
                    raise ApiError(409, "permission_over", f"the permission is already {perm.status.value}")
                perm.revoke(now)
                store_permission(row, perm)
                return permission_view(db, row, now, holder=True)

    def for_wallet(self, address: str) -> zm.ZcashPermission:
        parsed = self.parse(address, "address")
        now = self.now()
        with self.store.tx() as db:
            rows = db.scalars(
                select(ZcashPermissionRow)
                .where(ZcashPermissionRow.user_address == parsed.encoded)
                .order_by(ZcashPermissionRow.created_at.desc())
            ).all()
            best: ZcashPermissionRow | None = None
            for row in rows:
                self._lock(db, row.id)
                db.refresh(row)
                settle(db, row, now)
                if row.status == PermissionStatus.ACTIVE.value:
                    best = row
                    break
                if best is None and row.status == PermissionStatus.PENDING_PAYMENT.value:
                    best = row
            if best is None:
                raise ApiError(404, "no_permission", "no active or pending permission for this address")
            return permission_view(db, best, now)

    async def balance(self, address: str, rate_per_hour: str | None) -> zm.ZcashBalance:
        parsed = self.parse(address, "address")
        rate: int | None = None
        if rate_per_hour is not None:
            try:
                rate = _RATE.validate_python(rate_per_hour)
            except ValidationError:
                raise ApiError(
                    422, "invalid_request", "rate_per_hour: a digit string of zatoshi > 0"
                ) from None
        if parsed.is_shielded:
            # Shielded funds are invisible without the owner's viewing key: unknown, never zero.
            return zm.ZcashBalance(
                wallet_address=parsed.encoded, visibility="unknown", shielded=True, rate_per_hour_zat=rate
            )
        try:
            bal = await self.verifier.transparent_balance(parsed.encoded)
        except WalletError as exc:
            raise ApiError(503, "zcash_wallet_unavailable", str(exc)) from None
        if bal is None:
            return zm.ZcashBalance(
                wallet_address=parsed.encoded, visibility="unknown", shielded=False, rate_per_hour_zat=rate
            )
        seconds = None if rate is None else bal * SECONDS_PER_HOUR // rate
        return zm.ZcashBalance(
            wallet_address=parsed.encoded,
            visibility="known",
            shielded=False,
            transparent_balance_zat=bal,
            total_balance_zat=bal,
            rate_per_hour_zat=rate,
            can_stream=None if seconds is None else seconds > 0,
            estimated_seconds=seconds,
        )

    # ------------------------------------------------------------------ sessions

    async def start_session(self, req: zm.ZcashSessionRequest, token: str | None) -> zm.ZcashSession:
        async with self.lock:
            now = self.now()
            with self.store.tx() as db:
                row = self._load(db, req.permission_id)
                self._check_token(row, token)
                svc = db.get(ServiceRow, req.service_id)
                if svc is None or svc.deleted or not svc.is_active:
                    raise ApiError(404, "unknown_service", "no such active service")
                settle(db, row, now)
                status = row.status
                if status == PermissionStatus.PENDING_PAYMENT.value:
                    raise ApiError(
                        402, "permission_not_paid", "the permission's payment is not confirmed yet"
                    )
                if status == PermissionStatus.EXHAUSTED.value:
                    raise ApiError(402, "permission_exhausted", "the permission is used up")
                if status != PermissionStatus.ACTIVE.value:
                    raise ApiError(410, "permission_over", f"the permission is {status}")
                if row.live_session_id is not None:
                    raise ApiError(409, "permission_busy", "this permission already pays a live session")
                perm = permission_of(row)
                ends_at = min(now + perm.remaining_seconds, perm.expires_at)
                access_token = secrets.token_urlsafe(24)  # this session's key to the gateway, no more
                sess = ZcashSessionRow(
                    access_hash=_hash(access_token),
                    id=SESSION_PREFIX + secrets.token_urlsafe(18),
                    permission_id=row.id,
                    service_id=svc.id,
                    status=zm.ZcashSessionStatus.live.value,
                    started_at=now,
                    ends_at=ends_at,
                    seconds=0,
                    amount_zat="0",
                )
                db.add(sess)
                row.live_session_id = sess.id
                db.flush()
                started = session_view(db, sess, row, now, holder=True)
                return started.model_copy(update={"access": self._access(svc, sess, access_token)})

    def _access(self, svc: ServiceRow, sess: ZcashSessionRow, token: str) -> m.Access | None:
        """Where the session's service is delivered (the provider's gateway), with the session's own access
        token as the key (never the permission's); None when the gateway delivers nothing for it."""
        gateway = gateway_service(self.config, svc, svc.id)
        if gateway is None:
            return None
        base = self.config.public_base_url.rstrip("/")
        return m.Access(
            url=base + routes.SESSION.format(session_id=sess.id),
            token=token,
            expires_at=sess.ends_at,
            service_url=base + routes.STREAM_ACCESS.format(session_id=sess.id) + "/",
            delivery=m.Delivery(gateway.delivery),
            entry=gateway.entry,
        )

    # ------------------------------------------------------------------ the gateway's questions

    @staticmethod
    def owns(session_id: str) -> bool:
        """Whether ``session_id`` is a Zcash session's (the gateway asks this class about those)."""
        return session_id.startswith(SESSION_PREFIX)

    def live_access(self, session_id: str, token: str | None) -> tuple[str, float]:
        """The service id and end of a live Zcash session whose own access token is ``token``: 401 for a
        missing or wrong token (another session's, or the permission's, included), 410 once the session
        ended or its permission ran out (settled here)."""
        now = self.now()
        with self.store.tx() as db:
            sess = db.get(ZcashSessionRow, session_id)
            kept = None if sess is None else sess.access_hash
            if sess is None or kept is None or not secrets.compare_digest(kept, _hash(token or "")):
                raise ApiError(401, "bad_access_token", "missing or wrong access token")
            row = self._load(db, sess.permission_id)
            db.refresh(sess)
            settle(db, row, now)
            if sess.status != zm.ZcashSessionStatus.live.value:
                raise ApiError(410, "access_revoked", f"the session is {sess.status}")
            return sess.service_id, float(sess.ends_at)

    def ended(self, session_ids: Collection[str]) -> set[str]:
        """Those of ``session_ids`` that give no access any more: ended, run out, or unknown."""
        now = self.now()
        with self.store.tx() as db:
            rows = db.scalars(select(ZcashSessionRow).where(ZcashSessionRow.id.in_(list(session_ids)))).all()
            live = {r.id for r in rows if r.status == zm.ZcashSessionStatus.live.value and now < r.ends_at}
        return set(session_ids) - live

    def _load_session(self, db: Session, session_id: str) -> tuple[ZcashSessionRow, ZcashPermissionRow]:
        sess = db.get(ZcashSessionRow, session_id)
        if sess is None:
            raise ApiError(404, "unknown_session", "no such session")
        self._lock(db, sess.permission_id)
        db.refresh(sess)  # as it is once the lock is held
        row = db.get(ZcashPermissionRow, sess.permission_id)
        assert row is not None
        return sess, row

    async def end_session(self, req: zm.ZcashSessionEndRequest, token: str | None) -> zm.ZcashSession:
        """Only the holder of the paying permission's token ends a session (ids are no secret)."""
        async with self.lock:
            now = self.now()
            with self.store.tx() as db:
                sess, row = self._load_session(db, req.session_id)
                self._check_token(row, token)
                settle(db, row, now)
                if sess.status == zm.ZcashSessionStatus.live.value:
                    end_session(row, sess, now)
                return session_view(db, sess, row, now, holder=True)

    def get_session(self, session_id: str) -> zm.ZcashSession:
        now = self.now()
        with self.store.tx() as db:
            sess, row = self._load_session(db, session_id)
            settle(db, row, now)
            return session_view(db, sess, row, now)
