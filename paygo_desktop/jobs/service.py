"""Fixed-price jobs for one account on one network: request a job from a provider's offer, fund it, read
its state, download and check its delivery, approve it or take the refund.

``JobsService.open(ctx, account)`` builds it from the ``AppContext``. The provider proposes a job's terms;
the app checks every one before storing them (it is the client, the provider's payTo is the worker, the
price, asset and review window are the offer's, the deadline is the offer's delivery time from now, the
terms are the hash of the brief it sent, the contract and chain are this network's), so a provider cannot
make the app fund something else. Each ``plan_*`` method checks what can be checked first and returns the
``TxRequest``s to send through ``self.transactions`` in the shared transaction flow (``chain.tx_flow``), as
the Escrow page's deposits are. The state is always read from PayGoJobs, never from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from pydantic import ValidationError

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.jobs import (
    NO_DELIVERY,
    JobOnChain,
    JobsClient,
    JobsDomain,
    JobStatus,
    brief_hash,
    verify_cancel,
)
from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.chain.transactions import InsufficientFunds, RpcUnavailable, TransactionManager, TxRequest
from paygo_desktop.chain.vouchers import ZERO_ADDRESS
from paygo_desktop.errors import UserFacingError
from paygo_desktop.escrow import requests
from paygo_desktop.escrow.balances import token_allowance, token_balance
from paygo_desktop.fileio import atomic_write_bytes
from paygo_desktop.jobs.records import JobRecord, JobRepository
from paygo_desktop.jobs.view import REMINDER_LEAD, JobView, job_view
from paygo_desktop.money import Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.protocol import jobs as pj
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.protocol.jobs import review_window_text
from paygo_desktop.protocol.jobs_client import MAX_DOWNLOAD_BYTES, JobsProviderClient
from paygo_desktop.store.database import Store
from paygo_desktop.store.transactions import TransactionRepository
from paygo_desktop.store.worker import StoreWorker

#: A provider's deadline may be this much later than the offer's delivery time from the app's reading of
#: the chain's clock (the provider read it a moment later; blocks come every few seconds).
DEADLINE_SLACK = 120
#: The shortest review window the app funds a job with. The provider may ``release`` the price as soon as
#: the window after its delivery has passed, whatever it delivered: with none (PayGoJobs allows 0) the
#: client's approval means nothing. A day is also the lead of the app's reminder before the window ends.
MIN_REVIEW_WINDOW = REMINDER_LEAD
LINK_SECONDS = 30.0  # a delivered link: each read, and its headers as a whole


class JobError(UserFacingError):
    """A job action that cannot be done as asked (nothing was sent)."""


@dataclass(frozen=True)
class JobsSetup:
    """What a JobsService is made of for one network and account (``read`` is SQL and file I/O: call it
    off the GUI thread; it also reads PayGoJobs' ABI into ``load_artifact``'s cache, so that ``build`` opens
    no file). Equal setups make the same service."""

    network: Network
    account: str
    jobs_address: str
    tokens: tuple[Asset, ...]

    @classmethod
    def read(cls, ctx: Any, account: str, *, jobs_address: str | None = None) -> JobsSetup:
        network = ctx.network
        address = jobs_address or ctx.jobs_address(network)
        load_artifact("PayGoJobs")  # kept in its cache: ``build`` may run on the GUI thread
        return cls(network, account, address, tuple(ctx.known_tokens(network)))


class JobsService:
    def __init__(
        self,
        w3: Any,
        network: Network,
        account: str,
        store: Store,
        *,
        jobs_address: str,
        tokens: Sequence[Asset] = (),
        confirmations: int | None = None,
        provider_client: Callable[[str], ProviderClient] = ProviderClient,
    ) -> None:
        self.w3 = w3
        self.network = network
        self.account = to_checksum_address(account)
        self.tokens = tuple(tokens)
        self.repository = JobRepository(store)
        self.store_work = StoreWorker()  # SQL off the event loop (the GUI thread), in order
        self.transactions = TransactionManager.for_network(
            w3, network, TransactionRepository(store), confirmations=confirmations
        )
        self.contract = JobsClient(w3, jobs_address)
        self.domain = JobsDomain(network.chain_id, jobs_address)
        self._provider_client = provider_client
        self._code_checked = False

    @classmethod
    def open(cls, ctx: Any, account: str, *, jobs_address: str | None = None, **kw: Any) -> JobsService:
        """For the context's network: its PayGoJobs (``AppContext.jobs_address``), or the one given."""
        return cls.build(ctx.store, JobsSetup.read(ctx, account, jobs_address=jobs_address), **kw)

    @classmethod
    def build(cls, store: Store, setup: JobsSetup, **kw: Any) -> JobsService:
        """From what ``JobsSetup.read`` found (no SQL or file here: the GUI thread may call it)."""
        from paygo_desktop.chain.rpc import async_web3

        return cls(
            async_web3(setup.network.rpc_url, timeout=15),
            setup.network,
            setup.account,
            store,
            jobs_address=setup.jobs_address,
            tokens=setup.tokens,
            **kw,
        )

    def explorer_url(self, tx_hash: str) -> str | None:
        return self.network.explorer_tx_url(tx_hash)

    async def aclose(self) -> None:
        provider = getattr(self.w3, "provider", None)
        disconnect = getattr(provider, "disconnect", None)
        if disconnect is not None:
            await disconnect()

    # -- the contract ------------------------------------------------------------------------------------
    async def _check_contract(self) -> None:
        """PayGoJobs' code, checked once: no price goes into a contract that is not PayGo's."""
        if self._code_checked:
            return
        from paygo_desktop.chain.canonical import JOBS
        from paygo_desktop.chain.code_check import check_contract_code
        from paygo_desktop.chain.create2 import code_at

        try:
            if self.contract.address == JOBS.address:
                await check_contract_code(self.w3, JOBS, self.network.chain_id)
            elif not await code_at(self.w3, self.contract.address):
                raise JobError(f"No PayGoJobs contract at {self.contract.address} on {self.network.name}.")
        except UserFacingError:
            raise
        except Exception as exc:
            raise RpcUnavailable(
                f"The network's RPC endpoint did not answer ({short_rpc_message(exc)})."
            ) from None
        self._code_checked = True

    async def _read(self, record: JobRecord) -> tuple[JobOnChain, int]:
        try:
            return await self.contract.state(record.job), await self.contract.chain_time()
        except Exception as exc:
            raise RpcUnavailable(
                f"The network's RPC endpoint did not answer ({short_rpc_message(exc)})."
            ) from None

    async def _record(self, job_id: str) -> JobRecord:
        record = await self.store_work(self.repository.get, job_id)
        if (
            record is None
            or record.job.client != self.account
            or record.chain_id != self.network.chain_id
            or to_checksum_address(record.contract) != self.contract.address  # read elsewhere: status None
        ):
            raise JobError("This job is not one of this account's on this network.")
        return record

    # -- asking a provider -------------------------------------------------------------------------------
    def _asset(self, info: Any, symbol: str) -> Asset:
        """The offer's asset as this app knows it on this network (never a token only the provider names)."""
        listed = next((a for a in info.assets if a.symbol == symbol), None)
        if listed is None:
            raise JobError(f"The provider prices this job in {symbol}, which it does not list.")
        address = to_checksum_address(listed.address)
        if address == ZERO_ADDRESS:
            return self.network.native
        for token in self.tokens:
            if token.address is not None and to_checksum_address(token.address) == address:
                return token
        raise JobError(
            f"The provider prices this job in {symbol} at {address}, a token this app does not know on "
            f"{self.network.name}."
        )

    async def offers(self, provider_url: str) -> list[pj.JobOffer]:
        async with self._provider_client(provider_url) as client:
            return list((await JobsProviderClient(client).offers()).items)

    async def priced_offers(self, provider_url: str) -> list[tuple[pj.JobOffer, Asset | None]]:
        """The provider's offers, each with its asset as this app knows it by address (``_asset``), None
        for a token the app does not know: a price is never read in a token the provider only names (one
        naming the USDC address "DAI" would show its prices in DAI's decimals)."""
        async with self._provider_client(provider_url) as client:
            info = await client.provider_info()
            offers = list((await JobsProviderClient(client).offers()).items)
        priced: list[tuple[pj.JobOffer, Asset | None]] = []
        for offer in offers:
            try:
                priced.append((offer, self._asset(info, offer.asset)))
            except JobError:
                priced.append((offer, None))
        return priced

    async def request(
        self,
        provider_url: str,
        offer_id: str,
        brief: str,
        key: Any,
        *,
        seen: pj.JobOffer | None = None,
        max_price: str | None = None,
    ) -> JobRecord:
        """Ask the provider for a job from its offer ``offer_id`` with ``brief``; check the terms it
        proposes and keep them. Nothing is paid yet (``plan_fund``). ``seen``: the offer as the user saw it
        listed; an offer the provider changed since (its price, asset, delivery time or review window) is
        refused before a job is asked for. ``max_price`` (a script's ``--max-price``, in the offer's asset):
        an offer that costs more is refused the same way."""
        if key.address != self.account:
            raise JobError("The signing key is not this account's.")
        try:
            pj.JobRequest(offer_id=offer_id, brief=brief)
        except ValidationError as exc:
            where = exc.errors()[0]["loc"][-1]
            raise JobError(
                "Write a brief of 1 to 8,000 characters, without control characters."
                if where == "brief"
                else "That is not a job offer's id."
            ) from None
        await self._check_contract()
        async with self._provider_client(provider_url) as client:
            api = JobsProviderClient(client)
            info = await client.provider_info()
            offer = await api.offer(offer_id)
            asset = self._asset(info, offer.asset)
            _check_offer(info.name, offer, asset, seen, max_price)
            before = await self.contract.chain_time()
            answer = await api.request_job(key, offer_id, brief)
        job = answer.job.to_job()
        problems = []
        if job.client != self.account:
            problems.append("the client is another account")
        if job.worker != to_checksum_address(info.pay_to):
            problems.append("the worker is not the provider's payTo")
        if job.token != to_checksum_address(asset.address or ZERO_ADDRESS):
            problems.append("the token is not the offer's asset")
        if job.price != offer.price:
            problems.append(f"the price {job.price} is not the offer's {offer.price}")
        if job.review_window != offer.review_window_seconds:
            problems.append("the review window is not the offer's")
        if not before < job.deadline <= before + offer.delivery_seconds + DEADLINE_SLACK:
            problems.append("the deadline is not the offer's delivery time from now")
        if job.terms != brief_hash(offer_id, brief):
            problems.append("the terms are not the hash of this brief")
        if answer.job_id != job.id_hex or to_checksum_address(answer.contract) != self.contract.address:
            problems.append("the job is for another contract")
        if answer.chain_id != self.network.chain_id:
            problems.append("the job is for another chain")
        if problems:
            raise JobError(
                f"The provider proposed other terms than its offer's ({'; '.join(problems)}); not kept."
            )
        record = JobRecord(
            job=job,
            chain_id=self.network.chain_id,
            contract=self.contract.address,
            asset=asset,
            provider_url=provider_url,
            provider_name=info.name,
            offer_id=offer_id,
            offer_name=offer.name,
            brief=brief,
            created_at=datetime.now(UTC),
        )
        await self.store_work(self.repository.add, record)
        return record

    async def refresh_from_provider(self, job_id: str, key: Any) -> pj.JobInfo:
        """The provider's view (accepted, declined, its delivery); a Cancel it gives is kept once checked."""
        record = await self._record(job_id)
        async with self._provider_client(record.provider_url) as client:
            info = await JobsProviderClient(client).job(key, job_id)
        if info.cancel_signature is not None and record.cancel_signature is None:
            signature = bytes.fromhex(info.cancel_signature[2:])
            if await asyncio.to_thread(verify_cancel, self.domain, record.job, NO_DELIVERY, signature):
                await self.store_work(self.repository.set_cancel_signature, job_id, signature)
        return info

    # -- reading -----------------------------------------------------------------------------------------
    async def view(self, job_id: str, *, accepted: bool = False) -> JobView:
        record = await self._record(job_id)
        on_chain, now = await self._read(record)
        return job_view(record, on_chain, now, accepted=accepted)

    async def views(self, key: Any = None) -> list[JobView]:
        """Every job of the account on this network, newest first, read from the chain. With ``key``, the
        provider of each job still waiting for its answer is asked too (accepted, or declined with its
        Cancel); a provider that does not answer changes nothing: the chain alone says what was paid."""
        records = await self.store_work(
            self.repository.for_client, self.account, self.network.chain_id, self.contract.address
        )
        out = []
        for record in records:
            on_chain, now = await self._read(record)
            accepted = False
            waiting = on_chain.status in (JobStatus.NONE, JobStatus.FUNDED) and now <= record.job.deadline
            if key is not None and waiting and record.cancel_signature is None:
                try:
                    accepted = (await self.refresh_from_provider(record.job_id, key)).accepted
                    record = await self._record(record.job_id)
                except UserFacingError:
                    pass  # the provider is away: the job's state is the chain's
            out.append(job_view(record, on_chain, now, accepted=accepted))
        return out

    # -- planning ----------------------------------------------------------------------------------------
    def _call(
        self, name: str, record: JobRecord, *args: Any, value: int = 0, kind: str, what: str
    ) -> TxRequest:
        data = self.contract.call_data(name, record.job.as_tuple(), *args)
        return TxRequest(to=self.contract.address, data=data, value=value, kind=kind, description=what)

    async def plan_fund(self, job_id: str) -> list[TxRequest]:
        """Lock the price: an exact approval first for a token whose allowance is short, then ``fund``."""
        record = await self._record(job_id)
        await self._check_contract()
        on_chain, now = await self._read(record)
        if on_chain.status is not JobStatus.NONE:
            raise JobError("This job is already funded.")
        if record.cancel_signature is not None:
            raise JobError("The provider declined this job; it is not funded.")
        if now >= record.job.deadline:
            raise JobError("This job's deadline has passed; request it again.")
        _check_review_window(record.job.review_window)  # a job kept by an app without this rule
        price = Amount(record.asset, record.job.price)
        held = await token_balance(self.w3, record.asset, self.account)
        if held < price:
            raise InsufficientFunds(f"The account holds {held.format()}; this job needs {price.format()}.")
        plan: list[TxRequest] = []
        if record.asset.address is not None:
            allowance = await token_allowance(self.w3, record.asset, self.account, self.contract.address)
            if allowance < price.units:
                plan.append(
                    requests.approve(price, self.contract.address, "for the job that follows", "PayGo Jobs")
                )
        value = price.units if record.job.is_native else 0
        what = (
            f"Lock {price.format()} for “{record.offer_name}” by {record.provider_name}; you will have "
            f"{review_window_text(record.job.review_window)} to review its delivery"
        )
        plan.append(self._call("fund", record, value=value, kind="job-fund", what=what))
        return plan

    async def plan_approve(self, job_id: str) -> list[TxRequest]:
        """Pay the worker for the delivery the chain holds (or, before one, for work received another way)."""
        record = await self._record(job_id)
        on_chain, _ = await self._read(record)
        if on_chain.status not in (JobStatus.FUNDED, JobStatus.DELIVERED):
            raise JobError("This job cannot be approved: it is not funded, or it has ended.")
        price = Amount(record.asset, record.job.price)
        what = f"Approve “{record.offer_name}” and pay {record.provider_name} {price.format()}"
        if on_chain.status is JobStatus.FUNDED:
            what += " (nothing is delivered on chain yet)"
        return [self._call("approve", record, on_chain.delivery, kind="job-approve", what=what)]

    async def plan_refund(self, job_id: str) -> list[TxRequest]:
        record = await self._record(job_id)
        on_chain, now = await self._read(record)
        if on_chain.status is not JobStatus.FUNDED:
            raise JobError("Only a funded job with nothing delivered can be refunded.")
        if now <= record.job.deadline:
            raise JobError(f"The refund opens after the deadline ({_utc(record.job.deadline)}).")
        price = Amount(record.asset, record.job.price)
        return [
            self._call(
                "refund",
                record,
                kind="job-refund",
                what=f"Take back {price.format()} (nothing was delivered)",
            )
        ]

    async def plan_cancel(self, job_id: str) -> list[TxRequest]:
        """The refund the provider's Cancel allows (it declined the job)."""
        record = await self._record(job_id)
        on_chain, _ = await self._read(record)
        if record.cancel_signature is None:
            raise JobError("The provider has not declined this job: there is no cancellation to send.")
        if on_chain.status is not JobStatus.FUNDED:
            raise JobError("Only a funded job not delivered yet can be cancelled.")
        price = Amount(record.asset, record.job.price)
        what = f"Take back {price.format()} (the provider declined the job)"
        return [self._call("cancel", record, record.cancel_signature, kind="job-cancel", what=what)]

    async def plan_release(self, job_id: str) -> list[TxRequest]:
        """Pay the worker once the review window has passed (anyone may; the provider usually does)."""
        record = await self._record(job_id)
        on_chain, now = await self._read(record)
        ends = on_chain.review_ends_at(record.job)
        if on_chain.status is not JobStatus.DELIVERED or ends is None or now <= ends:
            raise JobError("The worker can be paid without approval only after the review window.")
        return [
            self._call(
                "release", record, kind="job-release", what=f"Release “{record.offer_name}” to its worker"
            )
        ]

    # -- the delivery ------------------------------------------------------------------------------------
    async def download(
        self, job_id: str, key: Any, directory: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> Path:
        """Download the delivered file (or what the delivered link serves), at most ``max_bytes``, and keep
        it in ``directory`` only if its SHA-256 is the hash on chain (``DeliveryMismatch`` otherwise)."""
        record = await self._record(job_id)
        on_chain, _ = await self._read(record)
        if on_chain.status is JobStatus.NONE or on_chain.delivery == NO_DELIVERY:
            raise JobError("Nothing has been delivered on chain for this job yet.")
        async with self._provider_client(record.provider_url) as client:
            api = JobsProviderClient(client)
            info = await api.job(key, job_id)
            delivery = info.delivery
            if delivery is None:
                raise JobError("The provider does not say what it delivered.")
            if delivery.kind == "file":
                data = await api.download(key, job_id, on_chain.delivery, max_bytes=max_bytes)
                name = delivery.file_name or "delivery"
            else:
                assert delivery.url is not None
                data = await _fetch_link(delivery.url, on_chain.delivery, max_bytes)
                name = delivery.url.rstrip("/").rsplit("/", 1)[-1] or "delivery"
        name = name if _safe(name) else "delivery"
        target = directory / f"{job_id[2:10]}-{name}"
        digest = await asyncio.to_thread(_write, target, data)
        await self.store_work(self.repository.set_download, job_id, str(target), digest)
        return target


def _money_terms(offer: pj.JobOffer) -> tuple[int, str, int, int]:
    return offer.price, offer.asset, offer.delivery_seconds, offer.review_window_seconds


def _changes(seen: pj.JobOffer, now: pj.JobOffer) -> str:
    names = ("price", "asset", "delivery time", "review window")
    changed = [n for n, a, b in zip(names, _money_terms(seen), _money_terms(now), strict=True) if a != b]
    return f"its {', '.join(changed)}"


def _check_offer(
    provider: str, offer: pj.JobOffer, asset: Asset, seen: pj.JobOffer | None, max_price: str | None
) -> None:
    """Before a job is asked for: the offer's review window, the script's price ceiling, and that the
    offer is still the one the user saw listed."""
    _check_review_window(offer.review_window_seconds)
    if max_price is not None:
        cap = Amount.parse(max_price, asset)
        if offer.price > cap.units:
            raise JobError(
                f"{provider} asks {Amount(asset, offer.price).format()} for this job, more than the "
                f"{cap.format()} allowed; nothing was requested."
            )
    if seen is not None and _money_terms(seen) != _money_terms(offer):
        raise JobError(
            f"{provider} changed this offer since it was listed ({_changes(seen, offer)}); nothing "
            "was requested. Show its offers again to see the new terms."
        )


def _check_review_window(seconds: int) -> None:
    if seconds < MIN_REVIEW_WINDOW:
        raise JobError(
            f"This offer's review window is {review_window_text(seconds)}: once it delivers, the provider "
            "could take the price that long after, whatever it delivered, before you could check it. The app "
            f"funds jobs with a review window of at least {review_window_text(MIN_REVIEW_WINDOW)}."
        )


def _safe(name: str) -> bool:
    try:
        pj.DeliveryFileName.validate_python(name)
    except ValueError:
        return False
    return True


def _write(target: Path, data: bytes) -> bytes:
    """Write the checked delivery; its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)
    return hashlib.sha256(data).digest()


async def _fetch_link(url: str, expected: bytes, max_bytes: int) -> bytes:
    """What a delivered link serves, bounded and checked against the hash on chain."""
    import httpx

    from paygo_desktop.answer_limits import PLAIN
    from paygo_desktop.protocol.jobs_client import read_checked
    from paygo_desktop.tls import tls_context

    async with httpx.AsyncClient(
        timeout=LINK_SECONDS, verify=tls_context(), follow_redirects=True, headers=PLAIN
    ) as http:
        try:
            async with asyncio.timeout(LINK_SECONDS):  # its headers (the body keeps a pace instead)
                resp = await http.send(http.build_request("GET", url), stream=True)
            async with contextlib.aclosing(resp):
                if resp.status_code != 200:
                    raise JobError(f"The delivered link answered HTTP {resp.status_code}.")
                return await read_checked(resp, expected, max_bytes)
        except TimeoutError:
            raise JobError(f"The delivered link did not answer within {LINK_SECONDS:g} s.") from None
        except httpx.HTTPError as exc:
            raise JobError(f"The delivered link could not be read: {type(exc).__name__}.") from None


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
