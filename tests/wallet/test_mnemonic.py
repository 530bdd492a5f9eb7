from __future__ import annotations

import random

import pytest
from wallet_test_support import TEST_ADDRESS_0, TEST_ADDRESS_1, TEST_MNEMONIC

from paygo_desktop.wallet.errors import InvalidMnemonic
from paygo_desktop.wallet.mnemonic import (
    account_path,
    derive_address,
    generate_mnemonic,
    is_valid_mnemonic,
    normalize_mnemonic,
    pick_confirmation_positions,
    validate_mnemonic,
    wrong_confirmation_answers,
)


def test_known_phrase_derives_the_well_known_accounts() -> None:
    assert derive_address(TEST_MNEMONIC, 0) == TEST_ADDRESS_0
    assert derive_address(TEST_MNEMONIC, 1) == TEST_ADDRESS_1
    assert account_path(7) == "m/44'/60'/0'/0/7"


def test_derivation_agrees_with_eth_account_from_mnemonic() -> None:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    expected = Account.from_mnemonic(TEST_MNEMONIC, account_path="m/44'/60'/0'/0/3").address
    assert derive_address(TEST_MNEMONIC, 3) == expected


@pytest.mark.parametrize("count", [12, 24])
def test_generated_phrases_are_valid_and_distinct(count: int) -> None:
    first, second = generate_mnemonic(count), generate_mnemonic(count)
    assert len(first.split()) == count
    assert validate_mnemonic(first) == first
    assert first != second


def test_only_12_or_24_words_are_generated() -> None:
    with pytest.raises(ValueError):
        generate_mnemonic(13)


def test_whitespace_and_case_are_normalised() -> None:
    messy = "  TEST test\ttest\n test test  test test test test test test   Junk "
    assert normalize_mnemonic(messy) == TEST_MNEMONIC
    assert validate_mnemonic(messy) == TEST_MNEMONIC
    assert derive_address(messy) == TEST_ADDRESS_0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "has 0"),
        ("test " * 11, "has 11"),
        ("test test test test test test test test test test test junkk", "Word 12 not in"),
        ("test test test test test test test test test test test test", "checksum"),
        ("junk test test test test test test test test test test test", "checksum"),
    ],
)
def test_invalid_phrases_say_why_without_echoing_words(text: str, fragment: str) -> None:
    with pytest.raises(InvalidMnemonic) as info:
        validate_mnemonic(text)
    assert fragment in str(info.value)
    assert "junkk" not in str(info.value)
    assert not is_valid_mnemonic(text)


def test_confirmation_positions_are_random_distinct_and_injectable() -> None:
    a = pick_confirmation_positions(12, rng=random.Random(1))
    b = pick_confirmation_positions(12, rng=random.Random(1))
    assert a == b and len(set(a)) == 3 and a == sorted(a)
    assert all(1 <= p <= 12 for p in a)
    assert len(pick_confirmation_positions(24, how_many=24)) == 24
    with pytest.raises(ValueError):
        pick_confirmation_positions(12, how_many=13)


def test_confirmation_answers_are_checked() -> None:
    phrase = generate_mnemonic(12)
    words = phrase.split()
    positions = [2, 5, 11]
    good = {p: words[p - 1] for p in positions}
    assert wrong_confirmation_answers(phrase, positions, good) == []
    assert wrong_confirmation_answers(phrase, positions, {p: f" {w.upper()} " for p, w in good.items()}) == []
    bad = {**good, 5: "zzz"}
    assert wrong_confirmation_answers(phrase, positions, bad) == [5]
    assert wrong_confirmation_answers(phrase, positions, {2: good[2]}) == [5, 11]
