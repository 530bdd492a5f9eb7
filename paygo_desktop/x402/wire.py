"""The x402 v2 headers this app reads from the network: PAYMENT-REQUIRED (what a server accepts) and
PAYMENT-RESPONSE (how settlement went). Each is base64 JSON; it is size-capped and parsed through
``bounded_json`` like all network JSON, then validated by the SDK's own models."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import ValidationError
from x402.http.constants import PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER
from x402.schemas import PaymentRequired, SettleResponse

from paygo_desktop import bounded_json
from paygo_desktop.errors import UserFacingError

MAX_HEADER_CHARS = 64 * 1024  # a header far larger than any honest quote is refused unread

__all__ = [
    "PAYMENT_REQUIRED_HEADER",
    "PAYMENT_RESPONSE_HEADER",
    "PAYMENT_SIGNATURE_HEADER",
    "X402WireError",
    "payment_required",
    "settle_response",
]


class X402WireError(UserFacingError):
    """A server's x402 header that is not valid x402 v2."""


def _json(header: str, what: str) -> Any:
    if len(header) > MAX_HEADER_CHARS:
        raise X402WireError(f"The server's {what} header is too large ({len(header)} characters).")
    try:
        raw = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise X402WireError(f"The server's {what} header is not base64.") from None
    try:
        return bounded_json.loads(raw, max_bytes=MAX_HEADER_CHARS)
    except bounded_json.JSONRejected as exc:
        raise X402WireError(f"The server's {what} header is not JSON this app accepts: {exc}") from None


def payment_required(header: str) -> PaymentRequired:
    data = _json(header, PAYMENT_REQUIRED_HEADER)
    if not isinstance(data, dict) or data.get("x402Version") != 2:
        raise X402WireError("The server asks for an x402 version this app does not pay (only version 2).")
    try:
        return PaymentRequired.model_validate(data)
    except ValidationError as exc:
        raise X402WireError(
            f"The server's {PAYMENT_REQUIRED_HEADER} header is malformed: {_first(exc)}"
        ) from None


def settle_response(header: str) -> SettleResponse:
    data = _json(header, PAYMENT_RESPONSE_HEADER)
    try:
        return SettleResponse.model_validate(data)
    except ValidationError as exc:
        raise X402WireError(
            f"The server's {PAYMENT_RESPONSE_HEADER} header is malformed: {_first(exc)}"
        ) from None


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"[:200]
