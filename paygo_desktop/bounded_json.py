"""JSON read from the network, parsed within bounds: size and nesting depth are checked on the raw text
before ``json.loads`` sees it.

Why before: eth-account's import of py-ecc raises Python's recursion limit to 100,000, so ``json.loads`` of
some 70,000 nested brackets (140 KB) overflows the C stack and the process dies with SIGSEGV before any
Python check could run. The scan here is linear, iterative and stops at the first bracket past the limit.

Every JSON body the app or the provider reads from another machine goes through ``loads``: the provider
client (``protocol.client``, and so the catalog loader), the custom network check (``networks``), the
provider's Zcash wallet RPC client, the provider's own request bodies (``provider.app.BodyLimit``) and every
chain node's JSON-RPC answers (``chain.rpc``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32  # arrays and objects inside each other; the protocol needs 6
_INTERESTING = re.compile(r'["\[\]{}]')
_QUOTE_OR_ESCAPE = re.compile(r'["\\]')


class JSONRejected(ValueError):
    """The text is not JSON this app accepts: too large, nested too deeply, or malformed."""


class JSONTooLarge(JSONRejected):
    pass


class JSONTooDeep(JSONRejected):
    pass


class JSONMalformed(JSONRejected):
    pass


def decode(raw: bytes | str) -> str:
    """The text of a JSON body, in the encoding ``json.loads`` would have detected (UTF-8, -16 or -32)."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode(json.detect_encoding(raw))
    except (UnicodeDecodeError, LookupError):
        raise JSONMalformed("not text in a JSON encoding") from None


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise ``JSONTooDeep`` if arrays/objects nest more than ``limit`` levels (strings are skipped).

    Linear in the text and iterative; an unterminated string ends the scan (``json.loads`` rejects it).
    """
    depth = 0
    at = 0
    while True:
        found = _INTERESTING.search(text, at)
        if found is None:
            return
        at = found.start()
        char = text[at]
        if char == '"':
            at += 1
            while True:
                end = _QUOTE_OR_ESCAPE.search(text, at)
                if end is None:
                    return
                if text[end.start()] == "\\":
                    at = end.start() + 2
                    continue
                at = end.start() + 1
                break
            continue
        if char in "[{":
            depth += 1
            if depth > limit:
                raise JSONTooDeep(f"nested more than {limit} levels deep")
        else:
            depth -= 1
        at += 1


def _reject_constant(name: str) -> Any:
    raise JSONMalformed(f"non-finite number {name}")


def loads(
    raw: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """Strict, bounded JSON: at most ``max_bytes``, ``max_depth`` levels, no NaN or Infinity.

    Raises a ``JSONRejected`` subclass (a ``ValueError``) for anything else; never a ``RecursionError``.
    """
    if len(raw) > max_bytes:
        raise JSONTooLarge(f"larger than {max_bytes} bytes")
    text = decode(raw)
    check_depth(text, max_depth)
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=parse_float)
    except JSONRejected:
        raise
    except (ValueError, RecursionError) as exc:
        raise JSONMalformed(f"malformed JSON ({type(exc).__name__})") from None
