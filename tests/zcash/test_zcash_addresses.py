from __future__ import annotations

from typing import Any

import pytest
from zcash_vectors import load_vectors, table_rows

from paygo_desktop.zcash import bech32
from paygo_desktop.zcash.addresses import (
    AddressKind,
    InvalidAddress,
    Network,
    Typecode,
    encode_sapling,
    encode_tex,
    encode_transparent,
    encode_unified,
    is_valid_address,
    p2pkh_to_tex,
    parse_address,
    tex_to_p2pkh,
)
from paygo_desktop.zcash.f4jumble import f4jumble

ADDRESSES = load_vectors("addresses.json")
UA_R0 = table_rows("unified_address.json")
UA_R2 = table_rows("unified_address_r2.json")
TEX = table_rows("zip_0320.json")

SAPLING_TEST = "ztestsapling10yy2ex5dcqkclhc7z7yrnjq2z6feyjad56ptwlfgmy77dmaqqrl9gyhprdx59qgmsnyfska2kez"
P2PKH_TEST = "tmEZhbWHTpdKMw5it8YDspUXSMGQyFwovpU"
ORCHARD = bytes(range(43))
SAPLING = bytes(range(100, 143))
P2PKH = bytes(range(20))


def test_every_vector_file_is_loaded() -> None:
    assert len(ADDRESSES["valid"]) == 13
    assert len(ADDRESSES["invalid"]) == 4
    assert len(UA_R0) == 60
    assert len(UA_R2) == 60
    assert len(TEX) == 15


# --- addresses.json ---------------------------------------------------------------


@pytest.mark.parametrize("vector", ADDRESSES["valid"], ids=[v["address"][:16] for v in ADDRESSES["valid"]])
def test_valid_addresses(vector: dict[str, str]) -> None:
    addr = parse_address(vector["address"])
    assert addr.kind.value == vector["kind"]
    assert addr.network.value == vector["network"]
    assert addr.encoded == vector["address"]
    assert str(addr) == vector["address"]
    assert addr.is_shielded == (vector["kind"] in ("sapling", "unified"))  # every UA here has a shielded item
    assert is_valid_address(vector["address"])


@pytest.mark.parametrize("vector", ADDRESSES["valid"], ids=[v["address"][:16] for v in ADDRESSES["valid"]])
def test_valid_addresses_reencode(vector: dict[str, str]) -> None:
    addr = parse_address(vector["address"])
    if addr.kind in (AddressKind.P2PKH, AddressKind.P2SH):
        again = encode_transparent(addr.kind, addr.network, addr.payload)
    elif addr.kind is AddressKind.SAPLING:
        again = encode_sapling(addr.network, addr.payload)
    elif addr.kind is AddressKind.TEX:
        again = encode_tex(addr.network, addr.payload)
    else:
        assert addr.unified is not None
        again = encode_unified(addr.unified.items, addr.network, addr.unified.revision)
    assert again == vector["address"]


@pytest.mark.parametrize("text", ADDRESSES["invalid"])
def test_invalid_addresses(text: str) -> None:
    with pytest.raises(InvalidAddress) as info:
        parse_address(text)
    assert info.value.message
    assert not is_valid_address(text)


# --- Unified Address vectors ------------------------------------------------------


def _expected_receivers(row: list[Any], revision: int) -> dict[int, bytes]:
    expected: dict[int, bytes] = {}
    for typecode, column in ((0, 0), (1, 1), (2, 2), (3, 3)):
        if row[column] is not None:
            expected[typecode] = bytes.fromhex(row[column])
    if revision == 0 and row[4] is not None:
        expected[row[4]] = bytes.fromhex(row[5])
    return expected


@pytest.mark.parametrize("row", UA_R0, ids=[f"r0-{i}" for i in range(len(UA_R0))])
def test_unified_revision0_vectors(row: list[Any]) -> None:
    addr = parse_address(row[6])
    assert addr.kind is AddressKind.UNIFIED
    assert addr.network is Network.MAIN
    assert addr.unified is not None
    assert addr.unified.revision == 0
    expected = _expected_receivers(row, 0)
    assert addr.receivers == expected
    assert [tc for tc, _ in addr.unified.items] == sorted(expected)
    assert addr.unified.metadata == {}
    assert addr.is_shielded == (2 in expected or 3 in expected)
    assert encode_unified(expected, Network.MAIN) == row[6]


@pytest.mark.parametrize("row", UA_R2, ids=[f"r2-{i}" for i in range(len(UA_R2))])
def test_unified_revision2_vectors(row: list[Any]) -> None:
    addr = parse_address(row[6])
    assert addr.kind is AddressKind.UNIFIED
    assert addr.network is Network.MAIN
    assert addr.unified is not None
    assert addr.unified.revision == 2
    expected = _expected_receivers(row, 2)
    assert addr.receivers == expected
    assert addr.unified.expiry_height == row[4]
    assert addr.unified.expiry_time == row[5]
    if row[4] is not None:
        assert addr.unified.metadata[Typecode.EXPIRY_HEIGHT] == row[4].to_bytes(4, "little")
    if row[5] is not None:
        assert addr.unified.metadata[Typecode.EXPIRY_TIME] == row[5].to_bytes(8, "little")
    transparent_hrp = row[6].startswith("tu1")
    if not transparent_hrp:
        assert not addr.unified.has_transparent_receiver
    assert addr.is_shielded == (2 in expected or 3 in expected)
    assert encode_unified(addr.unified.items, Network.MAIN, 2, transparent_hrp=transparent_hrp) == row[6]


# --- ZIP-320 TEX ------------------------------------------------------------------


@pytest.mark.parametrize(("t_addr", "p2pkh_hex", "tex_addr", "account", "child"), TEX)
def test_tex_vectors(t_addr: str, p2pkh_hex: str, tex_addr: str, account: int, child: int) -> None:
    t = parse_address(t_addr)
    assert (t.kind, t.network, t.payload.hex()) == (AddressKind.P2PKH, Network.MAIN, p2pkh_hex)
    tex = parse_address(tex_addr)
    assert (tex.kind, tex.network, tex.payload.hex()) == (AddressKind.TEX, Network.MAIN, p2pkh_hex)
    assert not tex.is_shielded and tex.is_transparent
    assert p2pkh_to_tex(t_addr) == tex_addr
    assert tex_to_p2pkh(tex_addr) == t_addr


def test_tex_testnet_conversion() -> None:
    tex = p2pkh_to_tex(P2PKH_TEST)
    assert tex.startswith("textest1")
    assert parse_address(tex).network is Network.TEST
    assert tex_to_p2pkh(tex) == P2PKH_TEST


def test_tex_conversion_refuses_other_kinds() -> None:
    with pytest.raises(InvalidAddress, match="only P2PKH"):
        p2pkh_to_tex("t3JZcvsuaXE6ygokL4XUiZSTrQBUoPYFnXJ")
    with pytest.raises(InvalidAddress, match="not a TEX"):
        tex_to_p2pkh(P2PKH_TEST)


def test_tex_with_bech32_checksum_rejected() -> None:
    text = bech32.encode("tex", P2PKH, bech32.Encoding.BECH32)
    with pytest.raises(InvalidAddress, match="Bech32m"):
        parse_address(text)


# --- shieldedness and legacy kinds ---------------------------------------------------


def test_is_shielded() -> None:
    assert parse_address(SAPLING_TEST).is_shielded
    assert not parse_address(P2PKH_TEST).is_shielded
    orchard_ua = encode_unified({Typecode.ORCHARD: ORCHARD}, Network.TEST)
    assert parse_address(orchard_ua).is_shielded
    transparent_ua = encode_unified({Typecode.P2PKH: P2PKH}, Network.TEST, revision=2)
    parsed = parse_address(transparent_ua)
    assert transparent_ua.startswith("tutest1")
    assert parsed.kind is AddressKind.UNIFIED and not parsed.is_shielded


def test_sapling_requires_bech32_and_43_bytes() -> None:
    with pytest.raises(InvalidAddress, match="not Bech32m"):
        parse_address(bech32.encode("zs", SAPLING, bech32.Encoding.BECH32M))
    with pytest.raises(InvalidAddress, match="43 bytes"):
        parse_address(bech32.encode("zs", SAPLING[:42], bech32.Encoding.BECH32))


def test_uppercase_bech32_accepted_and_normalised() -> None:
    addr = parse_address(SAPLING_TEST.upper())
    assert addr.encoded == SAPLING_TEST


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" " + P2PKH_TEST, "whitespace"),
        ("t1Hsc1LR8yKnbbe3twRp88p6vFfC5t7DLb", "checksum"),
        (bech32.b58check_encode(b"\x1c\xb9" + bytes(20)), "unknown transparent address prefix"),
        (bech32.encode("zc", bytes(20), bech32.Encoding.BECH32), "unknown address prefix"),
        (bech32.encode("u1x", bytes(20), bech32.Encoding.BECH32M), "unknown address prefix 'u1x'"),
        ("0OIl", "not a Zcash address"),
        ("zs1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpq6d8G", "mixed case"),
    ],
)
def test_bad_inputs(text: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        parse_address(text)


def test_transparent_encoding_per_network() -> None:
    assert encode_transparent(AddressKind.P2PKH, Network.MAIN, P2PKH).startswith("t1")
    assert encode_transparent(AddressKind.P2SH, Network.MAIN, P2PKH).startswith("t3")
    assert encode_transparent(AddressKind.P2PKH, Network.TEST, P2PKH).startswith("tm")
    assert encode_transparent(AddressKind.P2SH, Network.TEST, P2PKH).startswith("t2")


# --- Unified Address validation rules ---------------------------------------------------


def _raw_unified(raw_items: bytes, hrp: str) -> str:
    """Encode arbitrary raw item bytes, bypassing the encoder's validation."""
    padding = hrp.encode() + bytes(16 - len(hrp))
    return bech32.encode(hrp, f4jumble(raw_items + padding), bech32.Encoding.BECH32M, max_length=None)


def _item(typecode: int, data: bytes) -> bytes:
    assert typecode < 0xFD and len(data) < 0xFD
    return bytes([typecode, len(data)]) + data


def test_hand_built_unified_matches_encoder() -> None:
    raw = _item(2, SAPLING) + _item(3, ORCHARD)
    assert _raw_unified(raw, "u") == encode_unified({2: SAPLING, 3: ORCHARD}, Network.MAIN)


@pytest.mark.parametrize(
    ("raw", "hrp", "reason"),
    [
        (_item(3, ORCHARD) + _item(2, SAPLING), "u", "ascending typecode order"),
        (_item(3, ORCHARD) + _item(3, ORCHARD), "u", "more than once"),
        (_item(0, P2PKH) + _item(1, P2PKH) + _item(3, ORCHARD), "u", "both P2PKH and P2SH"),
        (_item(0, P2PKH), "u", "Sapling or Orchard"),
        (_item(3, ORCHARD[:42]), "u", "must be 43 bytes"),
        (_item(3, ORCHARD) + b"\x05", "u", "truncated"),
        (_item(3, ORCHARD) + bytes([4, 50]) + bytes(3), "u", "past the end"),
        (_item(3, ORCHARD) + _item(0xE0, bytes(4)), "u", "MUST-understand"),
        (_item(3, ORCHARD) + _item(0xE2, bytes(4)), "zu", "unsupported MUST-understand"),
        (_item(3, ORCHARD) + _item(0xE0, bytes(3)), "zu", "must be 4 bytes"),
        (_item(0xC0, bytes(20)) + _item(0xE0, bytes(4)), "zu", "only metadata"),
        (_item(0, P2PKH) + _item(3, ORCHARD), "zu", "shielded-only"),
        (b"\xfd\x03\x00" + bytes([43]) + ORCHARD, "u", "non-canonical compactSize"),
    ],
)
def test_unified_rejections(raw: bytes, hrp: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        parse_address(_raw_unified(raw, hrp))


def test_unified_padding_must_match_hrp() -> None:
    raw = _item(3, ORCHARD)
    jumbled = f4jumble(raw + b"utest" + bytes(11))
    text = bech32.encode("u", jumbled, bech32.Encoding.BECH32M, max_length=None)
    with pytest.raises(InvalidAddress, match="padding"):
        parse_address(text)


def test_unified_too_short_and_bech32_checksum() -> None:
    short = bech32.encode("u", bytes(37), bech32.Encoding.BECH32M)
    with pytest.raises(InvalidAddress, match="invalid length"):
        parse_address(short)
    good = encode_unified({3: ORCHARD}, Network.MAIN)
    plain = bech32.encode("u", bech32.decode(good, max_length=None).data, bech32.Encoding.BECH32, None)
    with pytest.raises(InvalidAddress, match="Bech32m"):
        parse_address(plain)


def test_unknown_items_are_kept() -> None:
    ua = encode_unified({3: ORCHARD, 0xC5: b"meta", 0xFFFA: b"experiment"}, Network.REGTEST)
    assert ua.startswith("uregtest1")
    addr = parse_address(ua)
    assert addr.network is Network.REGTEST
    assert addr.receivers == {3: ORCHARD, 0xFFFA: b"experiment"}
    assert addr.unified is not None and addr.unified.metadata == {0xC5: b"meta"}
    assert 0xFFFA > 0xFD  # exercises the 3-byte compactSize typecode


def test_long_unified_address_beyond_bech32_limit() -> None:
    big = bytes(range(256)) * 2
    ua = encode_unified({3: ORCHARD, 0xFFFB: big}, Network.TEST)
    assert len(ua) > 900
    assert parse_address(ua).receivers[0xFFFB] == big
