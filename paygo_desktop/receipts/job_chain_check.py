"""What only the chain can say about a job's proof file (``receipts.job_proof``), with a node the user names.

* The node is the proof's chain.
* The contract holds PayGoJobs' code: its code hash equals that of this app's build of PayGoJobs at that
  address on that chain (``chain.create2.jobs_runtime_code``; at the canonical address, the canonical one).
* The job's status on chain is the file's outcome, and the delivery on chain is the file's.
* The outcome transaction succeeded, was sent to the contract, and logged that outcome for this job.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from paygo_desktop.chain.jobs import JobsClient, JobStatus
from paygo_desktop.chain.log_decoding import as_bytes
from paygo_desktop.receipts.checks import Check
from paygo_desktop.receipts.job_proof import proof_job

OUTCOME_STATUS = {
    "approved": JobStatus.APPROVED,
    "released": JobStatus.RELEASED,
    "refunded": JobStatus.REFUNDED,
    "cancelled": JobStatus.CANCELLED,
}
OUTCOME_EVENT = {
    name: "0x" + keccak(text=f"Job{name.capitalize()}(bytes32,address,address,uint128)").hex()
    for name in OUTCOME_STATUS
}


async def job_chain_checks(w3: Any, body: dict[str, Any]) -> list[Check]:
    from paygo_desktop.chain.canonical import JOBS
    from paygo_desktop.chain.code_check import code_hash
    from paygo_desktop.chain.create2 import code_at, jobs_runtime_code

    job = proof_job(body)
    contract = str(body["contract"])
    chain_id = int(await w3.eth.chain_id)
    wanted = int(body["network"]["chainId"])
    checks = [Check("The node is on the proof's chain", chain_id == wanted, f"chain id {chain_id}")]
    if chain_id != wanted:
        return checks
    code = await code_at(w3, contract)
    expected = jobs_runtime_code(chain_id, contract)
    where = "the canonical address" if contract == JOBS.address else contract
    checks.append(
        Check(
            "The contract holds PayGoJobs' code",
            bool(code) and keccak(code) == keccak(expected),
            f"code hash {code_hash(code) if code else 'none (no contract)'} at {where}",
        )
    )
    if checks[-1].ok is not True:
        return checks
    state = await JobsClient(w3, contract).state(job)
    outcome = body["outcome"]
    delivery = body["delivery"]
    on_chain_delivery = None if not any(state.delivery) else "0x" + state.delivery.hex()
    checks.append(
        Check(
            "The job's status on chain is the proof's outcome",
            state.status is OUTCOME_STATUS[outcome["event"]],
            state.status.name.lower(),
        )
    )
    checks.append(
        Check(
            "The delivery on chain is the proof's",
            on_chain_delivery == delivery,
            on_chain_delivery or "no delivery",
        )
    )
    checks.append(await _outcome_check(w3, contract, body["jobId"], outcome))
    return checks


async def _outcome_check(w3: Any, contract: str, job_id: str, outcome: dict[str, Any]) -> Check:
    name = "The outcome transaction paid this job out"
    receipt = await w3.eth.get_transaction_receipt(outcome["txHash"])
    if receipt is None or int(receipt["status"]) != 1 or str(receipt["to"]).lower() != contract.lower():
        return Check(name, False, f"{outcome['txHash']} is not a successful transaction to the contract")
    for entry in receipt["logs"]:
        topics = ["0x" + as_bytes(t).hex() for t in entry["topics"]]
        if (
            str(entry["address"]).lower() == contract.lower()
            and len(topics) >= 2
            and topics[0] == OUTCOME_EVENT[outcome["event"]]
            and topics[1] == job_id
        ):
            return Check(name, True, f"{outcome['event']} in block {int(receipt['blockNumber'])}")
    return Check(name, False, f"{outcome['txHash']} does not log this job {outcome['event']}")
