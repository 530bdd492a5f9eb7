"""Look-alike symbols, and fiat values in Decimal: exact, rounded once, half to even, never "$0.00"."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from paygo_desktop.money import ETH, Amount, Asset
from paygo_desktop.prices.aggregator import Reading
from paygo_desktop.prices.feeds import Feed, currency
from paygo_desktop.prices.fiat import FiatPrice, price_from
from paygo_desktop.tokens.lookalike import lookalike_warnings, skeleton

USDC = Asset("USDC", 6, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
OTHER = "0x" + "42" * 20


@pytest.mark.parametrize(
    "symbol",
    ["USDС", "UЅDC", "U5DC", "USDC.e", "usdc", "ＵＳＤＣ", "USD-C", "aUSDC", "USDC2", "USDĆ"],
)
def test_symbols_made_to_look_like_usdc_are_warned_about(symbol: str) -> None:
    warnings = lookalike_warnings(symbol, OTHER, [ETH, USDC])
    assert warnings, symbol
    assert any("USDC" in w for w in warnings)


def test_the_real_token_and_unrelated_symbols_get_no_warning() -> None:
    assert lookalike_warnings("USDC", USDC.address or "", [ETH, USDC]) == []
    assert lookalike_warnings("LABC", OTHER, [ETH, USDC]) == []
    assert lookalike_warnings("GUSD", OTHER, [ETH, USDC]) == []


def test_the_same_symbol_at_another_address_is_named_as_another_contract() -> None:
    (warning,) = lookalike_warnings("USDC", OTHER, [ETH, USDC])
    assert "it is not the USDC this app knows (0x8335…2913): another contract" in warning


def test_non_latin_letters_are_named() -> None:
    warnings = lookalike_warnings("ЕТН", OTHER, [ETH])  # Cyrillic Ie, Te, En
    assert "CYRILLIC CAPITAL LETTER IE" in warnings[0]
    assert any("reads like ETH" in w for w in warnings)
    assert skeleton("ЕТН") == skeleton("ETH")


def reading(pair: str, answer: int, updated_at: int, decimals: int = 8, heartbeat: int = 3600) -> Reading:
    return Reading(Feed(pair, OTHER, heartbeat), 1, answer, decimals, updated_at)


NOW = 1_800_000_000


def test_a_value_is_exact_until_rounded_half_to_even() -> None:
    usd = currency("USD")
    price = price_from(USDC, usd, reading("USDC / USD", 100_000_000, NOW), None, now=NOW)
    assert price is not None and price.per_unit == 1
    assert price.rounded(Amount(USDC, 12_345)) == Decimal("0.01")  # 0.012345 -> 0.01
    assert price.rounded(Amount(USDC, 15_000)) == Decimal("0.02")  # 0.015 -> 0.02 (2 is even)
    assert price.rounded(Amount(USDC, 25_000)) == Decimal("0.02")  # 0.025 -> 0.02 (half to even)
    assert price.text(Amount(USDC, 1_234_567_890)) == "≈ $1,234.57"
    assert price.text(Amount(USDC, 1)) == "< $0.01"  # above zero, never "$0.00"
    assert price.text(Amount(USDC, 0)) == "≈ $0.00"


def test_another_currency_divides_by_its_own_feed() -> None:
    eth_usd = reading("ETH / USD", 3_000 * 10**8, NOW - 60)
    eur_usd = reading("EUR / USD", 108_000_000, NOW - 120)
    price = price_from(ETH, currency("EUR"), eth_usd, eur_usd, now=NOW)
    assert price is not None
    assert price.per_unit == Fraction(3000) / Fraction(108, 100)
    assert price.text(Amount(ETH, 10**18)) == "≈ €2,777.78"
    assert price.as_of == NOW - 120  # the older of the two readings
    assert price.price_text() == "2777.77777778"


def test_stale_future_or_missing_readings_give_no_price() -> None:
    usd, eur = currency("USD"), currency("EUR")
    fresh = reading("ETH / USD", 3_000 * 10**8, NOW - 3600)
    assert price_from(ETH, usd, fresh, None, now=NOW) is not None  # at the heartbeat: still used
    limit = fresh.feed.stale_after
    assert price_from(ETH, usd, reading("ETH / USD", 1, NOW - limit), None, now=NOW) is not None
    assert price_from(ETH, usd, reading("ETH / USD", 1, NOW - limit - 1), None, now=NOW) is None
    assert price_from(ETH, usd, reading("ETH / USD", 1, NOW + 3600), None, now=NOW) is None
    assert price_from(ETH, usd, None, None, now=NOW) is None
    assert price_from(ETH, eur, fresh, None, now=NOW) is None  # no EUR / USD: no euro value


def test_a_price_values_only_its_own_asset() -> None:
    price = FiatPrice(USDC, currency("USD"), Fraction(1), NOW, ())
    with pytest.raises(ValueError):
        price.value(Amount(ETH, 1))
