"""Pydantic models of the provider API's Zcash part: spending permissions, the sessions paid from them and
the sandbox ledger's calls. The same conventions as ``protocol.models`` (amounts in integer zatoshi, digit
strings on the wire; Unix seconds; camelCase JSON), whose base models and field types these use.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from paygo_desktop.protocol.models import Access, Ident, RequestModel, Uint128, UnixTime, WireModel


class ZcashPermissionStatus(StrEnum):
    pending_payment = "pending_payment"
    active = "active"
    exhausted = "exhausted"
    expired = "expired"
    revoked = "revoked"


class ZcashVerification(StrEnum):
    """What the provider's wallet saw for a permission's payment."""

    awaiting_payment = "awaiting_payment"
    seen = "seen"  # in the mempool or below the required confirmations
    underpaid = "underpaid"  # confirmed, but less than the amount requested
    confirmed = "confirmed"


class ZcashSessionStatus(StrEnum):
    live = "live"
    ended = "ended"
    exhausted = "exhausted"
    expired = "expired"
    revoked = "revoked"


ZcashAddressText = Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z0-9]+$")]
Zatoshi = Annotated[Uint128, Field(le=21_000_000 * 100_000_000)]
"""Integer zatoshi (digit string on the wire), at most the 21 M ZEC supply."""


class ZcashPermissionRequest(RequestModel):
    user_wallet_address: ZcashAddressText
    amount_zat: Annotated[Zatoshi, Field(gt=0)]
    rate_per_hour_zat: Annotated[Zatoshi, Field(gt=0)]
    duration_days: Annotated[int, Field(ge=1, le=365, strict=True)] = 30


class ZcashPermission(WireModel):
    """A spending permission. Hours are display strings (2 decimals, rounded down); seconds are exact."""

    id: Ident
    user_wallet_address: ZcashAddressText
    status: ZcashPermissionStatus
    verification: ZcashVerification
    payment_address: ZcashAddressText
    payment_uri: Annotated[str, Field(max_length=4096)]
    memo: Annotated[str, Field(max_length=512)] | None = None
    amount_zat: Zatoshi
    rate_per_hour_zat: Zatoshi
    received_zat: Zatoshi = 0
    confirmations: Annotated[int, Field(ge=0)] = 0
    spent_zat: Zatoshi = 0
    remaining_zat: Zatoshi
    max_seconds: Annotated[int, Field(ge=0)]
    used_seconds: Annotated[int, Field(ge=0)] = 0
    remaining_seconds: Annotated[int, Field(ge=0)]
    max_hours: Annotated[str, Field(pattern=r"^[0-9]{1,30}(\.[0-9]{1,2})?$")]
    used_hours: Annotated[str, Field(pattern=r"^[0-9]{1,30}(\.[0-9]{1,2})?$")]
    remaining_hours: Annotated[str, Field(pattern=r"^[0-9]{1,30}(\.[0-9]{1,2})?$")]
    created_at: UnixTime
    activated_at: UnixTime | None = None
    expires_at: UnixTime
    live_session_id: Ident | None = None
    token: Annotated[str, Field(max_length=128)] | None = Field(
        default=None, description="only in the create response: Bearer token for sessions and revoke"
    )


class ZcashBalance(WireModel):
    """A wallet's balance as far as the provider can see it: ``null`` amounts with ``visibility: unknown``
    mean the provider cannot see them (shielded funds of someone else's wallet), never zero."""

    wallet_address: ZcashAddressText
    visibility: Annotated[str, Field(pattern=r"^(known|unknown)$")]
    shielded: bool
    transparent_balance_zat: Zatoshi | None = None
    shielded_balance_zat: Zatoshi | None = None
    total_balance_zat: Zatoshi | None = None
    rate_per_hour_zat: Zatoshi | None = None
    can_stream: bool | None = None
    estimated_seconds: Annotated[int, Field(ge=0)] | None = None


class ZcashSessionRequest(RequestModel):
    permission_id: Ident
    service_id: Ident


class ZcashSessionEndRequest(RequestModel):
    session_id: Ident


class ZcashSession(WireModel):
    """A session paid from a permission at the permission's ``ratePerHourZat``."""

    session_id: Ident
    permission_id: Ident
    service_id: Ident
    status: ZcashSessionStatus
    started_at: UnixTime
    ends_at: UnixTime = Field(description="when the permission runs out (balance or expiry) if not ended")
    ended_at: UnixTime | None = None
    seconds: Annotated[int, Field(ge=0)] = 0
    amount_zat: Zatoshi = 0
    permission: ZcashPermission
    # in the answer to the start only: where the service is delivered (the provider's gateway), its key being
    # the permission's own token; absent when the gateway delivers nothing for the service
    access: Access | None = None


class ZcashLedgerPay(RequestModel):
    address: ZcashAddressText
    amount_zat: Annotated[Zatoshi, Field(gt=0)]
    memo: Annotated[str, Field(max_length=512)] | None = None


class ZcashLedgerTx(WireModel):
    txid: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    address: ZcashAddressText
    amount_zat: Zatoshi
    memo: Annotated[str, Field(max_length=512)] | None = None
    confirmations: Annotated[int, Field(ge=0)]


class ZcashLedgerMine(RequestModel):
    blocks: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1


class ZcashLedgerHeight(WireModel):
    height: Annotated[int, Field(ge=0)]
