"""A Zcash permission's bookkeeping on its rows: the row read as ``zcash.permissions``' arithmetic and
written back, a live session ended (its seconds charged cumulatively on the permission), and a permission
settled at an instant (its run-out session ended, then expiry applied). Callers hold the permission's lock
(``provider.zcash_permissions``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.provider.zcash_store import ZcashPermissionRow, ZcashSessionRow
from paygo_desktop.zcash.permissions import Permission, PermissionStatus, PermissionTerms


def permission_of(row: ZcashPermissionRow) -> Permission:
    return Permission(
        row.id,
        PermissionTerms(int(row.amount_zat), int(row.rate_zat_per_hour), row.expiry_seconds),
        created_at=row.created_at,
        status=PermissionStatus(row.status),
        used_seconds=row.used_seconds,
        activated_at=row.activated_at,
        ended_at=row.ended_at,
    )


def store_permission(row: ZcashPermissionRow, perm: Permission) -> None:
    row.status = perm.status.value
    row.used_seconds = perm.used_seconds
    row.activated_at = perm.activated_at
    row.ended_at = perm.ended_at


def settle(db: Session, row: ZcashPermissionRow, now: int) -> None:
    """End a live session whose permission ran out, then apply expiry. Mutates ``row``."""
    if row.live_session_id is not None:
        sess = db.get(ZcashSessionRow, row.live_session_id)
        if sess is not None and sess.status == zm.ZcashSessionStatus.live.value and now >= sess.ends_at:
            end_session(row, sess, sess.ends_at)
    perm = permission_of(row)
    perm.refresh(now)
    store_permission(row, perm)


def end_session(row: ZcashPermissionRow, sess: ZcashSessionRow, end: int, revoked: bool = False) -> None:
    end = max(sess.started_at, min(end, sess.ends_at))
    perm = permission_of(row)
    seconds = end - sess.started_at
    # Usage is recorded as of the session start (the permission was active then); expiry applies after.
    charged = perm.record_usage(seconds, sess.started_at) if perm.status is PermissionStatus.ACTIVE else 0
    if perm.status is PermissionStatus.EXHAUSTED:
        perm.ended_at = end
        status = zm.ZcashSessionStatus.exhausted
    elif end >= perm.expires_at:
        status = zm.ZcashSessionStatus.expired
    else:
        status = zm.ZcashSessionStatus.revoked if revoked else zm.ZcashSessionStatus.ended
    perm.refresh(end)
    store_permission(row, perm)
    sess.status = status.value
    sess.ended_at = end
    sess.seconds = seconds
    sess.amount_zat = str(charged)
    row.live_session_id = None
