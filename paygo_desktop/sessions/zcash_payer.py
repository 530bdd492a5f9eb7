"""Paying a session from a prepaid Zcash spending permission (POST /api/v1/sessions, /sessions/end).

The provider bills the permission at the permission's own ``ratePerHourZat`` on its total used seconds; the
app meters the session itself on its monotonic clock (``LiveSession.signed`` is our metered amount, as
there are no vouchers) and follows what the provider deducted (``LiveSession.acked``, from GET
/sessions/{id} once a tick). A provider that stops answering for tick + grace ends the session, failed.
When the provider ends it because the permission ran out, the session ends with ``exhausted`` set so the
engine can continue on the escrow channel if the user allowed it. At the end, the permission's row in the
store gets our metered amount beside the provider's deduction (``metered_zat`` / ``deducted_zat``), for
the Zcash page's "trust, but verify" check.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from paygo_desktop.money import Amount
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol.client import ProviderClient, ProviderError, ProviderTimeout, ProviderUnreachable
from paygo_desktop.sessions.live import LiveSession
from paygo_desktop.sessions.reports import SessionSummary
from paygo_desktop.sessions.runtime import NS_PER_SECOND, Runtime, describe_error, short_duration
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import ZcashPermissionRow, utcnow

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
        remote: m.ZcashSession,
        cap_reason: str,
    ) -> None:
        self.rt = rt
        self.live = live
        self.client = client
        self.store = store
        self.remote = remote
        self.cap_reason = cap_reason
        self._last_ok_ns = 0

    def _fmt(self, units: int) -> str:
        return Amount(self.live.asset, units).format()

    async def run(self) -> ZcashEnding:
        live, meter = self.live, self.live.meter
        tick_ns = live.tick_seconds * NS_PER_SECOND
        next_check = tick_ns
        while True:
            if meter.is_exhausted():
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
        if remote.status is m.ZcashSessionStatus.live:
            return None
        if remote.status is m.ZcashSessionStatus.exhausted:
            return ZcashEnding("The Zcash permission ran out.", exhausted=True)
        return ZcashEnding(f"The provider ended the session ({remote.status.value}).", failed=True)

    def _record_deduction(self, remote: m.ZcashSession) -> None:
        self.remote = remote
        if remote.amount_zat > self.live.acked:
            self.live.acked = remote.amount_zat
            self.rt.history.update(self.live.local_id, acked=remote.amount_zat, signed=self.live.signed)
            self.rt.history.settle_spending(self.live.local_id, remote.amount_zat)
            self.rt.emit(
                "acked", self.live.local_id, f"The provider deducted {self._fmt(remote.amount_zat)}."
            )

    async def finish(self, ending: ZcashEnding) -> SessionSummary:
        live = self.live
        metered = live.meter.stop()
        live.signed = metered
        assert live.remote_id is not None
        problem = None
        try:
            remote = await asyncio.wait_for(
                self.client.end_zcash_session(live.remote_id), timeout=self.rt.request_timeout
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
        self._update_permission(remote, metered)
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

    def _update_permission(self, remote: m.ZcashSession, metered: int) -> None:
        """Our meter beside the provider's deduction on the permission's row (if the Zcash page keeps one)."""
        with self.store.session() as s:
            row = s.scalar(
                select(ZcashPermissionRow).where(
                    ZcashPermissionRow.provider_url == self.live.provider_url,
                    ZcashPermissionRow.permission_id == remote.permission_id,
                )
            )
            if row is None:
                return
            row.metered_zat += metered
            row.deducted_zat = remote.permission.spent_zat
            row.used_seconds = remote.permission.used_seconds
            row.status = remote.permission.status.value
            row.updated_at = utcnow()
