"""A provider that goes back on a settled session's receipt, found at the next start on its channel.

A session's stop settles at the meter with a final voucher below the voucher signed one tick ahead, and the
provider's signed receipt says the channel's total is that final voucher's. The provider still holds the
earlier, higher voucher: our own signature, which it can claim on chain whatever the app does. If the next
start's ``GET /channels`` reports that voucher as its cursor, the provider went back on its receipt.

Refusing the start would protect nothing (the claim needs no start) and leave the books short of what the
provider can take. So the books follow what the provider holds (``SessionHistory.rebook_superseded``: the
difference is booked against the session that signed the voucher, its receipt marked not ok), its record
keeps a ``reneged`` verdict, and the user is told (a ``receipt_broken`` event naming that session); the new
session then starts from the provider's cursor, as before.
"""

from __future__ import annotations

import logging

from paygo_desktop.money import Amount
from paygo_desktop.reports.provider_record import provider_key
from paygo_desktop.sessions.plan import SessionPlan
from paygo_desktop.sessions.runtime import Runtime
from paygo_desktop.sessions.status import EventKind
from paygo_desktop.sessions.voucher_book import Rebooked
from paygo_desktop.store.provider_notes import RENEGED, ProviderNote, ProviderNotes

log = logging.getLogger(__name__)


async def book_if_reneged(rt: Runtime, plan: SessionPlan, channel_id: str, held: int) -> Rebooked | None:
    """The provider (``plan``'s) reports ``held``, checked as our signature, as its cursor on the channel:
    if it went back on a settlement, book it, note it and say so. None when it did not."""

    def fmt(units: int) -> str:
        return Amount(plan.asset, units).format()

    def why(settled: int) -> str:
        return (
            f"{plan.provider.name} later went back on this receipt: it holds your earlier voucher for "
            f"{fmt(held)} on the channel (signed one tick ahead) and not the {fmt(settled)} its receipt "
            f"settled at; the {fmt(held - settled)} more is booked to this session."
        )

    settled = await rt.db(rt.history.channel_committed, channel_id)
    if held <= settled:
        return None
    rebooked = await rt.db(rt.history.rebook_superseded, channel_id, held, why(settled))
    if rebooked is None:
        return None
    record = rebooked.record
    try:
        note = ProviderNote(
            provider_key=provider_key(plan.provider.pay_to, record.terms.provider_url),
            provider_url=record.terms.provider_url,
            provider_name=record.terms.provider_name,
            source="session",
            ref=record.local_id,
            verdict=RENEGED,
            detail=why(rebooked.settled),
            asset_symbol=plan.asset.symbol,
            decimals=plan.asset.decimals,
            meter_amount=rebooked.settled,
            provider_amount=rebooked.held,
        )
        await rt.db(ProviderNotes(rt.history.store).add, [note])
    except Exception:  # the record is for the user's information: the booking stands without it
        log.exception("the provider record of session %s was not kept", record.local_id)
    rt.emit(
        EventKind.RECEIPT_BROKEN,
        record.local_id,
        f"{plan.provider.name} went back on its signed receipt for “{record.terms.service_name}”: the "
        f"receipt settled your channel at {fmt(rebooked.settled)}, but the provider now counts from your "
        f"earlier voucher for {fmt(rebooked.held)} (signed one tick ahead), which it can claim on chain. "
        f"PayGo booked the {fmt(rebooked.extra)} to that session (now {fmt(record.cost)}) and marked its "
        "receipt as broken; the provider's record keeps it. The next session counts from "
        f"{fmt(rebooked.held)}, so nothing is paid twice.",
    )
    return rebooked
