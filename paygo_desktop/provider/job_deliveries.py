"""Deliveries of the provider's jobs: the vendor delivers a file (stored here, one file per SHA-256, served
only to the client and the vendor) or a link, and the delivery's SHA-256 is posted on chain from the
provider's key. The job desk (``provider/jobs.py``) answers for the job; a delivery is shown in its answers
only once the chain holds the recorded hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from paygo_desktop.chain.jobs import NO_DELIVERY, Job, JobStatus
from paygo_desktop.fileio import atomic_write_bytes
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.job_store import JobRow
from paygo_desktop.provider.jobs import JobDesk, job_of

log = logging.getLogger(__name__)


class JobDeliveries:
    """The deliveries of ``desk``'s jobs, their files kept in ``directory`` (None: link deliveries only)."""

    def __init__(self, desk: JobDesk, directory: Path | None) -> None:
        self.desk = desk
        self.directory = directory

    def _deliveries_dir(self) -> Path:
        if self.directory is None:
            raise ApiError(
                409,
                "file_deliveries_off",
                "this provider takes link deliveries only (no `deliveries` directory)",
            )
        return self.directory

    def file_path(self, job_id: str, sha256: str) -> Path:
        """Where the file of ``job_id`` whose SHA-256 is ``sha256`` (0x…) is kept: one file per hash, so a
        later delivery never overwrites the file whose hash the chain holds."""
        return self._deliveries_dir() / f"{job_id.lower()}-{sha256[2:].lower()}"

    async def _ready_to_deliver(self, job_id: str) -> tuple[JobRow, Job]:
        row = self.desk.detached(job_id, self.desk.account.address)
        job = job_of(row)
        state, now = await self.desk.read_state(job)
        if row.declined:
            raise ApiError(409, "job_declined", "this job was declined")
        if state.status is JobStatus.DELIVERED or state.status.value > JobStatus.DELIVERED.value:
            raise ApiError(409, "wrong_state", "this job was delivered or has ended")
        if state.status is not JobStatus.FUNDED:
            raise ApiError(409, "not_funded", "the client has not funded this job")
        if not row.accepted:
            raise ApiError(409, "not_accepted", "accept the job before delivering it")
        if now >= row.deadline:  # the delivery goes into a later block, at the deadline at the latest
            raise ApiError(409, "deadline_passed", "the job's deadline has passed")
        return row, job

    async def deliver_file(self, job_id: str, file_name: str, data: bytes) -> pj.JobInfo:
        if not data:
            raise ApiError(422, "invalid_request", "the delivery file is empty")
        self._deliveries_dir()  # file deliveries are on
        digest = hashlib.sha256(data).digest()
        return await self._deliver(
            job_id, digest, kind="file", file_name=file_name, size=len(data), url=None, data=data
        )

    async def deliver_link(self, job_id: str, link: pj.DeliveryLink) -> pj.JobInfo:
        digest = bytes.fromhex(link.sha256[2:])
        if digest == NO_DELIVERY:
            raise ApiError(422, "invalid_request", "sha256 may not be zero")
        return await self._deliver(job_id, digest, kind="link", file_name=None, size=None, url=link.url)

    async def _deliver(
        self,
        job_id: str,
        digest: bytes,
        *,
        kind: str,
        file_name: str | None,
        size: int | None,
        url: str | None,
        data: bytes | None = None,
    ) -> pj.JobInfo:
        """Check, record and send one delivery, all under the lock of the provider's key: a second delivery
        of the job waits, then reads the chain this one wrote.

        A delivery recorded earlier and not on chain yet (its transaction may still be pending: the provider
        was stopped while it waited, or the node failed) is the only one the job may still take: the same
        delivery is sent again, another is refused. So whichever transaction is mined, the chain's hash is
        the recorded one, and its file (kept by hash) is the one served."""
        sha256 = "0x" + digest.hex()
        try:
            async with self.desk.send_lock():
                row, job = await self._ready_to_deliver(job_id)
                if row.delivery_sha256 is not None and row.delivery_sha256 != sha256:
                    raise ApiError(
                        409,
                        "delivery_pending",
                        f"a delivery with SHA-256 {row.delivery_sha256} is recorded and not on chain yet "
                        "(its transaction may still be mined); deliver that same file or link again to send "
                        "it again",
                    )
                if data is not None:
                    await asyncio.to_thread(self._store_file, row.id, sha256, data)
                self._record(row.id, kind=kind, sha256=sha256, file_name=file_name, size=size, url=url)
                await self._post(row, job, digest)
        except TimeoutError:  # the claimer's lock, held by another worker's claim round for too long
            raise ApiError(503, "busy", "the provider is sending other transactions; try again") from None
        return await self.desk.info(row.id, self.desk.account.address)

    def _store_file(self, job_id: str, sha256: str, data: bytes) -> None:
        path = self.file_path(job_id, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)

    def _record(
        self,
        job_id: str,
        *,
        kind: str,
        sha256: str,
        file_name: str | None,
        size: int | None,
        url: str | None,
    ) -> None:
        with self.desk.store.tx() as db:
            row = db.get(JobRow, job_id)
            assert row is not None
            row.delivery_kind = kind
            row.delivery_sha256 = sha256
            row.delivery_file_name = file_name
            row.delivery_size = size
            row.delivery_url = url
            row.deliver_tx = None

    async def _post(self, row: JobRow, job: Job, digest: bytes) -> None:
        """Send deliver(job, digest) from the provider's key, the caller holding its lock (the recorded
        delivery is shown only once the chain holds the same hash)."""
        from web3.exceptions import ContractLogicError

        from paygo_desktop.chain.jobs import error_name
        from paygo_desktop.chain.tx import TransactionFailed, send

        chain = await self.desk.chain()
        fees = await self.desk.capped_fees(
            chain.jobs.w3
        )  # held to the fee ceiling, before anything is signed
        try:
            result = await send(
                chain.jobs.w3,
                chain.jobs.function("deliver", job.as_tuple(), digest),
                self.desk.account,
                fees=fees,
            )
        except ContractLogicError as exc:
            name = error_name(getattr(exc, "data", None)) or "a revert"
            raise ApiError(409, "refused_on_chain", f"PayGoJobs refused the delivery: {name}") from None
        except TransactionFailed:
            # mined but reverted: an earlier transaction of this same delivery (sent before a restart) was
            # mined first, or the job changed meanwhile; the chain says which
            state, _ = await self.desk.read_state(job)
            if state.status is JobStatus.DELIVERED and state.delivery == digest:
                return
            raise ApiError(409, "refused_on_chain", "PayGoJobs refused the delivery") from None
        except Exception as exc:
            log.warning("jobs: sending a delivery failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the delivery could not be sent to the chain") from None
        with self.desk.store.tx() as db:
            stored = db.get(JobRow, row.id)
            assert stored is not None
            stored.deliver_tx = "0x" + result.tx_hash.hex()

    async def delivery_file(self, job_id: str, who: str) -> tuple[Path, str, str]:
        """The delivered file (path, SHA-256, name), for the client or the vendor, once it is on chain."""
        row = self.desk.detached(job_id, who)
        info = self.desk.info_of(row, job_of(row), *(await self.desk.read_state(job_of(row))))
        if info.delivery is None or info.delivery.kind != "file":
            raise ApiError(404, "no_delivery_file", "this job has no delivered file")
        path = self.file_path(row.id, info.delivery.sha256)
        if not path.is_file():
            path = self._deliveries_dir() / row.id  # a file delivered before files were kept by their hash
        if not path.is_file():
            raise ApiError(410, "delivery_gone", "the delivered file is no longer on this provider")
        return path, info.delivery.sha256, info.delivery.file_name or "delivery"
