"""BIP-39 recovery phrases: generate, normalise, validate, derive accounts, confirm they were written down.

Accounts follow the path every Ethereum wallet uses (BIP-44, coin 60): ``m/44'/60'/0'/0/<index>``.
eth-account is imported inside the functions that need it, never at module import.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from collections.abc import Mapping, Sequence

from paygo_desktop.wallet.errors import InvalidMnemonic

WORD_COUNTS = (12, 15, 18, 21, 24)
NEW_WORD_COUNTS = (12, 24)
CONFIRM_WORD_COUNT = 3


def account_path(index: int) -> str:
    if index < 0 or index >= 2**31:
        raise ValueError(f"account index out of range: {index}")
    return f"m/44'/60'/0'/0/{index}"


def generate_mnemonic(word_count: int = 12) -> str:
    """A fresh English BIP-39 phrase of 12 or 24 words from the OS's random source."""
    if word_count not in NEW_WORD_COUNTS:
        raise ValueError(f"a new recovery phrase has 12 or 24 words, not {word_count}")
    from eth_account.hdaccount import Language, Mnemonic

    return str(Mnemonic(Language.ENGLISH).generate(num_words=word_count))


def normalize_mnemonic(text: str) -> str:
    """NFKD, lower case, single spaces: how BIP-39 wants a phrase before hashing it."""
    return " ".join(unicodedata.normalize("NFKD", text).lower().split())


def validate_mnemonic(text: str) -> str:
    """The normalised phrase, or ``InvalidMnemonic`` saying what is wrong (never echoes words)."""
    from eth_account.hdaccount import Language, Mnemonic

    phrase = normalize_mnemonic(text)
    words = phrase.split(" ") if phrase else []
    if len(words) not in WORD_COUNTS:
        raise InvalidMnemonic(f"A recovery phrase has 12, 15, 18, 21 or 24 words; this one has {len(words)}.")
    english = Mnemonic(Language.ENGLISH)
    wordlist = set(english.wordlist)
    unknown = [i for i, w in enumerate(words, start=1) if w not in wordlist]
    if unknown:
        where = ", ".join(str(i) for i in unknown[:5])
        plural = "s" if len(unknown) > 1 else ""
        raise InvalidMnemonic(
            f"Word{plural} {where} not in the BIP-39 English word list; check the spelling."
        )
    if not english.is_mnemonic_valid(phrase):
        raise InvalidMnemonic(
            "These words do not form a valid recovery phrase (the checksum does not match). "
            "Check their order and spelling."
        )
    return phrase


def is_valid_mnemonic(text: str) -> bool:
    try:
        validate_mnemonic(text)
    except InvalidMnemonic:
        return False
    return True


def seed_from_mnemonic(mnemonic: str) -> bytes:
    """The BIP-39 seed (no passphrase) of a valid phrase; derive many accounts from one seed cheaply."""
    from eth_account.hdaccount import seed_from_mnemonic as _seed

    return bytes(_seed(validate_mnemonic(mnemonic), ""))


def private_key_from_seed(seed: bytes, index: int) -> bytes:
    from eth_account.hdaccount import key_from_seed

    return bytes(key_from_seed(seed, account_path(index)))


def derive_private_key(mnemonic: str, index: int = 0) -> bytes:
    """The 32-byte private key of account ``index`` of the phrase."""
    return private_key_from_seed(seed_from_mnemonic(mnemonic), index)


def derive_address(mnemonic: str, index: int = 0) -> str:
    """The EIP-55 address of account ``index`` of the phrase."""
    from paygo_desktop.wallet.private_keys import address_of

    return address_of(derive_private_key(mnemonic, index))


def pick_confirmation_positions(
    word_count: int, how_many: int = CONFIRM_WORD_COUNT, rng: random.Random | None = None
) -> list[int]:
    """Which words (1-based positions, ascending) to ask for when the user confirms the phrase."""
    if not 0 < how_many <= word_count:
        raise ValueError("cannot ask for more words than the phrase has")
    chooser = rng if rng is not None else secrets.SystemRandom()
    return sorted(chooser.sample(range(1, word_count + 1), how_many))


def wrong_confirmation_answers(
    mnemonic: str, positions: Sequence[int], answers: Mapping[int, str]
) -> list[int]:
    """Asked positions whose answer is missing or differs from the phrase (case and spaces ignored)."""
    words = normalize_mnemonic(mnemonic).split(" ")
    return [p for p in positions if normalize_mnemonic(answers.get(p, "")) != words[p - 1]]
