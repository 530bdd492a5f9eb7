from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygo_desktop.money import ETH, Amount, AmountError, Asset

USDC = Asset("USDC", 6, "0x036CbD53842c5426634e7929541eC2318f3dCF7e")


def test_parse_whole_and_fractional_units():
    assert Amount.parse("1.5", USDC).units == 1_500_000
    assert Amount.parse("0.000001", USDC).units == 1
    assert Amount.parse("1,000", USDC).units == 1_000_000_000
    assert Amount.parse("2 USDC", USDC).units == 2_000_000
    assert Amount.parse("0.000000000000000001", ETH).units == 1


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "NaN", "inf", "-1", "0.0000001"])
def test_parse_refuses_what_is_not_an_amount_of_the_asset(text):
    with pytest.raises(AmountError):
        Amount.parse(text, USDC)


def test_trailing_zeros_beyond_precision_are_fine():
    assert Amount.parse("1.5000000", USDC).units == 1_500_000


def test_format_is_exact_and_trims_zeros():
    assert Amount(USDC, 1_500_000).format() == "1.5 USDC"
    assert Amount(USDC, 1).format() == "0.000001 USDC"
    assert Amount(ETH, 10**18 * 1234).format() == "1,234 ETH"
    assert Amount(ETH, 123456789012345678).format(max_decimals=4) == "0.1234 ETH"
    assert Amount(USDC, 0).format(symbol=False) == "0"


def test_assets_never_mix():
    with pytest.raises(AmountError):
        Amount(USDC, 1) + Amount(ETH, 1)
    with pytest.raises(AmountError):
        _ = Amount(USDC, 1) < Amount(ETH, 2)
    assert Amount(USDC, 1) + Amount(USDC, 2) == Amount(USDC, 3)


def test_units_must_be_integers():
    with pytest.raises(TypeError):
        Amount(USDC, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Amount(USDC, True)


@given(st.integers(min_value=0, max_value=10**30), st.sampled_from([ETH, USDC, Asset("ZEC", 8)]))
def test_format_then_parse_round_trips(units, asset):
    amount = Amount(asset, units)
    assert Amount.parse(amount.format(), asset) == amount
    assert amount.to_decimal() == Decimal(units).scaleb(-asset.decimals, Context(prec=80))


@given(
    st.integers(min_value=-(2**256), max_value=2**256),
    st.integers(min_value=0, max_value=36),
    st.one_of(st.none(), st.integers(min_value=-3, max_value=40)),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_format_in_integers_says_what_decimal_says(units, decimals, max_decimals, symbol, grouping, fixed):
    """The integer formatting (the live meter's, 20 times a second) gives the text Decimal gives, to the
    digit: every sign, size, precision, rounding down, grouping, trimming and fixed decimals."""
    amount = Amount(Asset("TOK", decimals), units)
    options = {"max_decimals": max_decimals, "symbol": symbol, "grouping": grouping, "fixed": fixed}
    assert amount.format(**options) == amount._format_decimal(**options)


def test_a_fixed_amount_keeps_its_width_while_it_counts():
    """The live meter's cost: every decimal shown, so "0.00015 USDC" → "0.0002 USDC" does not shift the
    symbol back and forth 20 times a second."""
    texts = [Amount(USDC, units).format(fixed=True) for units in (0, 150, 200, 1_000_000, 1_234_500)]
    assert texts == ["0.000000 USDC", "0.000150 USDC", "0.000200 USDC", "1.000000 USDC", "1.234500 USDC"]
    assert Amount(USDC, -5).format(fixed=True, max_decimals=2) == "0.00 USDC"  # no minus on a shown zero
    assert Amount.parse(Amount(USDC, 1_234_500).format(fixed=True), USDC).units == 1_234_500


def test_format_rounds_down_towards_zero_and_never_shows_minus_zero():
    assert Amount(USDC, -1_999_999).format(max_decimals=0) == "-1 USDC"
    assert Amount(USDC, -1).format(max_decimals=2) == "0 USDC"
    assert Amount(USDC, 1_234_567_891_000_000).format() == "1,234,567,891 USDC"
    assert Amount(USDC, 1_234_567_891_000_000).format(grouping=False, symbol=False) == "1234567891"
