"""Parse, validate and encode Zcash addresses.

Supported kinds: transparent P2PKH / P2SH (Base58Check), Sapling (Bech32),
Unified Addresses (ZIP-316 revision 0 ``u…`` and revision 2 ``zu…``/``tu…``:
Bech32m + F4Jumble + HRP padding) and TEX addresses (ZIP-320, Bech32m).

Only the encodings are validated: curve points inside Sapling/Orchard receivers
are not checked (that needs Jubjub/Pallas arithmetic and a proving library).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum

from . import bech32
from .f4jumble import F4JumbleError, f4jumble, f4jumble_inv


class InvalidAddress(ValueError):
    """The string is not a valid Zcash address (the message says why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Network(Enum):
    MAIN = "main"
    TEST = "test"
    REGTEST = "regtest"


class AddressKind(Enum):
    P2PKH = "p2pkh"
    P2SH = "p2sh"
    SAPLING = "sapling"
    UNIFIED = "unified"
    TEX = "tex"


class Typecode(IntEnum):
    """ZIP-316 item typecodes this module understands."""

    P2PKH = 0x00
    P2SH = 0x01
    SAPLING = 0x02
    ORCHARD = 0x03
    EXPIRY_HEIGHT = 0xE0
    EXPIRY_TIME = 0xE1


METADATA_MIN, METADATA_MAX = 0xC0, 0xFC
MUST_UNDERSTAND_MIN = 0xE0
MAX_COMPACT_VALUE = 0x2000000

_TRANSPARENT_PREFIXES: dict[bytes, tuple[AddressKind, Network]] = {
    bytes([0x1C, 0xB8]): (AddressKind.P2PKH, Network.MAIN),  # t1
    bytes([0x1C, 0xBD]): (AddressKind.P2SH, Network.MAIN),  # t3
    bytes([0x1D, 0x25]): (AddressKind.P2PKH, Network.TEST),  # tm (testnet and regtest)
    bytes([0x1C, 0xBA]): (AddressKind.P2SH, Network.TEST),  # t2 (testnet and regtest)
}
_TRANSPARENT_PREFIX_FOR = {v: k for k, v in _TRANSPARENT_PREFIXES.items()}

SAPLING_HRP = {Network.MAIN: "zs", Network.TEST: "ztestsapling", Network.REGTEST: "zregtestsapling"}
TEX_HRP = {Network.MAIN: "tex", Network.TEST: "textest", Network.REGTEST: "texregtest"}
_NET_SUFFIX = {Network.MAIN: "", Network.TEST: "test", Network.REGTEST: "regtest"}
# Revision 0: "u"; revision 2: "zu" (shielded-only) or "tu" (transparent-including).
_UA_HRPS: dict[str, tuple[Network, int, bool | None]] = {}
for _net, _suffix in _NET_SUFFIX.items():
    _UA_HRPS["u" + _suffix] = (_net, 0, None)
    _UA_HRPS["zu" + _suffix] = (_net, 2, False)
    _UA_HRPS["tu" + _suffix] = (_net, 2, True)
_BECH32_PREFIXES = tuple(h + "1" for h in [*SAPLING_HRP.values(), *TEX_HRP.values(), *_UA_HRPS])
_SAPLING_NETS = {v: k for k, v in SAPLING_HRP.items()}
_TEX_NETS = {v: k for k, v in TEX_HRP.items()}

_RECEIVER_LENGTHS: dict[int, int] = {
    Typecode.P2PKH: 20,
    Typecode.P2SH: 20,
    Typecode.SAPLING: 43,
    Typecode.ORCHARD: 43,
}
_METADATA_LENGTHS: dict[int, int] = {Typecode.EXPIRY_HEIGHT: 4, Typecode.EXPIRY_TIME: 8}
_SHIELDED = (Typecode.SAPLING, Typecode.ORCHARD)
_TRANSPARENT = (Typecode.P2PKH, Typecode.P2SH)


def unified_hrp(network: Network, revision: int = 0, transparent: bool = False) -> str:
    if revision == 0:
        return "u" + _NET_SUFFIX[network]
    if revision == 2:
        return ("tu" if transparent else "zu") + _NET_SUFFIX[network]
    raise ValueError(f"unsupported Unified Address revision {revision}")


def is_metadata(typecode: int) -> bool:
    return METADATA_MIN <= typecode <= METADATA_MAX


@dataclass(frozen=True)
class UnifiedContents:
    """The decoded items of a Unified Address, in encoding (ascending typecode) order."""

    revision: int
    items: tuple[tuple[int, bytes], ...]

    @property
    def receivers(self) -> dict[int, bytes]:
        """Receivers (typecode → raw bytes), including unknown ones; metadata items excluded."""
        return {tc: data for tc, data in self.items if not is_metadata(tc)}

    @property
    def metadata(self) -> dict[int, bytes]:
        return {tc: data for tc, data in self.items if is_metadata(tc)}

    @property
    def expiry_height(self) -> int | None:
        raw = self.metadata.get(Typecode.EXPIRY_HEIGHT)
        return None if raw is None else int.from_bytes(raw, "little")

    @property
    def expiry_time(self) -> int | None:
        raw = self.metadata.get(Typecode.EXPIRY_TIME)
        return None if raw is None else int.from_bytes(raw, "little")

    @property
    def has_shielded_receiver(self) -> bool:
        return any(tc in self.receivers for tc in _SHIELDED)

    @property
    def has_transparent_receiver(self) -> bool:
        return any(tc in self.receivers for tc in _TRANSPARENT)


@dataclass(frozen=True)
class ZcashAddress:
    """A validated address. ``payload`` is the 20-byte hash (transparent, TEX), the 43-byte
    raw Sapling address, or the raw item encoding of a Unified Address."""

    encoded: str
    kind: AddressKind
    network: Network
    payload: bytes
    unified: UnifiedContents | None = None

    def __str__(self) -> str:
        return self.encoded

    @property
    def is_shielded(self) -> bool:
        """Sapling, or Unified with at least one Sapling/Orchard receiver. Such addresses take memos."""
        if self.kind is AddressKind.SAPLING:
            return True
        return self.unified is not None and self.unified.has_shielded_receiver

    @property
    def is_transparent(self) -> bool:
        return self.kind in (AddressKind.P2PKH, AddressKind.P2SH, AddressKind.TEX)

    @property
    def receivers(self) -> dict[int, bytes]:
        """Unified receivers (typecode → bytes); a legacy address maps to its one receiver typecode."""
        if self.unified is not None:
            return self.unified.receivers
        if self.kind is AddressKind.SAPLING:
            return {Typecode.SAPLING: self.payload}
        if self.kind is AddressKind.P2SH:
            return {Typecode.P2SH: self.payload}
        return {Typecode.P2PKH: self.payload}


# --- compactSize --------------------------------------------------------------


def _write_compact(n: int) -> bytes:
    if not 0 <= n <= MAX_COMPACT_VALUE:
        raise ValueError(f"compactSize value {n} out of range")
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _read_compact(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise InvalidAddress("truncated Unified Address item")
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    if pos + 1 + size > len(data):
        raise InvalidAddress("truncated compactSize")
    value = int.from_bytes(data[pos + 1 : pos + 1 + size], "little")
    minimum = {2: 0xFD, 4: 0x10000, 8: 0x100000000}[size]
    if value < minimum:
        raise InvalidAddress("non-canonical compactSize")
    if value > MAX_COMPACT_VALUE:
        raise InvalidAddress("compactSize value too large")
    return value, pos + 1 + size


# --- Unified Addresses ----------------------------------------------------------


def _validate_items(items: list[tuple[int, bytes]], revision: int, transparent_hrp: bool | None) -> None:
    if not items:
        raise InvalidAddress("Unified Address has no items")
    last = -1
    for typecode, data in items:
        if typecode <= last:
            if typecode == last:
                raise InvalidAddress(f"typecode {typecode:#x} appears more than once")
            raise InvalidAddress("Unified Address items are not in ascending typecode order")
        last = typecode
        expected = _RECEIVER_LENGTHS.get(typecode)
        if expected is not None and len(data) != expected:
            raise InvalidAddress(f"typecode {typecode:#x} item must be {expected} bytes, got {len(data)}")
        if typecode >= MUST_UNDERSTAND_MIN and is_metadata(typecode):
            if revision == 0:
                raise InvalidAddress("revision 0 Unified Address contains a MUST-understand metadata item")
            meta_len = _METADATA_LENGTHS.get(typecode)
            if meta_len is None:
                raise InvalidAddress(f"unsupported MUST-understand metadata typecode {typecode:#x}")
            if len(data) != meta_len:
                raise InvalidAddress(f"metadata typecode {typecode:#x} must be {meta_len} bytes")
    codes = {tc for tc, _ in items}
    if Typecode.P2PKH in codes and Typecode.P2SH in codes:
        raise InvalidAddress("Unified Address contains both P2PKH and P2SH receivers")
    if all(is_metadata(tc) for tc in codes):
        raise InvalidAddress("Unified Address contains only metadata items")
    if revision == 0 and not codes & set(_SHIELDED):
        raise InvalidAddress("revision 0 Unified Address must contain a Sapling or Orchard receiver")
    has_transparent = bool(codes & set(_TRANSPARENT))
    if transparent_hrp is False and has_transparent:
        raise InvalidAddress("shielded-only ('zu') Unified Address contains a transparent receiver")


def _padding(hrp: str) -> bytes:
    raw = hrp.encode("ascii")
    if len(raw) > 16:
        raise ValueError("HRP too long for Unified padding")
    return raw + b"\x00" * (16 - len(raw))


def encode_unified(
    receivers: Mapping[int, bytes] | Mapping[Typecode, bytes] | Iterable[tuple[int, bytes]],
    network: Network,
    revision: int = 0,
    *,
    transparent_hrp: bool | None = None,
) -> str:
    """Encode items (typecode → bytes, metadata included) as a Unified Address string.

    For revision 2 the HRP is ``tu…`` when ``transparent_hrp`` is true (default: when a
    transparent receiver is present) and ``zu…`` otherwise; ``zu`` cannot hold transparent receivers.
    """
    pairs = receivers.items() if isinstance(receivers, Mapping) else receivers
    items = sorted((int(tc), bytes(data)) for tc, data in pairs)
    if transparent_hrp is None:
        transparent_hrp = any(tc in _TRANSPARENT for tc, _ in items)
    hrp = unified_hrp(network, revision, transparent_hrp)
    _validate_items(items, revision, transparent_hrp if revision else None)
    raw = b"".join(_write_compact(tc) + _write_compact(len(data)) + data for tc, data in items)
    jumbled = f4jumble(raw + _padding(hrp))
    return bech32.encode(hrp, jumbled, bech32.Encoding.BECH32M, max_length=None)


def _parse_unified(text: str, decoded: bech32.Bech32Decoded) -> ZcashAddress:
    network, revision, transparent_hrp = _UA_HRPS[decoded.hrp]
    if decoded.encoding is not bech32.Encoding.BECH32M:
        raise InvalidAddress("Unified Address must use a Bech32m checksum")
    try:
        unjumbled = f4jumble_inv(decoded.data)
    except F4JumbleError as exc:
        raise InvalidAddress(f"Unified Address has invalid length: {exc}") from None
    padding = _padding(decoded.hrp)
    if unjumbled[-16:] != padding:
        raise InvalidAddress("Unified Address padding does not match its human-readable part")
    raw = unjumbled[:-16]
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(raw):
        typecode, pos = _read_compact(raw, pos)
        length, pos = _read_compact(raw, pos)
        if pos + length > len(raw):
            raise InvalidAddress("Unified Address item runs past the end")
        items.append((typecode, raw[pos : pos + length]))
        pos += length
    _validate_items(items, revision, transparent_hrp)
    return ZcashAddress(text, AddressKind.UNIFIED, network, raw, UnifiedContents(revision, tuple(items)))


# --- public API -------------------------------------------------------------------


def parse_address(text: str) -> ZcashAddress:
    """Parse and validate any supported Zcash address; raise :class:`InvalidAddress` otherwise."""
    if not isinstance(text, str) or not text:
        raise InvalidAddress("empty address")
    if text != text.strip():
        raise InvalidAddress("address has surrounding whitespace")
    if not text.lower().startswith(_BECH32_PREFIXES):
        if text[0] == "t":
            return _parse_transparent(text)
        try:
            hrp = bech32.decode_words(text, max_length=None)[0]
        except bech32.Bech32Error:
            raise InvalidAddress("not a Zcash address") from None
        raise InvalidAddress(f"unknown address prefix {hrp!r}")
    try:
        decoded = bech32.decode(text, max_length=None)
    except bech32.Bech32Error as exc:
        raise InvalidAddress(f"not a valid Zcash address: {exc}") from None
    text = text.lower()  # Bech32 allows an all-uppercase form (e.g. QR alphanumeric mode)
    hrp = decoded.hrp
    if hrp in _SAPLING_NETS:
        if decoded.encoding is not bech32.Encoding.BECH32:
            raise InvalidAddress("Sapling address must use a Bech32 (not Bech32m) checksum")
        if len(decoded.data) != 43:
            raise InvalidAddress(f"Sapling address must hold 43 bytes, got {len(decoded.data)}")
        return ZcashAddress(text, AddressKind.SAPLING, _SAPLING_NETS[hrp], decoded.data)
    if hrp in _TEX_NETS:
        if decoded.encoding is not bech32.Encoding.BECH32M:
            raise InvalidAddress("TEX address must use a Bech32m checksum")
        if len(decoded.data) != 20:
            raise InvalidAddress(f"TEX address must hold 20 bytes, got {len(decoded.data)}")
        return ZcashAddress(text, AddressKind.TEX, _TEX_NETS[hrp], decoded.data)
    if hrp in _UA_HRPS:
        return _parse_unified(text, decoded)
    raise InvalidAddress(f"unknown address prefix {hrp!r}")


def _parse_transparent(text: str) -> ZcashAddress:
    try:
        payload = bech32.b58check_decode(text)
    except bech32.Base58Error as exc:
        raise InvalidAddress(f"invalid transparent address: {exc}") from None
    if len(payload) != 22:
        raise InvalidAddress("transparent address must hold a 2-byte prefix and a 20-byte hash")
    found = _TRANSPARENT_PREFIXES.get(payload[:2])
    if found is None:
        raise InvalidAddress("unknown transparent address prefix")
    kind, network = found
    return ZcashAddress(text, kind, network, payload[2:])


def is_valid_address(text: str) -> bool:
    try:
        parse_address(text)
    except InvalidAddress:
        return False
    return True


def encode_transparent(kind: AddressKind, network: Network, hash160: bytes) -> str:
    if len(hash160) != 20:
        raise ValueError("transparent hash must be 20 bytes")
    net = Network.TEST if network is Network.REGTEST else network
    prefix = _TRANSPARENT_PREFIX_FOR.get((kind, net))
    if prefix is None:
        raise ValueError(f"{kind.value} is not a transparent kind")
    return bech32.b58check_encode(prefix + hash160)


def encode_sapling(network: Network, raw: bytes) -> str:
    if len(raw) != 43:
        raise ValueError("raw Sapling address must be 43 bytes")
    return bech32.encode(SAPLING_HRP[network], raw, bech32.Encoding.BECH32, max_length=None)


def encode_tex(network: Network, hash160: bytes) -> str:
    if len(hash160) != 20:
        raise ValueError("P2PKH hash must be 20 bytes")
    return bech32.encode(TEX_HRP[network], hash160, bech32.Encoding.BECH32M)


def p2pkh_to_tex(address: str) -> str:
    """ZIP-320: the TEX address for a t1 (mainnet) or tm (testnet) P2PKH address."""
    parsed = parse_address(address)
    if parsed.kind is not AddressKind.P2PKH:
        raise InvalidAddress("only P2PKH addresses have a TEX form")
    return encode_tex(parsed.network, parsed.payload)


def tex_to_p2pkh(address: str) -> str:
    """ZIP-320: the P2PKH address behind a TEX address (regtest TEX maps to a tm address)."""
    parsed = parse_address(address)
    if parsed.kind is not AddressKind.TEX:
        raise InvalidAddress("not a TEX address")
    return encode_transparent(AddressKind.P2PKH, parsed.network, parsed.payload)
