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
``interrupted``; the next start-up tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from paygo_desktop.errors import UserFacingError, describe_error
from paygo_desktop.money import Amount
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.client import NotFound, ProviderError, verify_receipt
from paygo_desktop.sessions.history import SessionRecord
from paygo_desktop.sessions.reports import RecoveryOutcome, RecoveryReport
from paygo_desktop.sessions.runtime import (
    RECEIPT_SECONDS_TOLERANCE,
    Runtime,
    short_duration,
)
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.sessions.terms import Funding

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
    # settled at our final voucher (sent with a stop whose answer the app did not live to see)?
    vouchers = await rt.db(rt.history.vouchers, record.local_id)
    settled = receipt.final_cumulative < record.acked and any(
        cumulative == receipt.final_cumulative for _, cumulative, _ in vouchers
    )
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
        else "The app closed while it ran; the provider had already ended it."
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
        head = (
            f"“{record.terms.service_name}” at {record.terms.provider_name} ended while the app was closed."
        )
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
    client = rt.client(record.terms.provider_url)
    if record.remote_id is None:
        return await _settle(rt, record, 0, None, None, was_live=False)
    remote = await client.get_zcash_session(record.remote_id)
    was_live = remote.status is zm.ZcashSessionStatus.live
    if was_live:
        try:
            if token_lookup is None or record.terms.permission_id is None:
                raise UserFacingError("The app holds no token for it.")
            token = await asyncio.to_thread(token_lookup, record.terms.permission_id)
        except UserFacingError as exc:
            return await _interrupted(rt, record, f"ending it needs its Zcash permission's token. {exc}")
        remote = await client.end_zcash_session(record.remote_id, token)
    cost = remote.amount_zat
    await rt.db(rt.history.settle_spending, record.local_id, cost)
    await rt.db(
        rt.history.update,
        record.local_id,
        status=SessionStatus.RECOVERED,
        cost=cost,
        signed=cost,
        acked=cost,
        seconds=remote.seconds,
        receipt=remote.model_dump_json(by_alias=True),
        receipt_ok=None,
        stop_reason="The app closed while it ran; settled with the provider on the next start.",
        ended_at=rt.now(),
    )
    fmt = Amount(record.terms.asset, cost).format()
    head = (
        f"“{record.terms.service_name}” was still running at {record.terms.provider_name} after the app "
        "closed: stopped it now."
        if was_live
        else f"“{record.terms.service_name}” at {record.terms.provider_name} ended while the app was closed."
    )
    return RecoveryReport(
        local_id=record.local_id,
        service_name=record.terms.service_name,
        outcome=RecoveryOutcome.STILL_RUNNING_STOPPED if was_live else RecoveryOutcome.SETTLED,
        cost=cost,
        asset=record.terms.asset,
        message=f"{head} The permission was charged {fmt} for {short_duration(remote.seconds)}.",
    )
