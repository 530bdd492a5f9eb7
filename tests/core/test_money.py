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
