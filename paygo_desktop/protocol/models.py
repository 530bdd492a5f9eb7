"""Pydantic models of the provider API, shared by the reference provider and the app's client.

Amounts are ``int`` base units in Python and decimal-digit strings on the wire (bare JSON integers are
tolerated on input; floats, booleans, signs, exponents and anything above uint128 are rejected). Times are
integer Unix seconds (UTC). Addresses are checksummed on validation. JSON names are camelCase.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from eth_utils import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from paygo_desktop.chain.vouchers import UINT64_MAX, UINT128_MAX, Channel
from paygo_desktop.money import Asset

_DIGITS = re.compile(r"[0-9]{1,39}")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_SIG = re.compile(r"0x[0-9a-fA-F]{130}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Control characters (except tab/newline in descriptions) and markup brackets are refused in display text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKUP = re.compile(r"[<>]")


def _uint(value: Any, maximum: int) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a string of base units, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise ValueError("must be a string of decimal digits (integer base units)")
        number = int(value)
    else:
        raise ValueError("must be a string of integer base units")
    if not 0 <= number <= maximum:
        raise ValueError("out of range")
    return number


Uint128 = Annotated[
    int,
    BeforeValidator(lambda v: _uint(v, UINT128_MAX)),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,39}$"}),
]
"""An amount in base units (uint128)."""

UnixTime = Annotated[int, Field(ge=0, le=2**40, strict=True)]
Seconds = Annotated[int, Field(ge=0, le=UINT64_MAX, strict=True)]


def _address(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value) or not value.startswith("0x"):
        raise ValueError("must be a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


Address = Annotated[
    str, BeforeValidator(_address), WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"})
]


def _hex32(value: Any) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError("must be 0x followed by 64 hex digits")
    return value.lower()


Bytes32 = Annotated[
    str, BeforeValidator(_hex32), WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"})
]


def _sig(value: Any) -> str:
    if not isinstance(value, str) or not _SIG.fullmatch(value):
        raise ValueError("must be a 0x-hex 65-byte signature")
    return value.lower()


Signature = Annotated[
    str, BeforeValidator(_sig), WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{130}$"})
]


def _ident(value: Any) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError("must be 1-64 characters of A-Z a-z 0-9 _ -")
    return value


Ident = Annotated[
    str, BeforeValidator(_ident), WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"})
]


def _plain_text(value: str) -> str:
    if _CONTROL.search(value.replace("\n", "").replace("\t", "")):
        raise ValueError("contains control characters")
    if _MARKUP.search(value):
        raise ValueError("contains markup")
    return value.strip()


def _one_line(value: str) -> str:
    """A name is shown on one line beside prices and addresses: no line break of any kind (a name with one
    could add a fake "Rate: …" line above the real one), no invisible or direction-changing character."""
    if not value.isprintable():
        raise ValueError("contains line breaks or invisible characters")
    return _plain_text(value)


Name = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_one_line)]
Description = Annotated[str, Field(max_length=2000), AfterValidator(_plain_text)]
Category = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9 _-]*$")]
Symbol = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9.]+$")]


class ServiceType(StrEnum):
    video = "video"
    audio = "audio"
    data = "data"
    consultation = "consultation"
    other = "other"


class RateUnit(StrEnum):
    per_second = "per_second"
    per_minute = "per_minute"
    per_hour = "per_hour"
    # one paid HTTP request through the provider's gateway, paid with x402 (provider.x402_sales): no
    # session, no duration
    per_request = "per_request"

    @property
    def seconds(self) -> int:
        if self is RateUnit.per_request:
            raise ValueError("a per-request price has no duration: it is paid per request with x402")
        return {"per_second": 1, "per_minute": 60, "per_hour": 3600}[self.value]


class SessionStatus(StrEnum):
    live = "live"
    ended = "ended"
    expired = "expired"


class Bucket(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"
    month = "month"


class WireModel(BaseModel):
    """Responses: camelCase, unknown fields ignored (newer providers may add some)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )


class RequestModel(WireModel):
    """Request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------ errors


class ChannelStateOut(WireModel):
    channel_id: Bytes32
    deposited: Uint128
    claimed: Uint128
    withdrawn: Uint128
    pending_withdraw: Uint128
    closed: bool = Field(default=False, description="closed cooperatively: final, never funded again")
    coverage: Uint128 = Field(
        description="deposited - withdrawn - pendingWithdraw: the most a voucher may total"
    )


class ErrorBody(WireModel):
    code: Annotated[str, Field(max_length=64)]
    message: Annotated[str, Field(max_length=2000)]
    channel: ChannelStateOut | None = None


# ------------------------------------------------------------------------------------------ provider


class HealthLoad(WireModel):
    """What a vendor monitors: this worker's queueing, how many workers there are and how many shed."""

    delay_ms: Annotated[int, Field(ge=0)]
    workers: Annotated[int, Field(ge=0)]
    shedding_workers: Annotated[int, Field(ge=0)]
    leader: bool
    worker: Annotated[int, Field(ge=0)] | None = None  # the answering worker's number (several workers)


class Health(WireModel):
    status: str
    time: UnixTime
    # False while the provider refuses new sessions (overload); retry_after: seconds until it may take them
    accepting_sessions: bool = True
    retry_after: Annotated[int, Field(ge=0, le=86_400)] | None = None
    load: HealthLoad | None = None


class NetworkInfo(WireModel):
    chain_id: Annotated[int, Field(ge=1, le=2**53)]
    vault: Address


class AssetInfo(WireModel):
    symbol: Symbol
    address: Address
    decimals: Annotated[int, Field(ge=0, le=36)]

    @property
    def asset(self) -> Asset:
        """The asset as the app counts it: the zero address is the chain's native coin."""
        return Asset(self.symbol, self.decimals, None if int(self.address, 16) == 0 else self.address)


class ProviderInfo(WireModel):
    name: Name
    pay_to: Address
    networks: Annotated[list[NetworkInfo], Field(max_length=16)]
    assets: Annotated[list[AssetInfo], Field(max_length=32)]
    signing_key: Address
    zcash: bool = False
    api_version: str = "1"
    # The shortest channel withdrawal delay the provider serves (seconds); the app opens its channels at
    # max(the vault's minimum, this). Absent (older providers): the vault's minimum.
    min_withdraw_delay: Annotated[int, Field(ge=0, le=UINT64_MAX)] | None = None


# ------------------------------------------------------------------------------------------ catalog


class Rate(WireModel):
    amount: Annotated[Uint128, Field(gt=0)] = Field(description="base units of `asset` per `unit`")
    asset: Symbol
    unit: RateUnit

    def cost(self, seconds: int) -> int:
        """Price of ``seconds`` of service, rounded up to a whole base unit."""
        return -(-self.amount * seconds // self.unit.seconds)

    def seconds_paid(self, amount: int) -> int:
        """Whole seconds of service ``amount`` base units pay for."""
        return amount * self.unit.seconds // self.amount


class VendorInfo(WireModel):
    name: Name
    address: Address


class ServiceFields(RequestModel):
    name: Name
    description: Description = ""
    category: Category
    type: ServiceType
    rate: Rate
    tick_seconds: Annotated[int, Field(ge=1, le=3600)] = 10
    grace_seconds: Annotated[int, Field(ge=0, le=3600)] = 10
    is_active: bool = True
    # the gateway's upstream for it (provider.service_upstreams); absent: billed, delivered elsewhere
    upstream: ServiceUpstream | None = None


class ServiceRef(WireModel):
    id: Ident


class Service(WireModel):
    id: Ident
    name: Name
    description: Description = ""
    category: Category
    type: ServiceType
    rate: Rate
    tick_seconds: Annotated[int, Field(ge=1, le=3600)]
    grace_seconds: Annotated[int, Field(ge=0, le=3600)]
    is_active: bool
    vendor: VendorInfo
    upstream: ServiceUpstream | None = Field(
        default=None, description="the vendor's own routes only: where the gateway takes it from"
    )


class ServicePage(WireModel):
    items: list[Service]
    total: Annotated[int, Field(ge=0)]
    page: Annotated[int, Field(ge=1)]
    page_size: Annotated[int, Field(ge=1, le=100)]
    rejected: int = Field(default=0, description="client side: items dropped because they failed validation")


# ------------------------------------------------------------------------------------------ sessions


class ChannelFields(WireModel):
    """A channel's immutable parameters on the wire, and their conversion to and from ``Channel``."""

    payer: Address
    signer: Address
    provider: Address
    token: Address
    withdraw_delay: Annotated[int, Field(ge=0, le=UINT64_MAX)]
    salt: Bytes32

    def to_channel(self) -> Channel:
        return Channel(
            payer=self.payer,
            signer=self.signer,
            provider=self.provider,
            token=self.token,
            withdraw_delay=self.withdraw_delay,
            salt=bytes.fromhex(self.salt[2:]),
        )

    @classmethod
    def from_channel(cls, ch: Channel) -> Self:
        return cls(
            payer=ch.payer,
            signer=ch.signer,
            provider=ch.provider,
            token=ch.token,
            withdraw_delay=ch.withdraw_delay,
            salt="0x" + ch.salt.hex(),
        )


class ChannelParams(RequestModel, ChannelFields):
    """The request form (unknown fields are an error)."""


class VoucherIn(RequestModel):
    cumulative_amount: Uint128
    signature: Signature


class StartRequest(RequestModel):
    service_id: Ident
    channel: ChannelParams
    voucher: VoucherIn


class Quote(WireModel):
    """The provider's signed terms for one session (signature: see protocol.signing)."""

    session_id: Ident
    service_id: Ident
    rate: Rate
    tick_seconds: int
    grace_seconds: int
    chain_id: int
    vault: Address
    channel_id: Bytes32
    start_cumulative: Uint128
    issued_at: UnixTime
    signature: Signature


class Delivery(StrEnum):
    """How a provider's gateway delivers a service (provider.gateway)."""

    http = "http"
    websocket = "websocket"
    media = "media"  # audio/video over HTTP: GET and HEAD only, byte ranges


class ServiceUpstream(WireModel):
    """Where a provider's gateway takes a service from (vendor routes only: never in the public catalog)."""

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    delivery: Delivery


class Access(WireModel):
    url: Annotated[str, Field(max_length=2048)]
    token: Annotated[str, Field(max_length=256)]
    expires_at: UnixTime
    # the session's gateway, where its service is delivered with the token (absent: no service behind it)
    service_url: Annotated[str | None, Field(max_length=2048)] = None
    delivery: Delivery | None = None
    # the path below service_url the app opens (a media service's file or playlist; "" the service itself)
    entry: Annotated[str, Field(max_length=512)] = ""


class StartResponse(WireModel):
    session_id: Ident
    quote: Quote
    access: Access


class VoucherRequest(RequestModel):
    seq: Annotated[int, Field(ge=1, le=UINT64_MAX, strict=True)]
    cumulative_amount: Uint128
    signature: Signature


class VoucherAck(WireModel):
    seq: int
    cumulative_amount: Uint128
    served_until: UnixTime
    expires_at: UnixTime


class Receipt(WireModel):
    """The provider's signed statement of what a session cost (signature: see protocol.signing)."""

    session_id: Ident
    service_id: Ident
    channel_id: Bytes32
    started_at: UnixTime
    ended_at: UnixTime
    seconds: Seconds
    amount: Uint128
    final_cumulative: Uint128
    signature: Signature


class CloseRequest(RequestModel):
    """Body of POST /channels/{channelId}/close: the channel's terms (the provider may never have seen the
    channel, e.g. funded and never used), which must hash to the channel id of the path."""

    channel: ChannelParams


class CloseAuth(WireModel):
    """The provider's EIP-712 Close(channelId, finalAmount, deadline): with the signer's own
    Voucher(channelId, finalAmount), submit it with PayGoVault.closeCooperative before ``deadline``."""

    channel_id: Bytes32
    final_amount: Uint128
    deadline: Annotated[int, Field(ge=0, le=UINT64_MAX, strict=True)]
    signature: Signature


class StopRequest(RequestModel):
    """Optional body of PATCH stop: the payer's final voucher for exactly the metered cost.

    It may total less than the vouchers sent one tick ahead; the provider settles the session at it when it
    covers the seconds the provider counted (see the reference provider's stop rules)."""

    final_voucher: VoucherRequest | None = None


class StopResponse(WireModel):
    receipt: Receipt


class SessionInfo(WireModel):
    session_id: Ident
    service_id: Ident
    channel_id: Bytes32
    payer: Address
    status: SessionStatus
    started_at: UnixTime
    ended_at: UnixTime | None = None
    served_until: UnixTime
    start_cumulative: Uint128
    cumulative_amount: Uint128
    amount: Uint128
    seq: int
    asset: Symbol


class SessionList(WireModel):
    items: list[SessionInfo]


class LastVoucher(WireModel):
    """The last voucher a provider holds for a channel; its signature only for the channel's payer."""

    cumulative_amount: Uint128
    signature: Signature | None = None
    seq: int


class ChannelInfo(WireModel):
    channel_id: Bytes32
    last_voucher: LastVoucher | None
    claimed: Uint128 = Field(description="claimed on chain")
    live_session_id: Ident | None = None
    state: ChannelStateOut | None = None


class EarningsBucket(WireModel):
    start: UnixTime
    asset: Symbol
    amount: Uint128
    sessions: int


class AssetTotal(WireModel):
    asset: Symbol
    amount: Uint128


class Earnings(WireModel):
    bucket: Bucket
    from_: UnixTime = Field(alias="from")
    to: UnixTime
    buckets: list[EarningsBucket]
    totals: list[AssetTotal]


class ClaimResult(WireModel):
    tx_hash: str | None
    channels: list[Bytes32]
    withdraw_triggered: bool = False


class ChannelOut(ChannelFields):
    """A channel's immutable parameters in a response (``ChannelParams`` is the request form)."""


class ClaimableVoucher(WireModel):
    """The latest voucher the provider holds for a channel, above what the vault has paid out."""

    channel_id: Bytes32
    channel: ChannelOut
    cumulative_amount: Uint128
    signature: Signature
    claimed: Uint128 = Field(description="claimed on chain when the provider answered")


class RefusedChannel(WireModel):
    """A channel whose voucher signature the vault refused when the provider tried to claim it: the
    provider serves it no more (a contract wallet that answers the vault otherwise than the provider)."""

    channel_id: Bytes32
    payer: Address
    token: Address
    cumulative_amount: Uint128 = Field(description="the voucher the vault refused")
    reason: Description
    at: UnixTime


class ClaimableVouchers(WireModel):
    """Everything ``claimBatch`` needs, in the order to claim it (by provider, then token)."""

    items: list[ClaimableVoucher]
    total: Annotated[int, Field(ge=0)] = Field(
        default=0, description="claimable channels in all; items lists at most 100, the largest first"
    )
    refused: list[RefusedChannel] = Field(
        default_factory=list, description="channels the vault refuses to pay (newest first, at most 100)"
    )


class ContentResponse(WireModel):
    session_id: Ident
    served_until: UnixTime
    payload: str
