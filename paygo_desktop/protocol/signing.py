"""Provider signatures over quotes and receipts: EIP-191 ``personal_sign`` of a canonical encoding.

The signed text is ``"PayGo <kind> v1\\n"`` followed by the canonical JSON of the object without its
``signature`` field: the wire (camelCase, amounts as strings) form, keys sorted, no whitespace, ASCII only.
The signer is the provider's ``signingKey`` (GET /api/v1/provider). On-chain settlement does not depend on
these signatures (the Close does); they make a provider accountable for the terms and totals it stated.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from eth_account import Account
from eth_account.messages import encode_defunct

from paygo_desktop.protocol.auth import canonical_signature
from paygo_desktop.protocol.models import Quote, Receipt

QUOTE_PREFIX = "PayGo quote v1\n"
RECEIPT_PREFIX = "PayGo receipt v1\n"
_ZERO_SIG = "0x" + "00" * 65

M = TypeVar("M", Quote, Receipt)


def canonical_json(model: Quote | Receipt) -> str:
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude={"signature"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _prefix(model: Quote | Receipt) -> str:
    return QUOTE_PREFIX if isinstance(model, Quote) else RECEIPT_PREFIX


def signing_text(model: Quote | Receipt) -> str:
    return _prefix(model) + canonical_json(model)


def sign_model(private_key: Any, model: M) -> M:
    """Return a copy of ``model`` carrying the provider's signature."""
    key = getattr(private_key, "key", private_key)
    signed = Account.sign_message(encode_defunct(text=signing_text(model)), key)
    return model.model_copy(update={"signature": "0x" + bytes(signed.signature).hex()})


def unsigned(model_cls: type[M], **fields: Any) -> M:
    return model_cls(signature=_ZERO_SIG, **fields)


def recover_signer(model: Quote | Receipt) -> str | None:
    sig = canonical_signature(model.signature)
    if sig is None:
        return None
    try:
        return str(Account.recover_message(encode_defunct(text=signing_text(model)), signature=sig))
    except Exception:
        return None


def verify_model(model: Quote | Receipt, signing_key: str) -> bool:
    signer = recover_signer(model)
    return signer is not None and signer.lower() == signing_key.lower()
