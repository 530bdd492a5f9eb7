from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygo_desktop.zcash.amounts import (
    COIN,
    MAX_MONEY,
    InvalidAmount,
    check_zat,
    format_zec,
    parse_zec,
    zat_to_zec,
    zec_to_zat,
)


@pytest.mark.parametrize(
    ("text", "zat"),
    [
        ("0", 0),
        ("1", COIN),
        ("0.00000001", 1),
        ("123.456", 12_345_600_000),
        ("0.789", 78_900_000),
        ("007.50", 750_000_000),
        ("21000000", MAX_MONEY),
        ("21000000.00000000", MAX_MONEY),
    ],
)
def test_parse(text: str, zat: int) -> None:
    assert parse_zec(text) == zat


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.123456789", "more than 8 decimal places"),
        ("21000000.00000001", "exceeds"),
        (".5", "malformed"),
        ("50.", "malformed"),
        ("", "malformed"),
        ("-1", "malformed"),
        ("+1", "malformed"),
        ("1e3", "malformed"),
        (" 1", "malformed"),
        ("1,5", "malformed"),
        ("１", "malformed"),  # non-ASCII digit
    ],
)
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount, match=reason):
        parse_zec(text)


@pytest.mark.parametrize(
    ("zat", "text"),
    [(0, "0"), (1, "0.00000001"), (COIN, "1"), (12_345_600_000, "123.456"), (-150_000_000, "-1.5")],
)
def test_format(zat: int, text: str) -> None:
    assert format_zec(zat) == text


def test_format_min_decimals() -> None:
    assert format_zec(COIN, min_decimals=2) == "1.00"
    assert format_zec(123_456_789, min_decimals=2) == "1.23456789"
    assert format_zec(0, min_decimals=8) == "0.00000000"


@given(st.integers(min_value=0, max_value=MAX_MONEY))
def test_roundtrip(zat: int) -> None:
    assert parse_zec(format_zec(zat)) == zat
    assert zec_to_zat(zat_to_zec(zat)) == zat


def test_decimal_conversions_are_exact() -> None:
    assert zec_to_zat(Decimal("0.1")) == 10_000_000
    assert zec_to_zat(2) == 2 * COIN
    assert zec_to_zat("0.5") == 50_000_000
    assert zat_to_zec(1) == Decimal("0.00000001")
    with pytest.raises(InvalidAmount, match="decimal places"):
        zec_to_zat(Decimal("0.000000001"))
    with pytest.raises(InvalidAmount, match="float"):
        zec_to_zat(0.1)  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match="finite"):
        zec_to_zat(Decimal("NaN"))


def test_check_zat() -> None:
    assert check_zat(5) == 5
    for bad in (-1, MAX_MONEY + 1):
        with pytest.raises(InvalidAmount, match="outside"):
            check_zat(bad)
    for wrong_type in (1.0, True, "1"):
        with pytest.raises(InvalidAmount, match="integer"):
            check_zat(wrong_type)  # type: ignore[arg-type]
