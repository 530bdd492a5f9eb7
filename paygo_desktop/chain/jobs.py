"""PayGoJobs: the job's terms and id, the worker's EIP-712 Cancel, and async bindings.

Shared by the app (the client's side) and the provider (the worker's side). A job is identified by the
EIP-712 struct hash of its terms, as a vault channel is; the contract holds its price from ``fund`` until
exactly one of approve (the client pays the worker), release (anyone, once a delivery's review window has
passed), refund (anyone, after the deadline with nothing delivered) or cancel (anyone, with the worker's
signed ``Cancel(jobId, delivery)``) pays it out. docs/contract.md, Fixed-price jobs, has the rules.

Signature checks here cover ECDSA only (65 bytes, v in {27, 28}, low s, as the contract's OpenZeppelin
ECDSA); a contract-wallet worker's cancellation is checked by simulating ``cancel`` on chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address

from paygo_desktop.chain.abi_signatures import error_selectors
from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.vouchers import (
    EIP712_DOMAIN_FIELDS,
    UINT64_MAX,
    UINT128_MAX,
    ZERO_ADDRESS,
    domain_separator,
)

JOBS_DOMAIN_NAME = "PayGo Jobs"
JOBS_DOMAIN_VERSION = "1"
JOB_TYPE = (
    "Job(address client,address worker,address token,uint128 price,uint64 deadline,uint64 reviewWindow,"
    "bytes32 terms,bytes32 salt)"
)
JOB_TYPEHASH = keccak(text=JOB_TYPE)
CANCEL_TYPEHASH = keccak(text="Cancel(bytes32 jobId,bytes32 delivery)")
CANCEL_FIELDS = [{"name": "jobId", "type": "bytes32"}, {"name": "delivery", "type": "bytes32"}]
NO_DELIVERY = bytes(32)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

#: PayGoJobs.MAX_DURATION and MAX_REVIEW_WINDOW (seconds)
MAX_DURATION = 365 * 24 * 3600
MAX_REVIEW_WINDOW = 30 * 24 * 3600

BRIEF_PREFIX = "PayGo job brief v1\n"


class JobStatus(IntEnum):
    """PayGoJobs.Status: what the contract says of a job."""

    NONE = 0
    FUNDED = 1
    DELIVERED = 2
    APPROVED = 3
    RELEASED = 4
    REFUNDED = 5
    CANCELLED = 6

    @property
    def is_open(self) -> bool:
        """The price is still in the contract."""
        return self in (JobStatus.FUNDED, JobStatus.DELIVERED)

    @property
    def paid_worker(self) -> bool:
        return self in (JobStatus.APPROVED, JobStatus.RELEASED)

    @property
    def paid_client(self) -> bool:
        return self in (JobStatus.REFUNDED, JobStatus.CANCELLED)


def _uint(value: int, maximum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{what} out of range: {value}")
    return value


def _bytes32(value: bytes | str, what: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"{what} must be 32 bytes")
    return raw


def brief_hash(service_id: str, brief: str) -> bytes:
    """The job's ``terms``: SHA-256 of ``"PayGo job brief v1\\n"`` and the canonical JSON of the service id
    and the brief (keys sorted, no whitespace, ASCII only), so the brief and the service it was written
    for are fixed on chain."""
    document = json.dumps(
        {"brief": brief, "serviceId": service_id}, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256((BRIEF_PREFIX + document).encode("ascii")).digest()


@dataclass(frozen=True)
class Job:
    """A job's terms (mirror of PayGoJobs.Job). Addresses are checksummed; ``token`` zero means ETH."""

    client: str
    worker: str
    token: str
    price: int
    deadline: int
    review_window: int
    terms: bytes
    salt: bytes

    def __post_init__(self) -> None:
        for name in ("client", "worker", "token"):
            object.__setattr__(self, name, to_checksum_address(getattr(self, name)))
        object.__setattr__(self, "terms", _bytes32(self.terms, "terms"))
        object.__setattr__(self, "salt", _bytes32(self.salt, "salt"))
        _uint(self.price, UINT128_MAX, "price")
        _uint(self.deadline, UINT64_MAX, "deadline")
        _uint(self.review_window, UINT64_MAX, "review_window")

    @property
    def is_native(self) -> bool:
        return self.token == ZERO_ADDRESS

    def as_tuple(self) -> tuple[str, str, str, int, int, int, bytes, bytes]:
        """The ABI tuple, in the Solidity field order."""
        return (
            self.client,
            self.worker,
            self.token,
            self.price,
            self.deadline,
            self.review_window,
            self.terms,
            self.salt,
        )

    @property
    def id(self) -> bytes:
        """hashStruct(Job), identical to PayGoJobs.jobId()."""
        return keccak(
            abi_encode(
                [
                    "bytes32",
                    "address",
                    "address",
                    "address",
                    "uint128",
                    "uint64",
                    "uint64",
                    "bytes32",
                    "bytes32",
                ],
                [JOB_TYPEHASH, *self.as_tuple()],
            )
        )

    @property
    def id_hex(self) -> str:
        return "0x" + self.id.hex()


@dataclass(frozen=True)
class JobOnChain:
    """PayGoJobs.jobState(id): the status, when the delivery was posted, and its hash."""

    status: JobStatus
    delivered_at: int = 0
    delivery: bytes = NO_DELIVERY

    def review_ends_at(self, job: Job) -> int | None:
        """The last second of the review window (release is possible after it), None before a delivery."""
        if self.status is JobStatus.NONE or self.delivered_at == 0:
            return None
        return self.delivered_at + job.review_window


@dataclass(frozen=True)
class JobsDomain:
    """The EIP-712 domain of one deployed PayGoJobs."""

    chain_id: int
    contract: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "contract", to_checksum_address(self.contract))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": JOBS_DOMAIN_NAME,
            "version": JOBS_DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.contract,
        }

    @property
    def separator(self) -> bytes:
        return domain_separator(JOBS_DOMAIN_NAME, JOBS_DOMAIN_VERSION, self.chain_id, self.contract)


# ---------------------------------------------------------------------------------------- Cancel


def cancel_typed_data(domain: JobsDomain, job_id: bytes | str, delivery: bytes | str) -> dict[str, Any]:
    """The worker's ``Cancel(jobId, delivery)``: valid only while the job's delivery is ``delivery``
    (zero before one), so a cancellation offered before a delivery is void once the worker delivers."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "Cancel": CANCEL_FIELDS},
        "primaryType": "Cancel",
        "domain": domain.as_dict(),
        "message": {
            "jobId": "0x" + _bytes32(job_id, "job id").hex(),
            "delivery": "0x" + _bytes32(delivery, "delivery").hex(),
        },
    }


def _signable(typed: dict[str, Any]) -> SignableMessage:
    return encode_typed_data(full_message=typed)


def cancel_digest(domain: JobsDomain, job_id: bytes | str, delivery: bytes | str) -> bytes:
    """The 32-byte hash the worker signs; equals PayGoJobs.cancelDigest()."""
    signable = _signable(cancel_typed_data(domain, job_id, delivery))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_cancel(private_key: Any, domain: JobsDomain, job_id: bytes | str, delivery: bytes | str) -> bytes:
    """The worker's 65-byte signature of a Cancel."""
    key = getattr(private_key, "key", private_key)
    signed = Account.sign_message(_signable(cancel_typed_data(domain, job_id, delivery)), key)
    return bytes(signed.signature)


def recover_cancel_signer(
    domain: JobsDomain, job_id: bytes | str, delivery: bytes | str, signature: bytes | str
) -> str | None:
    """Who signed the Cancel; None for a malformed or non-canonical (high-s) signature."""
    try:
        sig = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else bytes(signature)
    except ValueError:
        return None
    if len(sig) != 65 or sig[64] not in (27, 28):
        return None
    s = int.from_bytes(sig[32:64], "big")
    if s == 0 or s > SECP256K1_N // 2:
        return None
    try:
        return str(
            Account.recover_message(_signable(cancel_typed_data(domain, job_id, delivery)), signature=sig)
        )
    except Exception:
        return None


def verify_cancel(domain: JobsDomain, job: Job, delivery: bytes | str, signature: bytes | str) -> bool:
    return recover_cancel_signer(domain, job.id, delivery, signature) == job.worker


# ---------------------------------------------------------------------------------------- errors


_ERRORS: dict[bytes, str] | None = None


def error_name(data: object) -> str | None:
    """The PayGoJobs custom error whose revert data (0x-hex, as a node returns it) is ``data``."""
    global _ERRORS
    if _ERRORS is None:
        _ERRORS = error_selectors(load_artifact("PayGoJobs").abi)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return _ERRORS.get(bytes.fromhex(data[2:10]))
    return None


# ---------------------------------------------------------------------------------------- bindings


class JobsClient:
    """Bindings for one deployed PayGoJobs: reads, and the calldata of each call (``call_data``) for the
    transaction manager; ``send`` for the provider's and the tests' own keys."""

    def __init__(self, w3: Any, address: str) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact("PayGoJobs").abi)

    async def domain(self) -> JobsDomain:
        return JobsDomain(int(await self.w3.eth.chain_id), self.address)

    async def state(self, job: Job | bytes) -> JobOnChain:
        job_id = job.id if isinstance(job, Job) else job
        status, delivered_at, delivery = await self.contract.functions.jobState(job_id).call()
        return JobOnChain(JobStatus(int(status)), int(delivered_at), bytes(delivery))

    async def chain_time(self) -> int:
        """The latest block's timestamp: the clock the contract's deadlines are read on."""
        block = await self.w3.eth.get_block("latest")
        return int(block["timestamp"])

    def function(self, name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, name)(*args)

    def call_data(self, name: str, *args: Any) -> bytes:
        data = self.contract.encode_abi(name, args=list(args))
        return bytes.fromhex(str(data)[2:])

    async def send(self, sender: Any, name: str, *args: Any, value: int = 0, gas: int | None = None) -> Any:
        """Send ``name(*args)`` from ``sender`` (a LocalAccount or an unlocked node account) and wait."""
        from paygo_desktop.chain.tx import send

        return await send(self.w3, self.function(name, *args), sender, value=value, gas=gas)
