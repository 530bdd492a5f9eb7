"""The end of an escrow session, as told: the provider's receipt checked against the vouchers and the meter
(``check_receipt``, ``settled``), the summary's words (``_message``), and the provider record
(``_note_provider``). ``EscrowPayer`` mixes them in; its ``finish`` calls them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from paygo_desktop.metering.meter import short_duration
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import verify_receipt
from paygo_desktop.reports.provider_record import SessionEnd, session_notes
from paygo_desktop.sessions.payer import Ending
from paygo_desktop.sessions.runtime import RECEIPT_SECONDS_TOLERANCE
from paygo_desktop.sessions.status import SessionStatus
from paygo_desktop.store.provider_notes import ProviderNotes

if TYPE_CHECKING:
    from paygo_desktop.sessions.payer import Payer
    from paygo_desktop.sessions.plan import SessionPlan
    from paygo_desktop.sessions.terms import SessionTerms

    _PayerBase = Payer
else:
    _PayerBase = object

log = logging.getLogger(__name__)


class EscrowReceipt(_PayerBase):
    """The receipt's check and the end's words of ``EscrowPayer`` (what they use of it is declared here)."""

    if TYPE_CHECKING:
        plan: SessionPlan
        terms: SessionTerms
        base: int
        channel_hex: str
        final_voucher: int | None
        settle_refused: str | None

    def settled(self, receipt: m.Receipt) -> bool:
        """Did the provider settle the session at the final voucher we sent with stop?"""
        return self.final_voucher is not None and receipt.final_cumulative == self.base + self.final_voucher

    def check_receipt(self, receipt: m.Receipt, seconds: int) -> tuple[bool, int, str | None]:
        """(receipt_ok, this session's cost, the problem if any).

        The cost is what the provider's receipt holds the session to: our final voucher when it settled
        at it, else what it holds, which can only lie between what it confirmed and what we signed. A
        receipt outside that, with another session or channel, a wrong signature or seconds that disagree
        with our meter beyond the rounding is not ok.
        """
        live = self.session
        final = receipt.final_cumulative - self.base
        settled = self.settled(receipt)
        cost = final if settled else min(live.signed, max(live.acked, final))
        problems: list[str] = []
        if not verify_receipt(receipt, self.plan.provider):
            problems.append("its signature is not the provider's")
        if receipt.session_id != live.remote_id or receipt.channel_id != self.channel_hex:
            problems.append("it names another session or channel")
        if not settled and not live.acked <= final <= live.signed:
            problems.append(
                f"it says {self.terms.amount(max(0, final))}, but the vouchers confirmed "
                f"{self.terms.amount(live.acked)} and signed {self.terms.amount(live.signed)}"
            )
        if receipt.amount != receipt.final_cumulative - self.base:
            problems.append("its amount does not match its final cumulative")
        paid_seconds = self.terms.price.seconds_for(max(0, final))
        expected = min(seconds, paid_seconds)
        if abs(receipt.seconds - expected) > RECEIPT_SECONDS_TOLERANCE:
            problems.append(f"it counts {receipt.seconds} s where the meter counted {expected} s")
        if problems:
            return False, cost, "The receipt does not check out: " + "; ".join(problems) + "."
        return True, cost, None

    def _message(
        self,
        ending: Ending,
        status: SessionStatus,
        seconds: int,
        cost: int,
        metered: int,
        receipt_ok: bool,
        problem: str | None,
        exposure: int,
    ) -> str:
        fmt = self.terms.amount
        heads = {
            SessionStatus.STOPPED: "Stopped",
            SessionStatus.RECEIPT_INVALID: "Stopped without a valid receipt",
        }
        head = heads.get(status, "Failed")
        until = " (until the provider's last confirmed payment)" if ending.provider_gone else ""
        parts = [
            f"{head}: {short_duration(seconds)} of {self.terms.service_name}{until} for {fmt(cost)}.",
            ending.reason,
        ]
        if cost > metered:
            parts.append(f"{fmt(cost - metered)} of it paid ahead for the rest of the last tick.")
        if self.settle_refused:
            parts.append(f"The provider did not settle at the meter: {self.settle_refused}.")
        if receipt_ok and cost == metered:
            parts.append("The provider's receipt matches the meter to the base unit.")
        elif receipt_ok:
            parts.append("The provider's receipt checks out.")
        elif problem:
            parts.append(problem)
        if exposure > 0:
            parts.append(
                f"A voucher for {fmt(exposure)} more was signed but never confirmed; the provider could "
                "still claim it (at most one tick)."
            )
        return " ".join(p for p in parts if p)

    async def _note_provider(
        self, receipt: m.Receipt | None, receipt_ok: bool, metered: int, problem: str | None
    ) -> None:
        """The provider record (``reports.provider_record``): what its receipt said beside the meter. Kept
        for the user's information: failing to keep it never fails the session's end."""
        live, provider = self.session, self.plan.provider
        try:
            end = SessionEnd(
                local_id=live.local_id,
                provider_url=live.terms.provider_url,
                provider_name=live.terms.provider_name,
                pay_to=provider.pay_to,
                asset=live.terms.asset,
                metered=metered,
                receipt_amount=None if receipt is None else receipt.amount,
                receipt_signed=receipt is not None and verify_receipt(receipt, provider),
                receipt_ok=receipt_ok,
                problem=problem,
                settle_refused=self.settle_refused,
            )
            await self.rt.db(ProviderNotes(self.rt.history.store).add, session_notes(end))
        except Exception:
            log.exception("the provider record of session %s was not kept", live.local_id)
