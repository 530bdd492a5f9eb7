"""The provider releases its jobs' prices by itself: every ``auto_release_interval`` seconds, each delivered
job whose client's review window has passed on chain without an approval gets ``release(job)`` sent from
the provider's key, so a vendor who never asks is still paid (``POST /jobs/{id}/release`` remains).

A round reads the chain's time once (the latest block's timestamp: the clock PayGoJobs judges by, never the
provider's own) and then the state of each job this provider delivered that is not settled yet. A job is
released through ``JobDesk.release``, the route's own code: under the lock of the provider's key, with the
job's state and the chain's time read again under it, so a release is sent only when the review window is
over (chain time past its last second) and the job still delivered. A job found paid out (approved,
released, refunded, cancelled) or past its deadline with nothing delivered is marked ``settled`` and never
read again; a job still in its window is not read again before the chain's time passes the window's end
(remembered here: a delivery's time never changes). A release the chain refuses because the client's
approval (or another release) came first is no error: the job is paid, and settled. A node that cannot be
reached ends the round with one warning; the next round tries again.

It runs as a duty of the leader (``provider.leader``): one worker at a time, and every release, the round's
or one a vendor asks of any worker, holds the claim lock and reads the job again under it, so one release
is never sent twice. A release not mined within ``release_receipt_wait`` is on its way
(``provider.job_release_tx``): the rounds send no other for the job until it is mined (the job is then
settled) or gone (never mined: a new one is sent).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update

from paygo_desktop.chain.jobs import JobStatus
from paygo_desktop.logs import public_hex
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.job_store import JobRow
from paygo_desktop.provider.jobs import RELEASE_PENDING, JobDesk, job_of

log = logging.getLogger(__name__)

PAID = (pj.JobState.approved, pj.JobState.released)


class AutoRelease:
    """Releases ``desk``'s delivered jobs once their review window has passed, every ``interval`` s."""

    def __init__(self, desk: JobDesk, interval: float) -> None:
        self.desk = desk
        self.interval = interval
        self.rounds = 0  # rounds done (tests wait on it)
        self.running = False
        self._ends: dict[str, int] = {}  # job id -> the last second of its review window (chain time)

    async def run(self) -> None:
        """A round at once, then one every ``interval`` seconds; until cancelled."""
        log.info("jobs: releasing delivered jobs past their review window every %g s", self.interval)
        self.running = True
        try:
            while True:
                try:
                    await self.round()
                except ApiError as exc:  # the node, or the lock of the provider's key
                    said = str(exc).rstrip(" .")
                    log.warning("jobs: release round stopped: %s. Trying again in %g s.", said, self.interval)
                except Exception as exc:
                    log.warning("jobs: release round failed: %r; trying again in %g s", exc, self.interval)
                self.rounds += 1
                await asyncio.sleep(self.interval)
        finally:
            self.running = False

    def _open_deliveries(self) -> list[JobRow]:
        """This provider's jobs with a delivery recorded and not settled."""
        with self.desk.store.tx() as db:
            query = select(JobRow).where(JobRow.settled.is_(False), JobRow.delivery_sha256.is_not(None))
            rows = list(db.scalars(query.order_by(JobRow.requested_at)))
            for row in rows:
                db.expunge(row)
        return rows

    def _settle(self, job_id: str) -> None:
        self._ends.pop(job_id, None)
        with self.desk.store.tx() as db:
            db.execute(  # a release still recorded as on its way is over: the job was paid out
                update(JobRow)
                .where(JobRow.id == job_id)
                .values(settled=True, release_tx=None, release_nonce=None, release_sent_at=None)
            )

    async def round(self) -> list[str]:
        """Release every job due now; returns the ids of the jobs found paid by a release of this round.
        Raises ApiError (503) when the chain cannot be read: the rest waits for the next round."""
        rows = self._open_deliveries()
        if not rows:
            return []
        chain = await self.desk.chain()
        try:
            now = await chain.jobs.chain_time()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise ApiError(503, "chain_unavailable", f"reading the chain's time failed ({reason})") from None
        paid: list[str] = []
        for row in rows:
            ends = self._ends.get(row.id)
            if ends is not None and now <= ends:
                continue  # its review window is not over (nothing to read)
            job = job_of(row)
            state, _ = await self.desk.read_state(job)
            if state.status is JobStatus.DELIVERED:
                ends = state.review_ends_at(job)
                assert ends is not None
                self._ends[row.id] = ends
                if now > ends and await self._release(row.id):
                    paid.append(row.id)
            elif state.status in (JobStatus.NONE, JobStatus.FUNDED) and now <= row.deadline:
                continue  # its delivery's transaction may still be mined
            else:  # paid out, or never delivered before its deadline: nothing left to release
                self._settle(row.id)
        return paid

    async def _release(self, job_id: str) -> bool:
        """Send the job's release the route's way; True once the job is paid to the worker (by this
        release, or by the client's approval or another release mined first)."""
        try:
            info = await self.desk.release(job_id)
        except ApiError as exc:
            if exc.status != 409:
                raise  # the node or the key's lock: the next round tries again
            if exc.code == RELEASE_PENDING:  # sent earlier, not mined yet: the next rounds look again
                return False
            info = await self.desk.info(job_id, self.desk.account.address)
            if info.state not in PAID:
                log.warning("jobs: release of job %s not sent: %s", public_hex(job_id), exc.message)
                return False
            log.info("jobs: job %s was %s before its release was sent", public_hex(job_id), info.state.value)
        if info.state in PAID:
            self._settle(job_id)
            return True
        return False
