"""What the SDK signed, held to the quote that was checked (``x402.offers``, ``x402.limits``): the payer
(``x402.payer``) records and sends an authorization only when it is exactly for the quote's amount, token and
payee; else it is never sent."""

from __future__ import annotations

from typing import Any

from x402.extensions.eip2612_gas_sponsoring import EIP2612_GAS_SPONSORING_KEY
from x402.mechanisms.evm.constants import X402_UPTO_PERMIT2_PROXY_ADDRESS
from x402.schemas import PaymentPayload

from paygo_desktop.peer_text import is_digits
from paygo_desktop.x402 import permit2
from paygo_desktop.x402.limits import Quote
from paygo_desktop.x402.offers import units


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b.lower()


def exact_signed(quote: Quote, payload: PaymentPayload) -> tuple[str, str, int, int] | None:
    """(payer, nonce, valid before, valid after) of an EIP-3009 authorization exactly for ``quote``, else
    None."""
    auth = payload.payload.get("authorization") or {}
    if str(auth.get("value")) != str(quote.amount) or not _same(auth.get("to"), quote.pay_to):
        return None
    return (
        str(auth.get("from", "")),
        str(auth.get("nonce")),
        int(auth.get("validBefore", 0)),
        int(auth.get("validAfter", 0)),
    )


def upto_signed(quote: Quote, payload: PaymentPayload) -> tuple[str, str, int, int] | None:
    """(payer, nonce as hex, deadline, witness's validAfter) of a Permit2 authorization for at most
    ``quote``'s amount of its token to its payee through x402's upto proxy (and of an EIP-2612 permit, if
    any, for exactly that maximum to Permit2), else None."""
    auth = payload.payload.get("permit2Authorization") or {}
    permitted = auth.get("permitted") or {}
    witness = auth.get("witness") or {}
    token = quote.asset.address or ""
    if (
        str(permitted.get("amount")) != str(quote.amount)
        or not _same(permitted.get("token"), token)
        or not _same(witness.get("to"), quote.pay_to)
        or not _same(auth.get("spender"), X402_UPTO_PERMIT2_PROXY_ADDRESS)
    ):
        return None
    sponsoring = (payload.extensions or {}).get(EIP2612_GAS_SPONSORING_KEY)
    if sponsoring is not None:
        info = sponsoring.get("info") if isinstance(sponsoring, dict) else None
        if not isinstance(info, dict) or not (
            str(info.get("amount")) == str(quote.amount)
            and _same(info.get("spender"), permit2.PERMIT2)
            and _same(info.get("asset"), token)
        ):
            return None
    nonce, deadline = units(str(auth.get("nonce", ""))), units(str(auth.get("deadline", "")))
    after = str(witness.get("validAfter", ""))
    if nonce is None or deadline is None or not is_digits(after) or len(after) > 78:
        return None
    return str(auth.get("from", "")), f"0x{nonce:064x}", deadline, int(after)
