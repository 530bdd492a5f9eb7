from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygo_desktop.zcash import bech32
from paygo_desktop.zcash.bech32 import Base58Error, Bech32Error, Encoding

# Valid checksums from the BIP-173 / BIP-350 specification text.
BECH32_VALID = ["A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "?1ezyfcl"]
BECH32M_VALID = ["A1LQFN3A", "a1lqfn3a", "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", "?1v759aa"]


@pytest.mark.parametrize("text", BECH32_VALID)
def test_bip173_valid_checksums(text: str) -> None:
    hrp, words, encoding = bech32.decode_words(text)
    assert encoding is Encoding.BECH32
    assert bech32.encode_words(hrp, words, Encoding.BECH32) == text.lower()


@pytest.mark.parametrize("text", BECH32M_VALID)
def test_bip350_valid_checksums(text: str) -> None:
    hrp, words, encoding = bech32.decode_words(text)
    assert encoding is Encoding.BECH32M
    assert bech32.encode_words(hrp, words, Encoding.BECH32M) == text.lower()


def test_bech32_and_bech32m_are_distinguished() -> None:
    payload = bytes(range(20))
    a = bech32.encode("tex", payload, Encoding.BECH32)
    b = bech32.encode("tex", payload, Encoding.BECH32M)
    assert a != b
    assert bech32.decode(a).encoding is Encoding.BECH32
    assert bech32.decode(b).encoding is Encoding.BECH32M
    with pytest.raises(Bech32Error, match="expected BECH32M"):
        bech32.decode_expect(a, Encoding.BECH32M)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a12uel5L", "mixed case"),
        ("a12uel5m", "invalid checksum"),
        ("12uel5l", "separator"),
        ("a1b2uel5l", "invalid data character"),  # 'b' is not in the charset
        ("a1qqqqq", "checksum too short"),
        ("a 12uel5l", "outside US-ASCII"),
    ],
)
def test_invalid_strings(text: str, reason: str) -> None:
    with pytest.raises(Bech32Error, match=reason):
        bech32.decode_words(text)


def test_length_limit_is_optional() -> None:
    payload = bytes(200)
    with pytest.raises(Bech32Error, match="more than 90"):
        bech32.encode("u", payload, Encoding.BECH32M)
    long = bech32.encode("u", payload, Encoding.BECH32M, max_length=None)
    assert len(long) > 90
    with pytest.raises(Bech32Error, match="more than 90"):
        bech32.decode(long)
    assert bech32.decode(long, max_length=None).data == payload


def test_non_zero_padding_rejected() -> None:
    # One 8-bit byte needs two 5-bit words; the 2 leftover bits must be zero.
    words = bech32.convert_bits(b"\xff", 8, 5, True)
    assert words == [31, 28]
    text = bech32.encode_words("x", [31, 29], Encoding.BECH32M)
    with pytest.raises(Bech32Error, match="non-zero padding"):
        bech32.decode(text)


@given(
    hrp=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20),
    payload=st.binary(max_size=600),
    encoding=st.sampled_from(list(Encoding)),
)
def test_roundtrip(hrp: str, payload: bytes, encoding: Encoding) -> None:
    text = bech32.encode(hrp, payload, encoding, max_length=None)
    decoded = bech32.decode(text, max_length=None)
    assert (decoded.hrp, decoded.data, decoded.encoding) == (hrp, payload, encoding)
    assert bech32.decode(text.upper(), max_length=None).data == payload


@given(payload=st.binary(min_size=1, max_size=40), flip=st.integers(min_value=0))
def test_single_character_change_is_detected(payload: bytes, flip: int) -> None:
    text = bech32.encode("zs", payload, Encoding.BECH32M, max_length=None)
    pos = 3 + flip % (len(text) - 3)
    replacement = next(c for c in bech32.CHARSET if c != text[pos])
    with pytest.raises(Bech32Error):
        bech32.decode(text[:pos] + replacement + text[pos + 1 :], max_length=None)


@given(payload=st.binary(max_size=64))
def test_base58check_roundtrip(payload: bytes) -> None:
    assert bech32.b58check_decode(bech32.b58check_encode(payload)) == payload


def test_base58_leading_zeros_and_errors() -> None:
    assert bech32.b58encode(b"\x00\x00\x01") == "112"
    assert bech32.b58decode("112") == b"\x00\x00\x01"
    with pytest.raises(Base58Error, match="invalid Base58 character"):
        bech32.b58decode("10OIl")
    with pytest.raises(Base58Error, match="checksum"):
        bech32.b58check_decode(bech32.b58encode(b"hello world"))
