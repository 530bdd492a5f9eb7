"""The provider's job desk: job offers, requested jobs, the provider's answer, and the worker's pay.

A client asks for a job from an offer with its brief; the desk answers with the PayGoJobs terms (worker =
the provider's payTo, deadline = chain time + the offer's delivery time, terms = the brief's hash, a fresh
salt) and keeps them. The client funds them on chain. The vendor then accepts (only a funded job) or
declines (the desk signs the worker's ``Cancel(jobId, 0)``: with it the client takes a funded price back
at once). The vendor's deliveries are ``provider/job_deliveries.py``'s; once the client's review window
has passed, the desk sends ``release`` for the vendor: when it asks, or by itself every
``auto_release_interval`` (``provider/job_release.py``).

Every answer reads the job's state from the chain (``derive_state``): the desk's own rows say what was
asked and answered, never what was paid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from paygo_desktop.chain.jobs import (
    NO_DELIVERY,
    Job,
    JobOnChain,
    JobsClient,
    JobsDomain,
    JobStatus,
    brief_hash,
    sign_cancel,
)
from paygo_desktop.logs import public_hex
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol import models as m
from paygo_desktop.provider.api_error import ApiError
from paygo_desktop.provider.config import DEMO_CATALOG, ProviderConfig
from paygo_desktop.provider.core import Clock
from paygo_desktop.provider.job_store import JobOfferRow, JobRow
from paygo_desktop.provider.store import Store

log = logging.getLogger(__name__)

MAX_LISTED = 500
STALE_BATCH = 20  # unfunded requests past their time dropped at each new request (each one chain read)
RELEASE_PENDING = "release_pending"  # the 409's code while a job's release is on its way


@dataclass(frozen=True)
class Chain:
    """The connection to PayGoJobs, made on first use."""

    jobs: JobsClient
    domain: JobsDomain


def offer_model(row: JobOfferRow, vendor: m.VendorInfo) -> pj.JobOffer:
    return pj.JobOffer(
        id=row.id,
        name=row.name,
        description=row.description,
        category=row.category,
        price=int(row.price),
        asset=row.asset,
        delivery_seconds=row.delivery_seconds,
        review_window_seconds=row.review_window_seconds,
        is_active=row.is_active,
        vendor=vendor,
    )


def _fill(row: JobOfferRow, fields: pj.JobOfferFields) -> JobOfferRow:
    row.name = fields.name
    row.description = fields.description
    row.category = fields.category
    row.price = str(fields.price)
    row.asset = fields.asset
    row.delivery_seconds = fields.delivery_seconds
    row.review_window_seconds = fields.review_window_seconds
    row.is_active = fields.is_active
    return row


def job_of(row: JobRow) -> Job:
    return Job(
        client=row.client,
        worker=row.worker,
        token=row.token,
        price=int(row.price),
        deadline=row.deadline,
        review_window=row.review_window,
        terms=bytes.fromhex(row.terms[2:]),
        salt=bytes.fromhex(row.salt[2:]),
    )


class JobDesk:
    def __init__(
        self,
        config: ProviderConfig,
        store: Store,
        account: LocalAccount,
        clock: Clock,
        send_lock: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> None:
        self.config = config
        self.store = store
        self.account = account
        self.clock = clock
        self.send_lock = send_lock  # the provider's one key sends claims and deliveries: one nonce at a time
        self.vendor = m.VendorInfo(name=config.name, address=account.address)
        self._chain: Chain | None = None
        self._connecting = asyncio.Lock()
        self._seed()

    def _seed(self) -> None:
        """The job offers of the catalog seed (its entries of type ``job``), into a desk that has none."""
        with self.store.tx() as db:
            if db.scalar(select(func.count()).select_from(JobOfferRow)):
                return
        try:
            entries = json.loads(Path(self.config.catalog_seed or DEMO_CATALOG).read_text())
        except (OSError, ValueError):
            return  # create_app's own seeding says so
        now = int(self.clock())
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("type") != "job":
                continue
            try:
                offer_id = m.ServiceRef.model_validate({"id": entry.get("id")}).id
                fields = pj.JobOfferFields.model_validate(
                    {k: v for k, v in entry.items() if k not in ("id", "type")}
                )
            except ValidationError as exc:
                log.warning("skipping catalog seed job offer: %s", exc)
                continue
            if self.config.asset_by_symbol(fields.asset) is None:
                log.info("skipping job offer %s: asset %s not configured", offer_id, fields.asset)
                continue
            try:
                with self.store.tx() as db:
                    db.add(_fill(JobOfferRow(id=offer_id, created_at=now, deleted=False), fields))
            except IntegrityError:  # workers started together: another one seeded this offer first
                log.info("job offer %s: already seeded by another worker", offer_id)

    # ------------------------------------------------------------------ chain

    async def chain(self) -> Chain:
        """PayGoJobs on the provider's chain, its code checked once; 503 while it cannot be reached."""
        async with self._connecting:
            if self._chain is None:
                self._chain = await self._connect()
            return self._chain

    async def _connect(self) -> Chain:
        from paygo_desktop.chain.canonical import JOBS
        from paygo_desktop.chain.code_check import check_contract_code
        from paygo_desktop.chain.rpc import async_web3
        from paygo_desktop.errors import UserFacingError

        w3 = async_web3(self.config.rpc_url, timeout=10)
        address = self.config.jobs_contract or JOBS.address
        try:
            chain_id = int(await w3.eth.chain_id)
        except Exception as exc:
            log.warning("jobs: chain node unreachable: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot reach its chain node") from None
        if chain_id != self.config.chain_id:
            raise ApiError(503, "chain_unavailable", "the provider's node is on another chain")
        try:
            if address == JOBS.address:
                await check_contract_code(w3, JOBS, chain_id)
            elif not await w3.eth.get_code(to_checksum_address(address)):
                raise ApiError(503, "jobs_unavailable", f"no PayGoJobs contract at {address}")
        except UserFacingError as exc:
            raise ApiError(503, "jobs_unavailable", str(exc)) from None
        except ApiError:
            raise
        except Exception as exc:
            log.warning("jobs: reading the contract failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot read its chain") from None
        return Chain(JobsClient(w3, address), JobsDomain(chain_id, address))

    async def read_state(self, job: Job) -> tuple[JobOnChain, int]:
        chain = await self.chain()
        try:
            return await chain.jobs.state(job), await chain.jobs.chain_time()
        except Exception as exc:
            log.warning("jobs: reading a job failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot read its chain") from None

    # ------------------------------------------------------------------ offers

    def _offer_row(self, db: Any, offer_id: str) -> JobOfferRow:
        row = db.get(JobOfferRow, offer_id)
        if row is None or row.deleted:
            raise ApiError(404, "unknown_offer", "no such job offer")
        return row

    def _check_asset(self, fields: pj.JobOfferFields) -> None:
        if self.config.asset_by_symbol(fields.asset) is None:
            raise ApiError(422, "unsupported_asset", f"asset {fields.asset} is not configured")

    def offers(self, *, active_only: bool) -> pj.JobOfferPage:
        with self.store.tx() as db:
            query = select(JobOfferRow).where(JobOfferRow.deleted.is_(False))
            if active_only:
                query = query.where(JobOfferRow.is_active.is_(True))
            rows = list(db.scalars(query.order_by(JobOfferRow.name).limit(MAX_LISTED)))
            return pj.JobOfferPage(items=[offer_model(r, self.vendor) for r in rows], total=len(rows))

    def offer(self, offer_id: str) -> pj.JobOffer:
        with self.store.tx() as db:
            return offer_model(self._offer_row(db, offer_id), self.vendor)

    def save_offer(self, fields: pj.JobOfferFields, offer_id: str | None = None) -> pj.JobOffer:
        self._check_asset(fields)
        with self.store.tx() as db:
            if offer_id is None:
                row = JobOfferRow(
                    id="job_" + secrets.token_hex(8), created_at=int(self.clock()), deleted=False
                )
                db.add(row)
            else:
                row = self._offer_row(db, offer_id)
            return offer_model(_fill(row, fields), self.vendor)

    def delete_offer(self, offer_id: str) -> None:
        with self.store.tx() as db:
            row = self._offer_row(db, offer_id)
            row.deleted = True
            row.is_active = False

    # ------------------------------------------------------------------ jobs

    async def request(self, client: str, req: pj.JobRequest) -> pj.JobInfo:
        """The terms of a new job from ``req``'s offer for ``client``, kept until it is funded, or dropped if
        it is not within ``job_request_ttl`` (``_drop_stale``); a client has at most
        ``max_open_job_requests`` of them not funded at a time (429 past them)."""
        if client == self.account.address:
            raise ApiError(422, "invalid_request", "the provider cannot order its own job")
        await self._drop_stale()
        await self._check_open_requests(client)
        with self.store.tx() as db:
            offer = self._offer_row(db, req.offer_id)
            if not offer.is_active:
                raise ApiError(409, "offer_inactive", "this job offer is not taken at the moment")
            asset = self.config.asset_by_symbol(offer.asset)
            price, delivery, window = int(offer.price), offer.delivery_seconds, offer.review_window_seconds
        if asset is None:
            raise ApiError(409, "offer_inactive", f"asset {offer.asset} is no longer configured")
        chain = await self.chain()
        try:
            now = await chain.jobs.chain_time()
        except Exception:
            raise ApiError(503, "chain_unavailable", "the provider cannot read its chain") from None
        job = Job(
            client=client,
            worker=self.account.address,
            token=asset.address,
            price=price,
            deadline=now + delivery,
            review_window=window,
            terms=brief_hash(req.offer_id, req.brief),
            salt=secrets.token_bytes(32),
        )
        with self.store.tx() as db:
            db.add(
                JobRow(
                    id=job.id_hex,
                    offer_id=req.offer_id,
                    client=job.client,
                    worker=job.worker,
                    token=job.token,
                    price=str(job.price),
                    deadline=job.deadline,
                    review_window=job.review_window,
                    terms="0x" + job.terms.hex(),
                    salt="0x" + job.salt.hex(),
                    brief=req.brief,
                    requested_at=int(self.clock()),
                    accepted=False,
                    declined=False,
                    funded=False,
                )
            )
        return await self.info(job.id_hex, client)

    async def _unfunded(self, rows: list[JobRow]) -> list[JobRow]:
        """Those of ``rows`` still not funded on chain; the others are marked funded (for good: a job's
        status never goes back to None); 503 when the chain cannot be read (nothing is dropped then)."""
        chain = await self.chain()
        unfunded: list[JobRow] = []
        funded: list[JobRow] = []
        for row in rows:
            try:
                state = await chain.jobs.state(job_of(row))
            except Exception as exc:
                log.warning("jobs: reading a job failed: %r", exc)
                raise ApiError(503, "chain_unavailable", "the provider cannot read its chain") from None
            (unfunded if state.status is JobStatus.NONE else funded).append(row)
        if funded:
            with self.store.tx() as db:
                for row in funded:
                    db.get(JobRow, row.id).funded = True  # type: ignore[union-attr]
        return unfunded

    def _not_funded(self, *conditions: Any, limit: int) -> list[JobRow]:
        with self.store.tx() as db:
            query = select(JobRow).where(JobRow.funded.is_(False), *conditions)
            rows = list(db.scalars(query.order_by(JobRow.requested_at).limit(limit)))
            for row in rows:
                db.expunge(row)
        return rows

    async def _drop_stale(self) -> None:
        """Drop the oldest requests (a bounded batch, at each new request) asked more than
        ``job_request_ttl`` seconds ago and still not funded on chain: the client was to fund at once.
        A job funded after its request was dropped is unknown here; its price goes back to the client by
        ``refund`` after its deadline (PayGoJobs: anyone may send it)."""
        cutoff = int(self.clock()) - self.config.job_request_ttl
        stale = self._not_funded(JobRow.requested_at < cutoff, limit=STALE_BATCH)
        if not stale:
            return
        gone = await self._unfunded(stale)
        if gone:
            with self.store.tx() as db:
                db.execute(
                    delete(JobRow).where(JobRow.id.in_([r.id for r in gone]), JobRow.funded.is_(False))
                )
            log.info(
                "jobs: dropped %d job requests not funded within %d s", len(gone), self.config.job_request_ttl
            )

    async def _check_open_requests(self, client: str) -> None:
        """429 when ``client`` already has ``max_open_job_requests`` requests not funded (the chain read
        only when the desk's rows say it may be so)."""
        cap = self.config.max_open_job_requests
        cutoff = int(self.clock()) - self.config.job_request_ttl
        rows = self._not_funded(JobRow.client == client, JobRow.requested_at >= cutoff, limit=cap)
        if len(rows) < cap or len(await self._unfunded(rows)) < cap:
            return
        hours = self.config.job_request_ttl / 3600
        raise ApiError(
            429,
            "too_many_open_requests",
            f"this wallet already has {cap} job requests not funded; fund one of them, or ask again once one "
            f"has expired (a request not funded within {hours:g} h is dropped)",
        )

    def _row(self, db: Any, job_id: str, who: str) -> JobRow:
        row = db.get(JobRow, job_id.lower())
        if row is None:
            raise ApiError(404, "unknown_job", "no such job")
        if who not in (row.client, self.account.address):
            raise ApiError(403, "not_job_party", "only the job's client and its provider see it")
        return row

    def detached(self, job_id: str, who: str) -> JobRow:
        with self.store.tx() as db:
            row = self._row(db, job_id, who)
            db.expunge(row)
            return row

    async def info(self, job_id: str, who: str) -> pj.JobInfo:
        row = self.detached(job_id, who)
        job = job_of(row)
        state, now = await self.read_state(job)
        return self.info_of(row, job, state, now)

    def info_of(self, row: JobRow, job: Job, state: JobOnChain, now: int) -> pj.JobInfo:
        assert self._chain is not None
        delivery = None
        delivered = state.status not in (JobStatus.NONE, JobStatus.FUNDED) and state.delivery != NO_DELIVERY
        if (
            row.delivery_sha256 is not None
            and delivered
            and bytes.fromhex(row.delivery_sha256[2:]) == (state.delivery)
        ):
            delivery = pj.Delivery(
                kind="file" if row.delivery_kind == "file" else "link",
                sha256=row.delivery_sha256,
                file_name=row.delivery_file_name,
                size=row.delivery_size,
                url=row.delivery_url,
            )
        return pj.JobInfo(
            job_id=row.id,
            offer_id=row.offer_id,
            brief=row.brief,
            job=pj.JobTerms.from_job(job),
            chain_id=self._chain.domain.chain_id,
            contract=self._chain.domain.contract,
            state=pj.derive_state(
                state.status, declined=row.declined, accepted=row.accepted, deadline=job.deadline, now=now
            ),
            on_chain=int(state.status),
            chain_time=now,
            requested_at=row.requested_at,
            accepted=row.accepted,
            declined=row.declined,
            cancel_signature=row.cancel_signature,
            delivery=delivery,
            chain_delivery="0x" + state.delivery.hex() if delivered else None,
            delivered_at=state.delivered_at or None,
            review_ends_at=state.review_ends_at(job),
            deliver_tx=row.deliver_tx,
        )

    async def jobs(self, who: str) -> pj.JobList:
        """The vendor's jobs (every one), or one client's, newest first, each with its state on chain."""
        with self.store.tx() as db:
            query = select(JobRow)
            if who != self.account.address:
                query = query.where(JobRow.client == who)
            rows = list(db.scalars(query.order_by(JobRow.requested_at.desc()).limit(MAX_LISTED)))
            for row in rows:
                db.expunge(row)
        items = []
        for row in rows:
            job = job_of(row)
            state, now = await self.read_state(job)
            items.append(self.info_of(row, job, state, now))
        return pj.JobList(items=items)

    async def accept(self, job_id: str) -> pj.JobInfo:
        """The vendor takes a funded job on (its price is locked on chain until the deadline)."""
        row = self.detached(job_id, self.account.address)
        state, now = await self.read_state(job_of(row))
        if row.declined:
            raise ApiError(409, "job_declined", "this job was declined")
        if state.status is JobStatus.NONE:
            raise ApiError(409, "not_funded", "the client has not funded this job yet")
        if state.status is not JobStatus.FUNDED:
            raise ApiError(409, "wrong_state", "this job was delivered or has ended")
        if now > row.deadline:
            raise ApiError(409, "deadline_passed", "the job's deadline has passed")
        with self.store.tx() as db:
            db.get(JobRow, row.id).accepted = True  # type: ignore[union-attr]
        return await self.info(job_id, self.account.address)

    async def decline(self, job_id: str) -> pj.JobInfo:
        """The vendor refuses a job it has not delivered: it signs the worker's Cancel(jobId, 0), which
        the client sends to take a funded price back at once (a price funded later, too)."""
        row = self.detached(job_id, self.account.address)
        state, _ = await self.read_state(job_of(row))
        if state.status not in (JobStatus.NONE, JobStatus.FUNDED):
            raise ApiError(409, "wrong_state", "a delivered or ended job cannot be declined")
        chain = await self.chain()
        signature = await asyncio.to_thread(
            sign_cancel, self.account, chain.domain, bytes.fromhex(row.id[2:]), NO_DELIVERY
        )
        with self.store.tx() as db:
            stored = db.get(JobRow, row.id)
            assert stored is not None
            stored.declined = True
            stored.cancel_signature = "0x" + signature.hex()
        return await self.info(job_id, self.account.address)

    # ------------------------------------------------------------------ the worker's pay

    async def release(self, job_id: str) -> pj.JobInfo:
        """The vendor is paid for a delivery its client neither approved nor disputed: once the review
        window has passed (chain time), the desk sends ``release(job)`` from the provider's key, under its
        lock. Anyone may send it; without this a client who stays silent would leave the price in the
        contract until the vendor found another way to send it. The vendor's route and the provider's own
        rounds (``provider.job_release``) both send it here.

        One release of a job is on its way at a time (``provider.job_release_tx``): while the one sent
        earlier may still be mined, nothing is sent and the answer is 409 ``release_pending`` with its hash;
        the same answer when the one sent now is not mined within ``release_receipt_wait``."""
        row = self.detached(job_id, self.account.address)
        job = job_of(row)
        try:
            async with self.send_lock():
                mined = await self._earlier_release(row.id)
                state, now = await self.read_state(job)
                if not (mined and state.status.paid_worker):  # else: paid by the release sent earlier
                    self._check_releasable(job, state, now)
                    await self._send_release(row.id, job)
        except TimeoutError:  # the claimer's lock, held by another worker's claim round for too long
            raise ApiError(503, "busy", "the provider is sending other transactions; try again") from None
        return await self.info(row.id, self.account.address)

    @staticmethod
    def _check_releasable(job: Job, state: JobOnChain, now: int) -> None:
        if state.status is not JobStatus.DELIVERED:
            raise ApiError(409, "wrong_state", "this job is not delivered, or it has ended")
        ends = state.review_ends_at(job)
        assert ends is not None
        if now <= ends:
            raise ApiError(
                409,
                "review_not_over",
                f"the client's review window ends at {ends} (chain time); release the job after it",
            )

    async def _earlier_release(self, job_id: str) -> bool:
        """What became of the release recorded for the job, if any (the caller holds the key's lock): True
        once it is mined (its record cleared), False when there is none or it is gone (a new one may be
        sent); 409 ``release_pending`` while it may still be mined, 503 when the node cannot tell."""
        from paygo_desktop.provider import job_release_tx as rtx

        sent = rtx.recorded(self.store, job_id)
        if sent is None:
            return False
        chain = await self.chain()
        try:
            fate = await rtx.fate(
                chain.jobs.w3,
                self.account.address,
                sent,
                int(self.clock()),
                self.config.release_dropped_after,
            )
        except Exception as exc:
            log.warning("jobs: reading what became of a release failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot read its chain") from None
        if fate is rtx.Fate.ON_ITS_WAY:
            raise _on_its_way(sent.tx_hash)
        rtx.forget(self.store, job_id, sent)
        return fate is rtx.Fate.MINED

    async def capped_fees(self, w3: Any) -> dict[str, int]:
        """The explicit fee fields of a transaction from the provider's key, held to its fee ceiling
        (``provider.fee_ceiling``): 503 ``fee_above_ceiling`` when the node asks more (nothing is signed);
        503 ``chain_unavailable`` when it does not answer."""
        from paygo_desktop.provider.fee_ceiling import API_CODE, FeeAboveCeiling, capped_fees

        try:
            return (await capped_fees(w3, self.config.max_fee_per_gas)).params()
        except FeeAboveCeiling as exc:
            raise ApiError(503, API_CODE, str(exc)) from None
        except Exception as exc:
            log.warning("jobs: reading the chain's fees failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the provider cannot read its chain's fees") from None

    async def _send_release(self, job_id: str, job: Job) -> None:
        """Sign the release (at most at the fee ceiling), record it (``provider.job_release_tx``), broadcast
        it and wait for it."""
        from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

        from paygo_desktop.chain.jobs import error_name
        from paygo_desktop.chain.tx import TransactionFailed, sign_call, wait_mined
        from paygo_desktop.provider import job_release_tx as rtx

        chain = await self.chain()
        w3 = chain.jobs.w3
        fees = await self.capped_fees(w3)  # before anything is signed: above the ceiling, nothing is
        try:
            signed = await sign_call(
                w3, chain.jobs.function("release", job.as_tuple()), self.account, fees=fees
            )
        except ContractLogicError as exc:
            name = error_name(getattr(exc, "data", None)) or "a revert"
            raise ApiError(409, "refused_on_chain", f"PayGoJobs refused the release: {name}") from None
        except Exception as exc:
            log.warning("jobs: preparing a release failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the release could not be sent to the chain") from None
        sent = rtx.SentRelease("0x" + signed.tx_hash.hex(), signed.nonce, int(self.clock()))
        rtx.record(self.store, job_id, sent)  # before it leaves: a kill after the broadcast sends no other
        try:
            await w3.eth.send_raw_transaction(signed.raw)
        except Web3RPCError as exc:  # the node answered: refused, not on its way
            if "already known" not in str(exc).lower():
                rtx.forget(self.store, job_id, sent)
                log.warning("jobs: the node refused a release: %r", exc)
                raise ApiError(503, "chain_unavailable", "the node refused the release") from None
        except Exception as exc:  # no answer: it may have reached the node; ``fate`` tells at the next try
            log.warning("jobs: sending a release failed: %r", exc)
            raise ApiError(503, "chain_unavailable", "the release could not be sent to the chain") from None
        try:
            result = await wait_mined(w3, signed.tx_hash, self.config.release_receipt_wait)
        except TimeExhausted:
            log.info(
                "jobs: job %s: its release (tx %s) is not mined within %g s; not sent again meanwhile",
                public_hex(job.id_hex),
                public_hex(sent.tx_hash),
                self.config.release_receipt_wait,
            )
            raise _on_its_way(sent.tx_hash) from None
        except TransactionFailed as exc:
            rtx.forget(self.store, job_id, sent)
            state, _ = await self.read_state(job)
            if state.status.paid_worker:  # the client's approval (or another release) was mined first
                log.info(
                    "jobs: release of job %s sent (tx %s), reverted: the job was %s first",
                    public_hex(job.id_hex),
                    public_hex(exc.tx_hash),
                    state.status.name.lower(),
                )
                return
            raise ApiError(409, "refused_on_chain", "PayGoJobs refused the release") from None
        except Exception as exc:  # the node, while waiting: the release stays on its way
            log.warning("jobs: waiting for a release failed: %r", exc)
            raise _on_its_way(sent.tx_hash) from None
        rtx.forget(self.store, job_id, sent)
        log.info(
            "jobs: release of job %s sent (tx %s): %d base units of %s to %s",
            public_hex(job.id_hex),
            public_hex(result.tx_hash),
            job.price,
            job.token,
            job.worker,
        )


def _on_its_way(tx_hash: str) -> ApiError:
    return ApiError(
        409,
        RELEASE_PENDING,
        f"the job's release is on its way (transaction {tx_hash}), not mined yet; the price is paid once it "
        "is, and no other release is sent meanwhile",
    )
