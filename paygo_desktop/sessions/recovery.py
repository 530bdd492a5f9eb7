"""Reconciling, at start-up, the sessions a crash left behind (starting, running, stopping, interrupted).

For each one the provider is asked what it holds (GET /streams/{id}; when the start never returned a
session id, GET /channels/{id} for a live one, else the account's own sessions, signed in with its key, for
the one this start opened on the channel); a session still live there is stopped (PATCH stop, which also
yields the signed receipt of one that already ended). The access token of a session is not kept past the
run that started it, so these requests are signed with the payer's key (the provider shows a channel's live
session and stops a session only for its payer); with the wallet locked the session stays ``interrupted``.
A receipt counts only the seconds its amount paid for: one that counts more (unpaid grace) is not
accepted, and the record keeps the paid seconds. The
session's cost becomes what the provider holds for it, which can only lie between what it confirmed and
what we signed; the spending records are settled to it and the channel's next session continues from
that cumulative, so no second is paid twice. A provider that cannot be reached leaves the session
``interrupted``; the next start-up tries again. A stop whose final voucher got no answer is left
``interrupted`` too, and settled here at that voucher if the provider took it.

A Zcash session is ended with its permission's token if it still runs (it would run on until the permission
is used up); when its start never returned an id, the provider is asked for the permission's live session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from paygo_desktop.errors import UserFacingError, describe_error
from paygo_desktop.metering.meter import short_duration
from paygo_desktop.money import Amount
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import NotFound, ProviderError, verify_receipt
from paygo_desktop.sessions.reports import RecoveryOutcome, RecoveryReport
from paygo_desktop.sessions.runtime import (
    RECEIPT_SECONDS_TOLERANCE,
    Runtime,
)
from paygo_desktop.sessions.session_record import SessionRecord
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding
from paygo_desktop.sessions.voucher_book import final_vouchers
from paygo_desktop.zcash import cross_check

log = logging.getLogger(__name__)


START_SLACK_SECONDS = 300  # the provider's clock may differ from ours


async def reconcile(
    rt: Runtime,
    record: SessionRecord,
    key: Any = None,
    token_lookup: Callable[[str], str] | None = None,
) -> RecoveryReport:
    """Settle one unfinished session with its provider; never raises for a provider problem.

    ``key``, the payer's signer (None while the wallet is locked), proves to the provider that an escrow
    session's requests are the payer's, and finds a session whose id the app never saved among the
    account's sessions there; ``token_lookup`` gives a Zcash permission's bearer token: ending a Zcash
    session needs it."""
    try:
        if record.terms.funding is Funding.ZCASH:
            return await _reconcile_zcash(rt, record, token_lookup)
        return await _reconcile_escrow(rt, record, key)
    except ProviderError as exc:
        return await _interrupted(rt, record, describe_error(exc))


async def _interrupted(rt: Runtime, record: SessionRecord, why: str) -> RecoveryReport:
    at_most = Amount(record.terms.asset, max(0, record.signed - record.terms.channel_base)).format()
    await rt.db(
        rt.history.update,
        record.local_id,
        status=SessionStatus.INTERRUPTED,
        stop_reason="Left running when the app closed; the provider could not be reached to settle it.",
    )
    return RecoveryReport(
        local_id=record.local_id,
        service_name=record.terms.service_name,
        outcome=RecoveryOutcome.UNKNOWN,
        cost=None,
        asset=record.terms.asset,
        message=(
            f"Could not settle “{record.terms.service_name}” with {record.terms.provider_name}: {why} "
            f"At most {at_most} was signed for it. PayGo will try again at the next start."
        ),
    )


async def _started_here(client: Any, rt: Runtime, record: SessionRecord, key: Any) -> str | None:
    """The id of the session this record's start opened, found among the account's sessions at the
    provider: on its channel, from its base, started since, and not another record's."""
    if key is None or record.terms.channel_id is None:
        return None
    try:
        sessions = await client.my_sessions(key)
    except ProviderError as exc:
        log.info("sessions of %s not listed for recovery: %s", record.terms.provider_url, exc)
        return None
    known = await rt.db(rt.history.remote_ids_on_channel, record.terms.channel_id)
    since = record.started_at.timestamp() - START_SLACK_SECONDS
    found = [
        s
        for s in sessions.items
        if s.channel_id.lower() == record.terms.channel_id.lower()
        and s.start_cumulative == record.terms.channel_base
        and s.started_at >= since
        and s.session_id not in known
    ]
    return min(found, key=lambda s: s.started_at).session_id if found else None


def _how_it_ended(record: SessionRecord) -> str:
    """How a session recovery settles ended: the app left it interrupted (its start, stop or end got no
    answer from the provider, or the app quit meanwhile), or it was still open when the app was killed."""
    if record.status is SessionStatus.INTERRUPTED:
        return "ended without an answer from the provider; settled with it now"
    return "ended while the app was closed"


async def _reconcile_escrow(rt: Runtime, record: SessionRecord, key: Any = None) -> RecoveryReport:
    client = rt.client(record.terms.provider_url)
    info = await client.provider_info()
    remote_id = record.remote_id
    if key is None and (remote_id is not None or record.terms.channel_id is not None):
        return await _interrupted(
            rt, record, "The wallet is locked, and only your key proves the session is yours."
        )
    if remote_id is None and record.terms.channel_id is not None:
        try:
            channel = await client.get_channel(record.terms.channel_id, key)
        except NotFound:
            channel = None
        remote_id = channel.live_session_id if channel is not None else None
        if remote_id is None:  # the start may have opened one that ended since: ask for it by name
            remote_id = await _started_here(client, rt, record, key)
        if remote_id is None:
            held = channel.last_voucher.cumulative_amount if channel and channel.last_voucher else 0
            return await _settle(rt, record, held, None, None, was_live=False)
    if remote_id is None:
        return await _settle(rt, record, record.terms.channel_base, None, None, was_live=False)
    remote = await client.get_session(remote_id)
    was_live = remote.status is m.SessionStatus.live
    stopped = await client.stop_session(remote_id, key=key)
    receipt = stopped.receipt
    # settled at our final voucher (sent with a stop whose answer the app did not see)?
    vouchers = await rt.db(rt.history.vouchers, record.local_id)
    settled = receipt.final_cumulative in final_vouchers(vouchers)
    paid_seconds = record.terms.price.seconds_for(max(0, receipt.amount))
    ok = (
        verify_receipt(receipt, info)
        and receipt.session_id == remote_id
        and receipt.channel_id == record.terms.channel_id
        and (settled or record.acked <= receipt.final_cumulative <= record.signed)
        and receipt.amount == receipt.final_cumulative - record.terms.channel_base
        and receipt.seconds <= paid_seconds + RECEIPT_SECONDS_TOLERANCE  # no unpaid grace counted
    )
    return await _settle(
        rt,
        record,
        receipt.final_cumulative,
        receipt,
        ok,
        was_live=was_live,
        remote_id=remote_id,
        settled=settled and ok,
    )


async def _settle(
    rt: Runtime,
    record: SessionRecord,
    held: int,
    receipt: m.Receipt | None,
    receipt_ok: bool | None,
    *,
    was_live: bool,
    remote_id: str | None = None,
    settled: bool = False,
) -> RecoveryReport:
    """Record what the provider holds (clamped to what was confirmed and signed, unless its receipt
    settled at our own final voucher) as the session's end."""
    final = held if settled else min(record.signed, max(record.acked, held))
    cost = final - record.terms.channel_base
    if settled:
        await rt.db(rt.history.settle_final, record.local_id, final)
    else:
        await rt.db(rt.history.mark_delivered, record.local_id, final)
    await rt.db(rt.history.settle_spending, record.local_id, cost)
    seconds = record.seconds
    if receipt is not None:  # the seconds the session's cost paid for, never unpaid grace
        seconds = min(receipt.seconds, record.terms.price.seconds_for(max(0, cost)))
    outcome = RecoveryOutcome.STILL_RUNNING_STOPPED if was_live else RecoveryOutcome.SETTLED
    reason = (
        "The app closed while it ran; stopped at the provider on the next start."
        if was_live
        else "Settled with the provider afterwards; it had already ended the session."
    )
    await rt.db(
        rt.history.update,
        record.local_id,
        remote_id=remote_id or record.remote_id,
        status=SessionStatus.RECOVERED,
        cost=cost,
        seconds=seconds,
        stop_reason=reason,
        receipt=None if receipt is None else receipt.model_dump_json(by_alias=True),
        receipt_ok=receipt_ok,
        ended_at=rt.now(),
    )
    fmt = Amount(record.terms.asset, cost).format()
    if was_live:
        head = (
            f"“{record.terms.service_name}” was still running at {record.terms.provider_name} after the app "
            "closed: stopped it now."
        )
    elif record.remote_id is None and receipt is None and cost == 0:
        head = (
            f"“{record.terms.service_name}” never started at {record.terms.provider_name}: nothing was paid."
        )
    else:
        head = f"“{record.terms.service_name}” at {record.terms.provider_name} {_how_it_ended(record)}."
    parts = [head]
    if receipt is not None or cost:
        parts.append(f"It cost {fmt} for {short_duration(seconds)}.")
    if receipt_ok is True:
        parts.append("The provider's receipt checks out.")
    elif receipt_ok is False:
        parts.append("The provider's receipt does not match our vouchers; what we signed bounds the cost.")
    if record.terms.funding is Funding.ESCROW:
        parts.append("The channel's next session continues from there, so no second is paid twice.")
    return RecoveryReport(
        local_id=record.local_id,
        service_name=record.terms.service_name,
        outcome=outcome,
        cost=cost,
        asset=record.terms.asset,
        message=" ".join(parts),
    )


async def _reconcile_zcash(
    rt: Runtime, record: SessionRecord, token_lookup: Callable[[str], str] | None
) -> RecoveryReport:
    """A Zcash session: ended at the provider with the permission's token if it still runs there (a
    session left live runs on until the permission is used up). When the start never returned its id, the
    provider is asked for the permission's live session (it names it to the token's holder only)."""
    client = rt.client(record.terms.provider_url)
    remote_id = record.remote_id
    if remote_id is None:
        try:
            token = await _permission_token(record, token_lookup)
        except UserFacingError as exc:
            return await _interrupted(
                rt,
                record,
                f"finding the session its start may have opened needs its Zcash permission's token. {exc}",
            )
        permission = await client.get_zcash_permission(record.terms.permission_id or "", token)
        remote_id = await _zcash_started_here(client, rt, record, permission)
        if remote_id is None:
            return await _settle_zcash_unnamed(rt, record, permission)
    remote = await client.get_zcash_session(remote_id)
    was_live = remote.status is zm.ZcashSessionStatus.live
    if was_live:
        try:
            token = await _permission_token(record, token_lookup)
        except UserFacingError as exc:
            return await _interrupted(rt, record, f"ending it needs its Zcash permission's token. {exc}")
        remote = await client.end_zcash_session(remote_id, token)
    cost = remote.amount_zat
    allowed = await _zcash_allowed(rt, record, remote.seconds)
    receipt_ok = cost <= allowed
    await rt.db(rt.history.settle_spending, record.local_id, cost)
    await rt.db(
        rt.history.update,
        record.local_id,
        remote_id=remote_id,
        status=SessionStatus.RECOVERED,
        cost=cost,
        signed=cost,
        acked=cost,
        seconds=remote.seconds,
        receipt=remote.model_dump_json(by_alias=True),
        receipt_ok=receipt_ok,
        stop_reason="The app closed while it ran; settled with the provider on the next start.",
        ended_at=rt.now(),
    )
    fmt = Amount(record.terms.asset, cost).format()
    head = (
        f"“{record.terms.service_name}” was still running at {record.terms.provider_name} after the app "
        "closed: stopped it now."
        if was_live
        else f"“{record.terms.service_name}” at {record.terms.provider_name} {_how_it_ended(record)}."
    )
    parts = [head, f"The permission was charged {fmt} for {short_duration(remote.seconds)}."]
    if not receipt_ok:
        parts.append(
            f"That is more than the permission allows for that time at the agreed rate "
            f"({Amount(record.terms.asset, allowed).format()})."
        )
    return RecoveryReport(
        local_id=record.local_id,
        service_name=record.terms.service_name,
        outcome=RecoveryOutcome.STILL_RUNNING_STOPPED if was_live else RecoveryOutcome.SETTLED,
        cost=cost,
        asset=record.terms.asset,
        message=" ".join(parts),
    )


async def _permission_token(record: SessionRecord, token_lookup: Callable[[str], str] | None) -> str:
    """The permission's bearer token (the Zcash page keeps it sealed): ``UserFacingError`` if none."""
    if token_lookup is None or record.terms.permission_id is None:
        raise UserFacingError("The app holds no token for it.")
    return await asyncio.to_thread(token_lookup, record.terms.permission_id)


async def _zcash_started_here(
    client: Any, rt: Runtime, record: SessionRecord, permission: zm.ZcashPermission
) -> str | None:
    """The permission's live session, if it is the one this record's start opened: its service, started
    since, and not another record's."""
    if permission.live_session_id is None:
        return None
    remote = await client.get_zcash_session(permission.live_session_id)
    known = {
        r.remote_id
        for r in await rt.db(
            rt.history.on_permission, record.terms.provider_url, record.terms.permission_id or ""
        )
    }
    if (
        remote.permission_id != record.terms.permission_id
        or remote.service_id != record.terms.service_id
        or remote.started_at < record.started_at.timestamp() - START_SLACK_SECONDS
        or remote.session_id in known
    ):
        return None
    return remote.session_id


async def _zcash_allowed(rt: Runtime, record: SessionRecord, seconds: int) -> int:
    """What the permission allows a session of ``seconds`` to cost: those seconds at the rate agreed when
    it was bought (the session's terms), and never more than the permission's amount by the app's record."""
    at_rate = record.terms.price.cost_seconds(seconds)
    bought = await rt.db(
        cross_check.bought_zat, rt.history.store, record.terms.provider_url, record.terms.permission_id or ""
    )
    return at_rate if bought is None else min(at_rate, bought)


async def _settle_zcash_unnamed(
    rt: Runtime, record: SessionRecord, permission: zm.ZcashPermission
) -> RecoveryReport:
    """No live session of this record's on its permission: its start never reached the provider, or the
    session it opened has ended since (used up, expired). What the permission spent beyond what this app's
    sessions on it booked is that session's, as far as anyone can tell (the provider names no ended
    session without its id): booked as its cost, within what the permission allows."""
    others = await rt.db(
        rt.history.on_permission, record.terms.provider_url, record.terms.permission_id or ""
    )
    booked = sum(r.cost for r in others if r.local_id != record.local_id and not r.is_open)
    unbooked = max(0, permission.spent_zat - booked)
    bought = await rt.db(
        cross_check.bought_zat, rt.history.store, record.terms.provider_url, record.terms.permission_id or ""
    )
    cost = unbooked if bought is None else min(unbooked, max(0, bought - booked))
    await rt.db(rt.history.settle_spending, record.local_id, cost)
    name, provider = record.terms.service_name, record.terms.provider_name
    await rt.db(
        rt.history.update,
        record.local_id,
        status=SessionStatus.RECOVERED,
        cost=cost,
        signed=cost,
        acked=cost,
        receipt_ok=None,
        stop_reason=(
            "The app closed as it started; the provider runs no session of it now."
            if cost == 0
            else "The app closed as it started; the permission's spending shows the session it opened."
        ),
        ended_at=rt.now(),
    )
    spent = Amount(record.terms.asset, permission.spent_zat).format()
    if cost == 0:
        message = (
            f"“{name}” did not start at {provider}: it runs no session of it, and the permission spent "
            f"nothing beyond your other sessions ({spent} in all). Nothing was paid."
        )
    else:
        message = (
            f"“{name}” started at {provider} as the app closed, and has ended there since. The permission "
            f"spent {Amount(record.terms.asset, cost).format()} beyond your other sessions on it ({spent} in "
            "all): booked as this session's cost."
        )
    return RecoveryReport(
        local_id=record.local_id,
        service_name=name,
        outcome=RecoveryOutcome.SETTLED,
        cost=cost,
        asset=record.terms.asset,
        message=message,
    )
