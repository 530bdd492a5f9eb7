from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zcash_vectors import table_rows

from paygo_desktop.zcash.f4jumble import MAX_LENGTH, MIN_LENGTH, F4JumbleError, f4jumble, f4jumble_inv

PAIRS = table_rows("f4jumble.json")


def test_every_vector_is_loaded() -> None:
    assert len(PAIRS) == 8


@pytest.mark.parametrize(("normal", "jumbled"), PAIRS, ids=[f"len{len(p[0]) // 2}" for p in PAIRS])
def test_vectors(normal: str, jumbled: str) -> None:
    assert f4jumble(bytes.fromhex(normal)).hex() == jumbled
    assert f4jumble_inv(bytes.fromhex(jumbled)).hex() == normal


@settings(max_examples=200)
@given(st.binary(min_size=MIN_LENGTH, max_size=600))
def test_inverse_roundtrip(message: bytes) -> None:
    jumbled = f4jumble(message)
    assert len(jumbled) == len(message)
    assert f4jumble_inv(jumbled) == message


@pytest.mark.parametrize("length", [0, MIN_LENGTH - 1, MAX_LENGTH + 1])
def test_length_bounds(length: int) -> None:
    with pytest.raises(F4JumbleError):
        f4jumble(bytes(length))
    with pytest.raises(F4JumbleError):
        f4jumble_inv(bytes(length))
