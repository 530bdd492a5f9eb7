"""The ``job`` kind of proof file: a fixed-price job (PayGoJobs) and how it was paid out.

Inside the same envelope, canonical form and seal as every proof (``receipts.proof``)::

    format "paygo-proof", version 1, kind "job"
    network {chainId, name}, contract (the PayGoJobs), asset {symbol, decimals, address}
    job {client, worker, token, price, deadline, reviewWindow, terms, salt}: the job's terms
    jobId      their EIP-712 struct hash, as PayGoJobs computes it
    brief {offerId, offerName, text, providerName, providerUrl}: what was asked (``terms`` is its hash)
    delivery   the delivery's hash the worker posted on chain, or null (none was)
    outcome {event, txHash, blockNumber}: the transaction that paid the price out (approved or released
               to the worker, refunded or cancelled back to the client)
    seal       the client's EIP-191 signature, as for every proof

**Checked without a node** (``job_checks``): every part's shape and one spelling (checksummed addresses,
lower-case hex, amounts as strings of base units); the job id recomputed from the terms; the brief hashing
to the terms (``chain.jobs.brief_hash``); the asset being the job's token; an approval or a release naming
a delivery; and the seal by the job's client. ``receipts.job_chain_check`` adds what the chain says.
"""

from __future__ import annotations

import re
from typing import Any

from eth_utils import to_checksum_address

from paygo_desktop.chain.jobs import Job, brief_hash
from paygo_desktop.receipts.checks import Check, ProofError

OUTCOMES = ("approved", "released", "refunded", "cancelled")
JOB_PARTS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "version": int,
    "kind": str,
    "network": dict,
    "contract": str,
    "asset": dict,
    "job": dict,
    "jobId": str,
    "brief": dict,
    "delivery": (str, type(None)),
    "outcome": dict,
}  # and "seal"
JOB_PART_KEYS = {
    "network": {"chainId", "name"},
    "asset": {"symbol", "decimals", "address"},
    "job": {"client", "worker", "token", "price", "deadline", "reviewWindow", "terms", "salt"},
    "brief": {"offerId", "offerName", "text", "providerName", "providerUrl"},
    "outcome": {"event", "txHash", "blockNumber"},
}
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_UNITS = re.compile(r"0|[1-9][0-9]{0,38}")


def job_terms(job: Job) -> dict[str, Any]:
    """The ``job`` part: the terms in their one spelling."""
    return {
        "client": job.client,
        "worker": job.worker,
        "token": job.token,
        "price": str(job.price),
        "deadline": job.deadline,
        "reviewWindow": job.review_window,
        "terms": "0x" + job.terms.hex(),
        "salt": "0x" + job.salt.hex(),
    }


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(body: dict[str, Any]) -> None:
    parts = set(body) - {"seal"}
    if parts != set(JOB_PARTS):
        odd = sorted(parts ^ set(JOB_PARTS))
        raise ProofError(f"This proof's parts are not a job proof's (look at: {', '.join(odd)[:120]}).")
    for name, kind in JOB_PARTS.items():
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            raise ProofError(f"The proof's {name} is malformed.")
    for name, keys in JOB_PART_KEYS.items():
        if set(body[name]) != keys:
            raise ProofError(f"The proof's {name} does not hold exactly {', '.join(sorted(keys))}.")
    if not _int(body["network"]["chainId"]):
        raise ProofError("The proof's network has no chain id.")
    outcome = body["outcome"]
    if outcome["event"] not in OUTCOMES or not _int(outcome["blockNumber"]):
        raise ProofError(f"The proof's outcome is not one of: {', '.join(OUTCOMES)}.")
    for name, value in (("jobId", body["jobId"]), ("outcome txHash", outcome["txHash"])):
        if not isinstance(value, str) or not _HEX32.fullmatch(value):
            raise ProofError(f"The proof's {name} is not 32 bytes of lower-case hex.")
    if body["delivery"] is not None and not _HEX32.fullmatch(body["delivery"]):
        raise ProofError("The proof's delivery is not 32 bytes of lower-case hex.")


def proof_job(body: dict[str, Any]) -> Job:
    """The job's terms, required in their one spelling."""
    _shape(body)
    raw = body["job"]
    if not isinstance(raw["price"], str) or not _UNITS.fullmatch(raw["price"]):
        raise ProofError("The proof's job price is not a string of base units.")
    try:
        job = Job(
            client=raw["client"],
            worker=raw["worker"],
            token=raw["token"],
            price=int(raw["price"]),
            deadline=raw["deadline"],
            review_window=raw["reviewWindow"],
            terms=raw["terms"],
            salt=raw["salt"],
        )
    except (TypeError, ValueError) as exc:
        raise ProofError(f"The proof's job is malformed: {str(exc)[:120]}") from None
    if job_terms(job) != raw:
        raise ProofError("The proof's job is not in its normal form.")
    if body["contract"] != _checksummed(body["contract"]):
        raise ProofError("The proof's contract is not a checksummed address.")
    return job


def _checksummed(value: Any) -> str | None:
    try:
        return str(to_checksum_address(value))
    except (TypeError, ValueError):
        return None


def _asset_is_token(asset: dict[str, Any], job: Job) -> bool:
    if not _int(asset.get("decimals")) or not isinstance(asset.get("symbol"), str):
        return False
    address = asset.get("address")
    if address is None:
        return job.is_native
    return isinstance(address, str) and address == _checksummed(address) == job.token


def job_checks(body: dict[str, Any]) -> list[Check]:
    job = proof_job(body)
    brief = body["brief"]
    outcome = body["outcome"]
    paid_worker = outcome["event"] in ("approved", "released")
    return [
        Check("The job id is the hash of its terms", job.id_hex == body["jobId"], body["jobId"]),
        Check(
            "The brief is the one the terms fix",
            isinstance(brief["offerId"], str)
            and isinstance(brief["text"], str)
            and brief_hash(brief["offerId"], brief["text"]) == job.terms,
            "0x" + job.terms.hex(),
        ),
        Check(
            "The asset is the job's token",
            _asset_is_token(body["asset"], job),
            str(body["asset"]["symbol"]),
        ),
        Check(
            "The outcome fits the delivery",
            body["delivery"] is not None if paid_worker else True,
            f"{outcome['event']} in {outcome['txHash']}",
        ),
    ]


def job_client(body: dict[str, Any]) -> str:
    return proof_job(body).client
