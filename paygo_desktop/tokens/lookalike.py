"""Symbols made to look like another token's: "USDС" with a Cyrillic С, "U5DC", "USDC.e", "ＵＳＤＣ".

Anyone can deploy a contract whose symbol reads "USDC". ``lookalike_warnings`` compares a new token's
symbol with the tokens the app already knows on the network and says, in words, every way it could be
mistaken for one of them: letters from other scripts, a symbol that reads the same once such letters,
digits that pass for letters, case and separators are set aside (its "skeleton"), or a known symbol with
something added. The user still decides; the warning is shown beside the confirmation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from paygo_desktop.money import Asset

# Letters of other scripts (and digits) that pass for Latin letters, after NFKC (which already folds the
# fullwidth forms "ＵＳＤＣ" and the like): the usual homoglyphs of Unicode's confusables for A-Z. Capitals
# first (before case folding: Cyrillic Н reads as H, its small н does not read as h).
_CONFUSABLE_CAPITALS: dict[str, str] = {
    # Cyrillic
    "А": "A",
    "В": "B",
    "С": "C",
    "Е": "E",
    "Н": "H",
    "І": "I",
    "Ј": "J",
    "К": "K",
    "М": "M",
    "О": "O",
    "Р": "P",
    "Ѕ": "S",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "Ү": "Y",
    "Ԁ": "D",
    "Ԛ": "Q",
    "Ԝ": "W",
    # Greek
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
}
_CONFUSABLE: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "с": "c",
    "ԁ": "d",
    "е": "e",
    "һ": "h",
    "і": "i",
    "ј": "j",
    "к": "k",
    "ӏ": "l",
    "м": "m",
    "п": "n",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "ѕ": "s",
    "т": "t",
    "ц": "u",
    "ѵ": "v",
    "ԝ": "w",
    "х": "x",
    "у": "y",
    "з": "3",
    "б": "6",
    # Greek
    "α": "a",
    "β": "b",
    "ϲ": "c",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "γ": "y",
    "ζ": "z",
    # Armenian and others often seen in scams
    "օ": "o",
    "ս": "u",
    "ց": "g",
    "ɡ": "g",
    "ı": "i",
    "ȷ": "j",
    # digits and Latin letters that read alike
    "0": "o",
    "1": "l",
    "i": "l",
    "5": "s",
    "$": "s",
    "€": "e",
}
_SEPARATORS = set(" .-_/·•'`´\u2010\u2011\u2012\u2013\u2014")


def skeleton(symbol: str) -> str:
    """What a symbol reads as: NFKC, case folded, look-alike letters mapped to Latin, separators dropped."""
    text = unicodedata.normalize("NFKC", symbol)
    text = "".join(_CONFUSABLE_CAPITALS.get(c, c) for c in text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return "".join(_CONFUSABLE.get(c, c) for c in text if c not in _SEPARATORS)


def foreign_letters(symbol: str) -> list[str]:
    """The characters of ``symbol`` outside plain ASCII, each as "С (CYRILLIC CAPITAL LETTER ES)"."""
    found: list[str] = []
    for char in dict.fromkeys(symbol):
        if ord(char) > 0x7E:
            found.append(f"{char} ({unicodedata.name(char, f'U+{ord(char):04X}')})")
    return found


def lookalike_warnings(symbol: str, address: str, known: Iterable[Asset]) -> list[str]:
    """Every way ``symbol`` (the token at ``address``) could be taken for one of the ``known`` tokens."""
    warnings: list[str] = []
    foreign = foreign_letters(symbol)
    if foreign:
        warnings.append(
            "Its symbol uses characters that are not plain Latin letters or digits: "
            + ", ".join(foreign[:4])
            + ". Such letters are used to imitate well-known tokens."
        )
    mine = skeleton(symbol)
    for asset in known:
        if asset.address is not None and asset.address.lower() == address.lower():
            continue
        where = f"the {asset.symbol} this app knows" + (
            f" ({asset.address[:6]}…{asset.address[-4:]})" if asset.address else ""
        )
        theirs = skeleton(asset.symbol)
        if symbol == asset.symbol:
            warnings.append(f"Its symbol is {asset.symbol}, but it is not {where}: another contract.")
        elif mine == theirs:
            warnings.append(f"Its symbol “{symbol}” reads like {asset.symbol}, but it is not {where}.")
        elif len(theirs) >= 3 and theirs in mine:
            warnings.append(f"Its symbol “{symbol}” contains {asset.symbol}; it is not {where}.")
    return list(dict.fromkeys(warnings))
