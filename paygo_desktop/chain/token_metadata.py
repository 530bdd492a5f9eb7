"""What an ERC-20 contract says about itself (symbol, name, decimals), read as a hostile contract may answer.

A token added by its address is anybody's contract. Each answer is read with raw ``eth_call``s under a
small gas limit (a contract cannot hand back megabytes) and decoded here, never by web3's ABI decoder:
a string must be a well-formed ABI string (or a ``bytes32``, as old tokens like MKR answer), at most
``MAX_SYMBOL_BYTES`` / ``MAX_NAME_BYTES`` long, valid UTF-8 and free of control, invisible and
direction-changing characters; decimals must be at most 36 (what ``money.Asset`` handles). Anything else
is a ``TokenMetadataError`` that says what the contract answered, in words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

from paygo_desktop.chain.raw_call import CallFailed, raw_call
from paygo_desktop.chain.rpc_errors import short_rpc_message
from paygo_desktop.errors import UserFacingError

MAX_SYMBOL_BYTES = 20  # the store keeps a symbol in 20 characters; real ones are 3-6
MAX_NAME_BYTES = 64
MAX_DECIMALS = 36
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")


class TokenMetadataError(UserFacingError):
    """The contract at an address does not describe itself as a token the app can use."""


@dataclass(frozen=True)
class TokenMetadata:
    address: str  # checksummed
    symbol: str
    name: str
    decimals: int


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def decode_text(raw: bytes, limit: int, what: str) -> str:
    """An ABI ``string`` (or a ``bytes32``) returned by a contract, checked to be short, readable text."""
    if len(raw) == 32:  # bytes32: the text, padded with zero bytes
        data = raw.rstrip(b"\0")
    else:
        if len(raw) < 64 or len(raw) % 32:
            raise TokenMetadataError(f"Its {what} is not a string (the contract answered {len(raw)} bytes).")
        offset = int.from_bytes(raw[:32], "big")
        if offset + 32 > len(raw):
            raise TokenMetadataError(f"Its {what} is not a well-formed string.")
        length = int.from_bytes(raw[offset : offset + 32], "big")
        if length > limit:
            raise TokenMetadataError(
                f"Its {what} is {min(length, 10**9):,} bytes long; at most {limit} are shown."
            )
        data = raw[offset + 32 : offset + 32 + length]
        if len(data) != length:
            raise TokenMetadataError(f"Its {what} is cut short.")
    if len(data) > limit:
        raise TokenMetadataError(f"Its {what} is {len(data)} bytes long; at most {limit} are shown.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenMetadataError(f"Its {what} is not text (not UTF-8): {data[:24].hex()}…") from None
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise TokenMetadataError(f"Its {what} is empty.")
    if _INVISIBLE.search(text):
        raise TokenMetadataError(f"Its {what} holds invisible or control characters.")
    if what == "symbol" and (any(c.isspace() for c in text) or any(c in text for c in "<>&")):
        # shown right after an amount: "000 USD" made 5 read as "5 000 USD"; markup could hide what follows
        raise TokenMetadataError(f"Its {what} holds spaces or markup ({text[:24]!r}); no token's does.")
    return text


def decode_decimals(raw: bytes) -> int:
    if len(raw) < 32:
        raise TokenMetadataError("Its decimals() answer is not a number.")
    value = int.from_bytes(raw[:32], "big")
    if value > MAX_DECIMALS:
        shown = value if value < 10**6 else "more than a million"
        raise TokenMetadataError(f"It says it has {shown} decimals; the app handles tokens with at most 36.")
    return value


async def _call(w3: Any, address: str, data: bytes, what: str) -> bytes:
    """The contract's answer to ``data``, or a TokenMetadataError naming ``what``."""
    try:
        return await raw_call(w3, address, data)
    except CallFailed as exc:
        if exc.reverted:
            raise TokenMetadataError(
                f"Its {what} call failed (the contract reverted or has no such function)."
            ) from None
        if "gas" in str(exc).lower():
            raise TokenMetadataError(
                f"Its {what} takes more work to read than any token's does (it ran out of gas): refused."
            ) from None
        raise TokenMetadataError(f"Its {what} could not be read: {exc}.") from None


async def read_token_metadata(w3: Any, address: str, *, holder: str | None = None) -> TokenMetadata:
    """Symbol, name and decimals of the ERC-20 at ``address``; ``holder``'s balanceOf must answer too."""
    from web3.types import RPCEndpoint

    address = to_checksum_address(address)
    try:
        code = await w3.provider.make_request(RPCEndpoint("eth_getCode"), [address, "latest"])
    except Exception as exc:
        raise TokenMetadataError(f"The network did not answer ({short_rpc_message(exc)}).") from None
    if str(code.get("result") or "0x") in ("0x", "0x0"):
        raise TokenMetadataError("There is no contract at this address on this network.")
    symbol = decode_text(await _call(w3, address, selector("symbol()"), "symbol"), MAX_SYMBOL_BYTES, "symbol")
    try:
        name = decode_text(await _call(w3, address, selector("name()"), "name"), MAX_NAME_BYTES, "name")
    except TokenMetadataError:
        name = ""  # optional in ERC-20; the symbol and decimals are what the app needs
    decimals = decode_decimals(await _call(w3, address, selector("decimals()"), "decimals"))
    owner = to_checksum_address(holder or address)
    balance = await _call(
        w3, address, selector("balanceOf(address)") + bytes(12) + bytes.fromhex(owner[2:]), "balanceOf"
    )
    if len(balance) != 32:
        raise TokenMetadataError(
            "Its balanceOf answer is not a number: it does not behave like an ERC-20 token."
        )
    return TokenMetadata(address=address, symbol=symbol, name=name, decimals=decimals)
