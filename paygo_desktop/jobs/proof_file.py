"""A finished job's proof file (kind "job", ``receipts.job_proof``): its terms, its brief, the delivery
and the transaction that paid it out, sealed by the client's key.

The app keeps the job's terms and brief (``jobs.records``); the status, the delivery and the payout
transaction come from PayGoJobs: the payout's event (``JobApproved``, ``JobReleased``, ``JobRefunded`` or
``JobCancelled`` for this job id) is looked for in the contract's logs from the block of the job's request
on (``chain.log_ranges``: chunks the node accepts). A job still open has no proof yet, and says so. The
file is checked (``receipts.proof.verify_offline``) before it is handed back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from paygo_desktop.chain.jobs import JobsClient, JobStatus
from paygo_desktop.jobs.records import JobRecord, JobRepository
from paygo_desktop.receipts.job_chain_check import OUTCOME_EVENT
from paygo_desktop.receipts.job_proof import job_terms
from paygo_desktop.receipts.proof import FORMAT, VERSION, ProofError, proof_bytes, seal, verify_offline
from paygo_desktop.store.database import Store

STATUS_OUTCOME = {
    JobStatus.APPROVED: "approved",
    JobStatus.RELEASED: "released",
    JobStatus.REFUNDED: "refunded",
    JobStatus.CANCELLED: "cancelled",
}
CLOCK_SLACK = 3600  # the job's request time is this computer's clock: look an hour earlier on chain


async def _outcome(w3: Any, record: JobRecord, event: str) -> dict[str, Any]:
    from paygo_desktop.chain.log_ranges import LogRangeWalker, first_block_at

    created = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=UTC)
    start = await first_block_at(w3, int(created.timestamp()) - CLOCK_SLACK)
    end = int(await w3.eth.block_number)

    async def fetch(first: int, last: int) -> list[Any]:
        return list(
            await w3.eth.get_logs(
                {
                    "address": record.contract,
                    "topics": [OUTCOME_EVENT[event], record.job_id],
                    "fromBlock": first,
                    "toBlock": last,
                }
            )
        )

    def refused(block: int, reason: str) -> Exception:
        return ProofError(f"The node refused to list the contract's events at block {block:,} ({reason}).")

    async for _first, _last, found in LogRangeWalker().walk(start, end, fetch, refused):
        if found:
            entry = found[0]
            return {
                "event": event,
                "txHash": "0x" + bytes(entry["transactionHash"]).hex(),
                "blockNumber": int(entry["blockNumber"]),
            }
    raise ProofError(f"The job is {event} on chain, but the node shows no transaction that did it.")


async def job_proof(w3: Any, store: Store, job_id: str, network_name: str, key: Any) -> bytes:
    """The sealed proof file of the job ``job_id`` (``key``: the client's local account)."""
    record = await asyncio.to_thread(JobRepository(store).get, job_id)
    if record is None:
        raise ProofError(f"This app has no job {job_id[:18]}….")
    if getattr(key, "address", None) != record.job.client:
        raise ProofError("A job's proof is sealed by its client's key: unlock the account that asked for it.")
    state = await JobsClient(w3, record.contract).state(record.job)
    event = STATUS_OUTCOME.get(state.status)
    if event is None:
        raise ProofError(
            f"This job is {state.status.name.lower()} on chain: its proof is made once it is approved, "
            "released, refunded or cancelled."
        )
    body = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "job",
        "network": {"chainId": record.chain_id, "name": network_name},
        "contract": record.contract,
        "asset": {
            "symbol": record.asset.symbol,
            "decimals": record.asset.decimals,
            "address": record.asset.address and record.job.token,
        },
        "job": job_terms(record.job),
        "jobId": record.job_id,
        "brief": {
            "offerId": record.offer_id,
            "offerName": record.offer_name,
            "text": record.brief,
            "providerName": record.provider_name,
            "providerUrl": record.provider_url,
        },
        "delivery": "0x" + state.delivery.hex() if any(state.delivery) else None,
        "outcome": await _outcome(w3, record, event),
    }
    data = proof_bytes(seal(body, key))
    _body, checks = verify_offline(data)
    failed = [c.name for c in checks if c.ok is False]
    if failed:
        raise ProofError(f"The job's proof would not verify ({failed[0].lower()}): it was not written.")
    return data
