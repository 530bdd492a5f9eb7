"""ZIP-321 payment request URIs (``zcash:…``): build and parse.

Amounts are integer zatoshi; memos are raw bytes (carried base64url without padding, at
most 512 bytes) and only allowed for shielded recipients. Any ``req-`` parameter is refused
because this implementation understands none.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from .addresses import InvalidAddress, ZcashAddress, parse_address
from .amounts import MAX_MONEY, InvalidAmount, check_zat, format_zec, parse_zec

SCHEME = "zcash"
MAX_MEMO_BYTES = 512
MAX_PARAM_INDEX = 9999

_PARAM_NAME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-]*)(?:\.([1-9][0-9]{0,3}))?")
_ADDRESS_RE = re.compile(r"[A-Za-z0-9]+")
_BASE64URL_RE = re.compile(r"[A-Za-z0-9_\-]*")
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
# qchar = unreserved / pct-encoded / allowed-delims / ":" / "@"
_QCHAR_SAFE = frozenset(_UNRESERVED + "!$'()*+,;:@")
_ENCODE_SAFE = frozenset(_UNRESERVED + "!$'()*,;:@")  # "+" is escaped when building, for old decoders
_KNOWN = frozenset({"address", "amount", "memo", "label", "message"})


class InvalidPaymentRequest(ValueError):
    """A ZIP-321 URI (or a payment to be put in one) is invalid."""


def encode_memo(memo: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(memo).rstrip(b"=").decode("ascii")


def decode_memo(text: str) -> bytes:
    if not _BASE64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidPaymentRequest("memo is not base64url without padding")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if encode_memo(raw) != text:
        raise InvalidPaymentRequest("memo base64url has non-canonical trailing bits")
    if len(raw) > MAX_MEMO_BYTES:
        raise InvalidPaymentRequest(f"memo is {len(raw)} bytes, more than {MAX_MEMO_BYTES}")
    return raw


def _pct_encode(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ENCODE_SAFE:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def _pct_decode(text: str, what: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            hexpart = text[i + 1 : i + 3]
            if len(hexpart) != 2 or not all(c in "0123456789abcdefABCDEF" for c in hexpart):
                raise InvalidPaymentRequest(f"bad percent-encoding in {what}")
            raw.append(int(hexpart, 16))
            i += 3
        elif ch in _QCHAR_SAFE:
            raw.append(ord(ch))
            i += 1
        else:
            raise InvalidPaymentRequest(f"character {ch!r} not allowed in {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPaymentRequest(f"{what} is not valid UTF-8") from None


@dataclass(frozen=True)
class Payment:
    """One payment of a request. ``amount_zat`` None means the payer chooses."""

    address: str
    amount_zat: int | None = None
    memo: bytes | None = None
    label: str | None = None
    message: str | None = None
    other_params: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        parsed = self.parsed_address  # validates
        if self.amount_zat is not None:
            try:
                check_zat(self.amount_zat)
            except InvalidAmount as exc:
                raise InvalidPaymentRequest(str(exc)) from None
        if self.memo is not None:
            if not isinstance(self.memo, bytes):
                raise InvalidPaymentRequest("memo must be bytes")
            if len(self.memo) > MAX_MEMO_BYTES:
                raise InvalidPaymentRequest(f"memo is {len(self.memo)} bytes, more than {MAX_MEMO_BYTES}")
            if not parsed.is_shielded:
                raise InvalidPaymentRequest("a memo can only be sent to a shielded address")
        for name, _value in self.other_params:
            m = _PARAM_NAME_RE.fullmatch(name)
            if m is None or m.group(2) is not None or name in _KNOWN or name.startswith("req-"):
                raise InvalidPaymentRequest(f"invalid extra parameter name {name!r}")

    @property
    def parsed_address(self) -> ZcashAddress:
        try:
            return parse_address(self.address)
        except InvalidAddress as exc:
            raise InvalidPaymentRequest(f"invalid address: {exc.message}") from None

    @property
    def memo_text(self) -> str | None:
        """The memo decoded as UTF-8 (None if absent or not text)."""
        if self.memo is None:
            return None
        try:
            return self.memo.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class PaymentRequest:
    payments: tuple[Payment, ...]

    def __post_init__(self) -> None:
        nets = {p.parsed_address.network for p in self.payments}
        if len(nets) > 1:
            raise InvalidPaymentRequest("payments are for addresses on different networks")
        total = sum(p.amount_zat or 0 for p in self.payments)
        if total > MAX_MONEY:
            raise InvalidPaymentRequest("total amount exceeds the 21,000,000 ZEC supply")

    @property
    def total_zat(self) -> int:
        return sum(p.amount_zat or 0 for p in self.payments)

    def to_uri(self) -> str:
        return build_uri(self.payments)


def _payment_params(payment: Payment, suffix: str, with_address: bool) -> list[str]:
    params: list[str] = []
    if with_address:
        params.append(f"address{suffix}={payment.address}")
    if payment.amount_zat is not None:
        params.append(f"amount{suffix}={format_zec(payment.amount_zat)}")
    if payment.memo is not None:
        params.append(f"memo{suffix}={encode_memo(payment.memo)}")
    if payment.label is not None:
        params.append(f"label{suffix}={_pct_encode(payment.label)}")
    if payment.message is not None:
        params.append(f"message{suffix}={_pct_encode(payment.message)}")
    params.extend(f"{name}{suffix}={_pct_encode(value)}" for name, value in payment.other_params)
    return params


def build_uri(payments: Payment | list[Payment] | tuple[Payment, ...]) -> str:
    """Render payments as a ``zcash:`` URI. One payment puts its address in the path."""
    items = (payments,) if isinstance(payments, Payment) else tuple(payments)
    PaymentRequest(items)  # whole-request checks
    if len(items) > MAX_PARAM_INDEX + 1:
        raise InvalidPaymentRequest("too many payments")
    if len(items) == 1:
        params = _payment_params(items[0], "", with_address=False)
        uri = f"{SCHEME}:{items[0].address}"
        return f"{uri}?{'&'.join(params)}" if params else uri
    params = []
    for index, payment in enumerate(items):
        params.extend(_payment_params(payment, f".{index}" if index else "", with_address=True))
    return f"{SCHEME}:?{'&'.join(params)}" if params else f"{SCHEME}:"


def parse_uri(uri: str) -> PaymentRequest:
    """Parse and fully validate a ZIP-321 URI; raise :class:`InvalidPaymentRequest` otherwise."""
    if not isinstance(uri, str):
        raise InvalidPaymentRequest("URI must be a string")
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme.lower() != SCHEME:
        raise InvalidPaymentRequest("not a zcash: URI")
    path, _, query = rest.partition("?")
    fields: dict[int, dict[str, str]] = {}
    if path:
        if not _ADDRESS_RE.fullmatch(path):
            raise InvalidPaymentRequest("address in the URI path must be a plain address")
        fields[0] = {"address": path}
    if query:
        for part in query.split("&"):
            name_part, eq, value = part.partition("=")
            if not eq:
                raise InvalidPaymentRequest(f"parameter {part!r} has no value")
            m = _PARAM_NAME_RE.fullmatch(name_part)
            if m is None:
                raise InvalidPaymentRequest(f"invalid parameter name {name_part!r}")
            name, index = m.group(1), int(m.group(2) or 0)
            if name.startswith("req-"):
                raise InvalidPaymentRequest(f"unsupported required parameter {name!r}")
            slot = fields.setdefault(index, {})
            if name in slot:
                raise InvalidPaymentRequest(f"duplicate parameter {name_part!r}")
            slot[name] = value
    payments: list[Payment] = []
    for index in sorted(fields):
        payments.append(_payment_from_fields(index, fields[index]))
    return PaymentRequest(tuple(payments))


def _payment_from_fields(index: int, params: dict[str, str]) -> Payment:
    where = f"payment {index}"
    address = params.get("address")
    if address is None:
        raise InvalidPaymentRequest(f"{where} has no address")
    if not _ADDRESS_RE.fullmatch(address):
        raise InvalidPaymentRequest(f"{where}: malformed address")
    amount: int | None = None
    if "amount" in params:
        try:
            amount = parse_zec(params["amount"])
        except InvalidAmount as exc:
            raise InvalidPaymentRequest(f"{where}: {exc}") from None
    memo = decode_memo(params["memo"]) if "memo" in params else None
    label = _pct_decode(params["label"], "label") if "label" in params else None
    message = _pct_decode(params["message"], "message") if "message" in params else None
    others = tuple((name, _pct_decode(value, name)) for name, value in params.items() if name not in _KNOWN)
    return Payment(address, amount, memo, label, message, others)
