"""A Zcash permission and a Zcash session as the API shows them (``protocol.models``), the live session's
usage so far included; the permission's ``liveSessionId`` only to its token's holder."""

from __future__ import annotations

from sqlalchemy.orm import Session

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.provider.zcash_settlement import permission_of
from paygo_desktop.provider.zcash_store import ZcashPermissionRow, ZcashSessionRow
from paygo_desktop.zcash.permissions import SECONDS_PER_HOUR, payment_memo


def hours(seconds: int) -> str:
    """Seconds as hours with 2 decimals, rounded down (display only)."""
    centi = seconds * 100 // SECONDS_PER_HOUR
    return f"{centi // 100}.{centi % 100:02d}"


def permission_view(
    db: Session,
    row: ZcashPermissionRow,
    now: int,
    token: str | None = None,
    *,
    holder: bool = False,
) -> zm.ZcashPermission:
    """The permission as the API shows it; ``liveSessionId`` only to the token's ``holder``."""
    perm = permission_of(row)
    if row.live_session_id is not None:  # show the live session's usage so far
        sess = db.get(ZcashSessionRow, row.live_session_id)
        if sess is not None:
            perm.used_seconds = min(
                perm.terms.max_seconds,
                perm.used_seconds + max(0, min(now, sess.ends_at) - sess.started_at),
            )
    return zm.ZcashPermission(
        id=row.id,
        user_wallet_address=row.user_address,
        status=zm.ZcashPermissionStatus(row.status),
        verification=zm.ZcashVerification(row.verification),
        payment_address=row.payment_address,
        payment_uri=row.payment_uri,
        memo=payment_memo(row.id),
        amount_zat=perm.terms.amount_zat,
        rate_per_hour_zat=perm.terms.rate_zat_per_hour,
        received_zat=int(row.received_zat),
        confirmations=row.confirmations,
        spent_zat=perm.spent_zat,
        remaining_zat=perm.remaining_zat,
        max_seconds=perm.terms.max_seconds,
        used_seconds=perm.used_seconds,
        remaining_seconds=perm.remaining_seconds,
        max_hours=hours(perm.terms.max_seconds),
        used_hours=hours(perm.used_seconds),
        remaining_hours=hours(perm.remaining_seconds),
        created_at=row.created_at,
        activated_at=row.activated_at,
        expires_at=perm.expires_at,
        live_session_id=row.live_session_id if holder else None,
        token=token,
    )


def session_view(
    db: Session, sess: ZcashSessionRow, row: ZcashPermissionRow, now: int, *, holder: bool = False
) -> zm.ZcashSession:
    return zm.ZcashSession(
        session_id=sess.id,
        permission_id=sess.permission_id,
        service_id=sess.service_id,
        status=zm.ZcashSessionStatus(sess.status),
        started_at=sess.started_at,
        ends_at=sess.ends_at,
        ended_at=sess.ended_at,
        seconds=sess.seconds,
        amount_zat=int(sess.amount_zat),
        permission=permission_view(db, row, now, holder=holder),
    )
