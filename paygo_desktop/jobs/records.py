"""The fixed-price jobs this app requested: their terms and where they came from (the store's ``jobs``
table, ``store.models.JobRow``). Nothing here says what was paid; ``jobs.service`` reads that from
PayGoJobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from paygo_desktop.chain.jobs import Job
from paygo_desktop.money import Asset
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import JobRow


@dataclass(frozen=True)
class JobRecord:
    job: Job
    chain_id: int
    contract: str
    asset: Asset
    provider_url: str
    provider_name: str
    offer_id: str
    offer_name: str
    brief: str
    created_at: datetime
    cancel_signature: bytes | None = None
    download_path: str | None = None
    download_sha256: bytes | None = None

    @property
    def job_id(self) -> str:
        return self.job.id_hex


def _record(row: JobRow) -> JobRecord:
    token = None if int(row.token, 16) == 0 else row.token
    return JobRecord(
        job=Job(
            client=row.client,
            worker=row.worker,
            token=row.token,
            price=int(row.price),
            deadline=row.deadline,
            review_window=row.review_window,
            terms=bytes.fromhex(row.terms[2:]),
            salt=bytes.fromhex(row.salt[2:]),
        ),
        chain_id=row.chain_id,
        contract=row.contract,
        asset=Asset(row.asset_symbol, row.asset_decimals, token),
        provider_url=row.provider_url,
        provider_name=row.provider_name,
        offer_id=row.offer_id,
        offer_name=row.offer_name,
        brief=row.brief,
        created_at=row.created_at,
        cancel_signature=bytes.fromhex(row.cancel_signature[2:]) if row.cancel_signature else None,
        download_path=row.download_path,
        download_sha256=bytes.fromhex(row.download_sha256[2:]) if row.download_sha256 else None,
    )


class JobRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, record: JobRecord) -> None:
        job = record.job
        with self._store.session() as s:
            s.add(
                JobRow(
                    id=job.id_hex,
                    chain_id=record.chain_id,
                    contract=record.contract,
                    client=job.client,
                    worker=job.worker,
                    token=job.token,
                    asset_symbol=record.asset.symbol,
                    asset_decimals=record.asset.decimals,
                    price=str(job.price),
                    deadline=job.deadline,
                    review_window=job.review_window,
                    terms="0x" + job.terms.hex(),
                    salt="0x" + job.salt.hex(),
                    provider_url=record.provider_url,
                    provider_name=record.provider_name,
                    offer_id=record.offer_id,
                    offer_name=record.offer_name,
                    brief=record.brief,
                    created_at=record.created_at,
                )
            )

    def get(self, job_id: str) -> JobRecord | None:
        with self._store.session() as s:
            row = s.get(JobRow, job_id.lower())
            return None if row is None else _record(row)

    def for_client(
        self, client: str, chain_id: int, contract: str | None = None, limit: int = 200
    ) -> list[JobRecord]:
        """The account's jobs on one chain (kept for one PayGoJobs, if ``contract`` is given: read at another
        address a funded job's status would be None), newest first."""
        with self._store.session() as s:
            query = select(JobRow).where(JobRow.client == client, JobRow.chain_id == chain_id)
            if contract is not None:
                query = query.where(func.lower(JobRow.contract) == contract.lower())
            rows = s.scalars(query.order_by(JobRow.created_at.desc()).limit(limit))
            return [_record(r) for r in rows]

    def set_cancel_signature(self, job_id: str, signature: bytes) -> None:
        with self._store.session() as s:
            row = s.get(JobRow, job_id.lower())
            if row is not None:
                row.cancel_signature = "0x" + signature.hex()

    def set_download(self, job_id: str, path: str, sha256: bytes) -> None:
        with self._store.session() as s:
            row = s.get(JobRow, job_id.lower())
            if row is not None:
                row.download_path = path
                row.download_sha256 = "0x" + sha256.hex()
