"""The app's own record of a Zcash permission, and the provider's answers kept beside it (never over it).

A permission's row (``store.models.ZcashPermissionRow``) holds what the app bought — amount, rate and
expiry, fixed at buying — and what the app's own meter measured (``used_seconds``, ``metered_zat``, written
by the session engine through ``record_meter``). Its ``status`` is the app's own: ``pending_payment`` until
the provider reports the payment confirmed (the one thing only the provider can see), ``revoked`` when the
app revoked it, otherwise ``exhausted`` / ``expired`` / ``active`` by the app's own meter and clock.

``record_report`` keeps a provider's answer beside that record (``reported``, ``reported_at``,
``deducted_zat``) and returns what disagrees with it (``trust.disagreements``); ``record_disagreements``
then writes each disagreement to the activity log once per permission and figure — the provider's record
the user can look back at, next to the Zcash page's warning (``PermissionView.trust_warning``). A session
whose end the provider confirmed and whose reports never disagreed leaves an "agreed" on the provider's
record (``note_agreement``), once per session; one whose end says the provider deducted more than the
meter plus one tick leaves an "over-claim" instead (``note_over_deduction``). A session the provider ended
as "exhausted" while the meter had more than a tick of the permission left is kept on the row
(``record_exhaustion_claim``) and flagged for good.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paygo_desktop.money import ZEC, Amount
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import Funding, SessionRow, ZcashPermissionRow
from paygo_desktop.store.notices import NoticeLog
from paygo_desktop.store.provider_notes import AGREED, DISAGREED, OVER_CLAIMED, ProviderNote, ProviderNotes
from paygo_desktop.zcash import trust
from paygo_desktop.zcash.permissions import PermissionStatus, PermissionTerms
from paygo_desktop.zcash.reminders import notice_key


def unix(at: datetime) -> int:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp())


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def own_status(row: ZcashPermissionRow, now: int) -> PermissionStatus:
    """The app's own status of the permission at ``now``, from its own record only."""
    stored = PermissionStatus(row.status)
    if stored is PermissionStatus.REVOKED:
        return stored
    expired = now >= unix(row.expires_at)
    if stored is PermissionStatus.PENDING_PAYMENT:
        return PermissionStatus.EXPIRED if expired else stored
    terms = PermissionTerms(row.amount_zat, row.rate_per_hour_zat)
    if row.used_seconds >= terms.max_seconds or row.metered_zat >= row.amount_zat:
        return PermissionStatus.EXHAUSTED
    return PermissionStatus.EXPIRED if expired else PermissionStatus.ACTIVE


def tick_seconds(db: Session, permission_id: str) -> int:
    """The longest tick of the sessions this permission paid (the trust interval), or the default."""
    tick = db.scalar(
        select(func.max(SessionRow.tick_seconds)).where(
            SessionRow.funding == Funding.ZCASH, SessionRow.zcash_permission_id == permission_id
        )
    )
    return int(tick) if tick else trust.DEFAULT_TICK_SECONDS


def reported_of(row: ZcashPermissionRow) -> zm.ZcashPermission | None:
    """The provider's last answer kept for ``row`` (None if none, or unreadable)."""
    if row.reported is None:
        return None
    try:
        return zm.ZcashPermission.model_validate_json(row.reported)
    except ValueError:
        return None


def own_record(row: ZcashPermissionRow, tick: int, at: int) -> trust.OwnRecord:
    return trust.OwnRecord(
        provider_name=row.provider_name,
        amount_zat=row.amount_zat,
        rate_per_hour_zat=row.rate_per_hour_zat,
        expires_at=unix(row.expires_at),
        used_seconds=row.used_seconds,
        metered_zat=row.metered_zat,
        status=own_status(row, at),
        tick_seconds=tick,
        at=at,
    )


def disagreements(row: ZcashPermissionRow, tick: int) -> list[trust.Disagreement]:
    """What the provider's last answer (as of when it came) disagrees with in the app's record."""
    at = unix(row.reported_at) if row.reported_at is not None else unix(row.updated_at)
    return trust.disagreements(
        own_record(row, tick, at), reported_of(row), row.deducted_zat, row.exhaustion_claim_left_zat
    )


def record_meter(row: ZcashPermissionRow, used_seconds: int, metered_zat: int, now: int) -> None:
    """The app's meter on this permission: cumulative seconds and zatoshi, never lowered (a late, older
    figure changes nothing); the seconds stop at what the permission pays for."""
    for name, value in (("used_seconds", used_seconds), ("metered_zat", metered_zat)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0")
    max_seconds = PermissionTerms(row.amount_zat, row.rate_per_hour_zat).max_seconds
    row.used_seconds = min(max_seconds, max(row.used_seconds, used_seconds))
    row.metered_zat = max(row.metered_zat, metered_zat)
    row.status = own_status(row, now).value
    row.updated_at = utc(now)


def record_report(
    db: Session, row: ZcashPermissionRow, remote: zm.ZcashPermission, now: int
) -> list[trust.Disagreement]:
    """Keep the provider's answer ``remote`` beside the app's record of ``row`` (never over it) and say
    what disagrees. The one figure taken from it: a pending permission the provider reports active with
    its payment confirmed becomes active (only the provider's wallet can see the payment)."""
    if (
        row.status == PermissionStatus.PENDING_PAYMENT.value
        and remote.status is zm.ZcashPermissionStatus.active
        and remote.verification is zm.ZcashVerification.confirmed
    ):
        row.status = PermissionStatus.ACTIVE.value
    row.verification = remote.verification.value
    row.confirmations = remote.confirmations
    row.deducted_zat = remote.spent_zat
    row.reported = remote.model_dump_json(by_alias=True, exclude={"token"})
    row.reported_at = utc(now)
    row.status = own_status(row, now).value
    row.updated_at = utc(now)
    return disagreements(row, tick_seconds(db, row.permission_id))


def record_disagreements(
    store: Store, provider_url: str, permission_id: str, account: str, found: list[trust.Disagreement]
) -> None:
    """Each disagreement into the activity log, once per permission and figure (call it after the
    transaction that found them has closed)."""
    notices, activity = NoticeLog(store), ActivityLog(store)
    for item in found:
        if notices.claim(notice_key(provider_url, permission_id, f"disagrees-{item.figure}")):
            activity.record("provider", item.text, account=account, is_error=True)
    note_disagreements(store, provider_url, permission_id, found)


def note_disagreements(
    store: Store, provider_url: str, permission_id: str, found: list[trust.Disagreement]
) -> None:
    """The provider record (``reports.provider_record``): each figure the provider reported against the
    app's own record, once per permission and verdict; taking more than the meter measured is an
    over-claim."""
    if not found:
        return
    with store.session() as db:
        row = db.scalar(
            select(ZcashPermissionRow).where(
                ZcashPermissionRow.provider_url == provider_url,
                ZcashPermissionRow.permission_id == permission_id,
            )
        )
        name = row.provider_name if row is not None else provider_url
        over = row is not None and row.deducted_zat > row.metered_zat
        meter, said = (row.metered_zat, row.deducted_zat) if row is not None else (None, None)
    notes = [
        ProviderNote(
            provider_key=provider_url,
            provider_url=provider_url,
            provider_name=name,
            source="zcash",
            ref=permission_id,
            verdict=OVER_CLAIMED if item.figure == "spent" and over else DISAGREED,
            detail=item.text,
            asset_symbol="ZEC",
            decimals=8,
            meter_amount=meter,
            provider_amount=said,
        )
        for item in found
    ]
    ProviderNotes(store).add(notes)


# ---------------------------------------------------------------------------------- for the session engine


class OwnPermission(NamedTuple):
    """A permission a session may pay from, by the app's own record."""

    permission_id: str
    rate_per_hour_zat: int  # as agreed when it was bought
    available_zat: int  # the amount less what the app metered on it
    allow_fallback: bool


def own_permissions(
    store: Store, account: str, provider_url: str, permission_id: str | None = None
) -> list[OwnPermission]:
    """This account's active permissions with ``provider_url`` by the app's own record: the rate agreed
    when each was bought and what the app's meter says is left (never the provider's figures)."""
    query = select(ZcashPermissionRow).where(
        ZcashPermissionRow.provider_url == provider_url,
        ZcashPermissionRow.status == PermissionStatus.ACTIVE.value,
    )
    if permission_id is not None:
        query = query.where(ZcashPermissionRow.permission_id == permission_id)
    with store.session() as db:
        return [
            OwnPermission(
                r.permission_id, r.rate_per_hour_zat, max(0, r.amount_zat - r.metered_zat), r.allow_fallback
            )
            for r in db.scalars(query).all()
            if r.account.lower() == account.lower()
        ]


def _session_row(db: Session, provider_url: str, permission_id: str) -> ZcashPermissionRow | None:
    return db.scalar(
        select(ZcashPermissionRow).where(
            ZcashPermissionRow.provider_url == provider_url,
            ZcashPermissionRow.permission_id == permission_id,
        )
    )


def bought_zat(store: Store, provider_url: str, permission_id: str) -> int | None:
    """The permission's amount as bought, by the app's record (None: the app keeps no row for it)."""
    with store.session() as db:
        row = _session_row(db, provider_url, permission_id)
        return row.amount_zat if row is not None else None


def metered_before(store: Store, provider_url: str, permission_id: str) -> tuple[int, int]:
    """What the app metered on this permission in earlier sessions: zatoshi and seconds."""
    with store.session() as db:
        row = _session_row(db, provider_url, permission_id)
        return (row.metered_zat, row.used_seconds) if row is not None else (0, 0)


def record_session(
    store: Store, provider_url: str, remote: zm.ZcashSession, used_seconds: int, metered_zat: int, now: int
) -> list[trust.Disagreement] | None:
    """A session's meter (earlier sessions' included) on its permission's row, if the Zcash page keeps
    one, and the provider's answer beside it; what disagrees goes to the activity log and is returned
    (None: the app keeps no row for the permission, so nothing was compared)."""
    with store.session() as db:
        row = _session_row(db, provider_url, remote.permission_id)
        if row is None:
            return None
        record_meter(row, used_seconds, metered_zat, now)
        found = record_report(db, row, remote.permission, now)
        account = row.account
    record_disagreements(store, provider_url, remote.permission_id, account, found)
    return found


def record_exhaustion_claim(store: Store, provider_url: str, permission_id: str, left_zat: int) -> None:
    """The provider ended a session as "exhausted" while the app's meter had ``left_zat`` of the permission
    left: kept on its row (the most such claim), so the Zcash page keeps flagging it, and written to the
    activity log and the provider record like every disagreement."""
    with store.session() as db:
        row = _session_row(db, provider_url, permission_id)
        if row is None:
            return
        row.exhaustion_claim_left_zat = max(row.exhaustion_claim_left_zat or 0, left_zat)
        found = [d for d in disagreements(row, tick_seconds(db, permission_id)) if d.figure == "exhausted"]
        account = row.account
    record_disagreements(store, provider_url, permission_id, account, found)


def note_over_deduction(
    store: Store,
    provider_url: str,
    provider_name: str,
    local_id: str,
    permission_id: str,
    deducted: int,
    metered: int,
    booked: int,
) -> None:
    """The provider record's "over-claim" for a Zcash session (ref: its local id) whose end says the
    provider deducted more than the meter measured plus one tick; the session is booked at ``booked``."""
    detail = (
        f"The provider deducted {_zec(deducted)} from permission {permission_id} for a session the meter "
        f"measured at {_zec(metered)}; booked at {_zec(booked)}."
    )
    _note_session(store, provider_url, provider_name, local_id, OVER_CLAIMED, detail, metered, deducted)


def note_agreement(
    store: Store, provider_url: str, provider_name: str, local_id: str, remote: zm.ZcashSession, metered: int
) -> None:
    """The provider record's "agreed" for a Zcash session (ref: its local id) whose end the provider
    confirmed and whose every report agreed with the app's record of the permission."""
    detail = (
        f"The provider deducted {_zec(remote.amount_zat)} from permission {remote.permission_id}; the meter "
        f"measured {_zec(metered)}."
    )
    _note_session(store, provider_url, provider_name, local_id, AGREED, detail, metered, remote.amount_zat)


def _zec(zat: int) -> str:
    return Amount(ZEC, zat).format()


def _note_session(
    store: Store,
    provider_url: str,
    provider_name: str,
    local_id: str,
    verdict: str,
    detail: str,
    metered: int,
    deducted: int,
) -> None:
    """One Zcash session's verdict on the provider's record: what the meter measured, what it deducted."""
    ProviderNotes(store).add(
        [
            ProviderNote(
                provider_key=provider_url,
                provider_url=provider_url,
                provider_name=provider_name,
                source="zcash",
                ref=local_id,
                verdict=verdict,
                detail=detail,
                asset_symbol=ZEC.symbol,
                decimals=ZEC.decimals,
                meter_amount=metered,
                provider_amount=deducted,
            )
        ]
    )
