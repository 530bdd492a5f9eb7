"""The bounded JSON loader: nesting and size are checked on the raw text, before ``json.loads`` runs."""

from __future__ import annotations

import json

import pytest

from paygo_desktop import bounded_json
from paygo_desktop.bounded_json import JSONMalformed, JSONTooDeep, JSONTooLarge, loads


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": [1, {"b": "c"}], "d": null}',
        b'{"text": "[[[[{{{{ brackets in a string are not nesting"}',
        b'{"escaped": "a \\" quote then [[[[ and \\\\"}',
        b"[" * bounded_json.MAX_DEPTH + b"]" * bounded_json.MAX_DEPTH,
        '{"name": "caf\u00e9 \u2603"}'.encode("utf-16"),
    ],
)
def test_json_within_bounds_parses_as_json_loads_would(raw: bytes) -> None:
    assert loads(raw, max_bytes=10_000) == json.loads(raw)


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"[" * 70_000 + b"]" * 70_000, JSONTooDeep),  # would overflow the C stack in json.loads
        (b"[" * 70_000, JSONTooDeep),
        (b"[" * (bounded_json.MAX_DEPTH + 1) + b"]" * (bounded_json.MAX_DEPTH + 1), JSONTooDeep),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, JSONTooDeep),
        (("[" * 70_000).encode("utf-16"), JSONTooDeep),
        (b" " * 2_000, JSONTooLarge),
        (b'{"a": NaN}', JSONMalformed),
        (b'{"a": -Infinity}', JSONMalformed),
        (b'"unterminated [[[[', JSONMalformed),
        (b'"' + b'\\"' * 50_000, JSONMalformed),  # escapes to the end: still one linear pass
        (b"\xff\xfe\xfd", JSONMalformed),
    ],
)
def test_hostile_json_is_refused_with_a_value_error(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        loads(raw, max_bytes=1_000 if error is JSONTooLarge else 1 << 20)
