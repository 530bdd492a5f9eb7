"""Paying a session from a prepaid Zcash spending permission (POST /api/v1/sessions, /sessions/end).

The provider bills the permission at the permission's own ``ratePerHourZat`` on its total used seconds; the
app meters the session itself on its monotonic clock at the rate agreed when the permission was bought
(``LiveSession.signed`` is our metered amount, as there are no vouchers) and follows what the provider
deducted (``LiveSession.acked``, from GET
/sessions/{id} once a tick: while the session is live that is the permission's spending beyond what it
had spent when the session started, at the end the session's own amount). A provider that stops answering
for tick + grace ends the session, failed. When the permission runs out — our meter reaches what it had
left, or the provider ends the session as exhausted, whichever comes first — the session ends with
``exhausted`` set, so the engine can continue on the escrow channel if the user allowed it. At the start,
once a tick and at the end, the permission's row in the store gets our meter (seconds and zatoshi) and the
provider's answer beside it, never over it (``zcash.cross_check``); whatever the provider reports that
disagrees with our record is flagged on the Zcash page and in the activity log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from paygo_desktop.errors import describe_error
from paygo_desktop.money import Amount
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, ProviderError, ProviderTimeout, ProviderUnreachable
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.reports import SessionSummary
from paygo_desktop.sessions.runtime import NS_PER_SECOND, Runtime, short_duration
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ZcashPermissionRow
from paygo_desktop.zcash import cross_check

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZcashEnding:
    reason: str
    failed: bool = False
    exhausted: bool = False  # the permission ran out (the fallback may take over)


class ZcashRun:
    def __init__(
        self,
        rt: Runtime,
        live: LiveSession,
        *,
        client: ProviderClient,
        store: Store,
        token: str,
        remote: m.ZcashSession,
        cap_reason: str,
        cap_is_permission: bool,
        exhausted_reason: str,
    ) -> None:
        """``cap_is_permission``: the meter's cap is what the permission had left (not the user's budget),
        so reaching it means the permission ran out; ``exhausted_reason`` then says what happens next."""
        self.rt = rt
        self.live = live
        self.client = client
        self.store = store
        self._token = token  # the permission's bearer token: ending the session needs it (never logged)
        self.remote = remote
        self.cap_reason = cap_reason
        self.cap_is_permission = cap_is_permission
        self.exhausted_reason = exhausted_reason
        self._last_ok_ns = 0
        self._spent_at_start = remote.permission.spent_zat
        self._metered_before, self._used_before = self._stored_meter(remote.permission_id)

    def _fmt(self, units: int) -> str:
        return Amount(self.live.asset, units).format()

    async def run(self) -> ZcashEnding:
        live, meter = self.live, self.live.meter
        self._update_permission(self.remote, 0, 0)
        tick_ns = live.tick_seconds * NS_PER_SECOND
        next_check = tick_ns
        while True:
            if meter.is_exhausted():
                if self.cap_is_permission:
                    return ZcashEnding(self.exhausted_reason, exhausted=True)
                return ZcashEnding(self.cap_reason)
            live.signed = meter.cost()
            if not live.low_funds_warned and meter.is_low():
                live.low_funds_warned = True
                self.rt.emit(
                    "low_funds",
                    live.local_id,
                    f"Less than 20% of this session's funds left: {self._fmt(meter.remaining())}, about "
                    f"{short_duration(meter.seconds_left())} at this rate.",
                )
            elapsed = meter.elapsed_ns()
            if elapsed >= next_check:
                next_check = (elapsed // tick_ns + 1) * tick_ns
                ending = await self._check_remote()
                if ending is not None:
                    return ending
            if elapsed - self._last_ok_ns > (live.tick_seconds + live.grace_seconds) * NS_PER_SECOND:
                return ZcashEnding(
                    f"The provider stopped answering for {live.tick_seconds + live.grace_seconds} s "
                    "(tick + grace); stopped.",
                    failed=True,
                )
            await asyncio.sleep(min(self.rt.max_sleep, self.rt.seconds_to(next_check - elapsed)))

    async def _check_remote(self) -> ZcashEnding | None:
        assert self.live.remote_id is not None
        try:
            remote = await self.client.get_zcash_session(self.live.remote_id)
        except (ProviderUnreachable, ProviderTimeout) as exc:
            log.info("zcash session %s not checked: %s", self.live.local_id, exc)
            return None
        except ProviderError as exc:
            return ZcashEnding(f"The provider's answer was not usable: {describe_error(exc)}", failed=True)
        self._last_ok_ns = self.live.meter.elapsed_ns()
        self._record_deduction(remote)
        self._update_permission(remote, self.live.meter.cost(), self._seconds())
        if remote.status is m.ZcashSessionStatus.live:
            return None
        if remote.status is m.ZcashSessionStatus.exhausted:
            return ZcashEnding(self.exhausted_reason, exhausted=True)
        return ZcashEnding(f"The provider ended the session ({remote.status.value}).", failed=True)

    def _deducted(self, remote: m.ZcashSession) -> int:
        """What the provider has deducted for this session: its own amount once ended; while live, what
        the permission spent since the session started (the provider counts the live session in)."""
        if remote.status is m.ZcashSessionStatus.live:
            return max(0, remote.permission.spent_zat - self._spent_at_start)
        return remote.amount_zat

    def _record_deduction(self, remote: m.ZcashSession) -> None:
        self.remote = remote
        deducted = self._deducted(remote)
        if deducted > self.live.acked:
            self.live.acked = deducted
            self.rt.history.update(self.live.local_id, acked=deducted, signed=self.live.signed)
            self.rt.history.settle_spending(self.live.local_id, deducted)
            self.rt.emit("acked", self.live.local_id, f"The provider deducted {self._fmt(deducted)}.")

    async def finish(self, ending: ZcashEnding) -> SessionSummary:
        live = self.live
        metered = live.meter.stop()
        live.signed = metered
        assert live.remote_id is not None
        problem = None
        try:
            remote = await asyncio.wait_for(
                self.client.end_zcash_session(live.remote_id, self._token), timeout=self.rt.request_timeout
            )
            self._record_deduction(remote)
        except (ProviderError, TimeoutError) as exc:
            problem = "The provider did not confirm the end: " + (
                describe_error(exc) if isinstance(exc, ProviderError) else "timeout."
            )
            remote = self.remote
        cost = remote.amount_zat
        seconds = live.meter.elapsed_ns() // NS_PER_SECOND
        status = "failed" if ending.failed else "stopped"
        self.rt.history.settle_spending(live.local_id, cost)
        self.rt.history.update(
            live.local_id,
            status=status,
            signed=metered,
            acked=cost,
            cost=cost,
            seconds=seconds,
            stop_reason=ending.reason,
            receipt=remote.model_dump_json(by_alias=True),
            receipt_ok=None,
            ended_at=self.rt.now(),
        )
        self._update_permission(remote, metered, self._seconds())
        parts = [
            f"{'Stopped' if status == 'stopped' else 'Failed'}: {short_duration(seconds)} of "
            f"{live.service_name}; the provider deducted {self._fmt(cost)} from the permission "
            f"(our meter: {self._fmt(metered)}).",
            ending.reason,
        ]
        if problem:
            parts.append(problem)
        message = " ".join(parts)
        live.stop_reason = ending.reason
        live.status = status
        self.rt.emit(status, live.local_id, message)
        return SessionSummary(
            local_id=live.local_id,
            seconds=seconds,
            cost=cost,
            rate=live.price,
            asset=live.asset,
            receipt_ok=problem is None and remote.status is not m.ZcashSessionStatus.live,
            receipt=remote,
            message=message,
            metered=metered,
            status=status,
        )

    def _row(self, s: Any, permission_id: str) -> ZcashPermissionRow | None:
        return s.scalar(
            select(ZcashPermissionRow).where(
                ZcashPermissionRow.provider_url == self.live.provider_url,
                ZcashPermissionRow.permission_id == permission_id,
            )
        )

    def _stored_meter(self, permission_id: str) -> tuple[int, int]:
        """What the app metered on this permission in earlier sessions: zatoshi and seconds."""
        with self.store.session() as s:
            row = self._row(s, permission_id)
            return (row.metered_zat, row.used_seconds) if row is not None else (0, 0)

    def _seconds(self) -> int:
        """The whole seconds our meter charged this session for (never beyond what its budget buys)."""
        meter = self.live.meter
        return min(meter.elapsed_ns() // NS_PER_SECOND, meter.price.seconds_for(meter.budget))

    def _update_permission(self, remote: m.ZcashSession, metered: int, seconds: int) -> None:
        """Our meter (earlier sessions + this one so far) on the permission's row, if the Zcash page keeps
        one, and the provider's answer beside it; what disagrees goes to the activity log."""
        now = int(self.rt.now().timestamp())
        with self.store.session() as s:
            row = self._row(s, remote.permission_id)
            if row is None:
                return
            cross_check.record_meter(row, self._used_before + seconds, self._metered_before + metered, now)
            found = cross_check.record_report(s, row, remote.permission, now)
            account = row.account
        cross_check.record_disagreements(
            self.store, self.live.provider_url, remote.permission_id, account, found
        )
