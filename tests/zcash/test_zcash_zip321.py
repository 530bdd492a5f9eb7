from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zcash_vectors import load_vectors

from paygo_desktop.zcash.addresses import Network, encode_unified
from paygo_desktop.zcash.amounts import COIN, MAX_MONEY
from paygo_desktop.zcash.zip321 import (
    InvalidPaymentRequest,
    Payment,
    PaymentRequest,
    build_uri,
    decode_memo,
    encode_memo,
    parse_uri,
)

ZIP321 = load_vectors("zip321.json")
SAPLING = "ztestsapling10yy2ex5dcqkclhc7z7yrnjq2z6feyjad56ptwlfgmy77dmaqqrl9gyhprdx59qgmsnyfska2kez"
P2PKH = "tmEZhbWHTpdKMw5it8YDspUXSMGQyFwovpU"
UNIFIED = encode_unified({3: bytes(range(43))}, Network.TEST)
MAIN_P2PKH = "t1Hsc1LR8yKnbbe3twRp88p6vFfC5t7DLbs"


def test_every_vector_is_loaded() -> None:
    assert len(ZIP321["valid"]) == 2
    assert len(ZIP321["invalid"]) == 15


def test_valid_example_single_payment() -> None:
    request = parse_uri(ZIP321["valid"][0])
    assert request.payments == (
        Payment(
            address=SAPLING,
            amount_zat=1 * COIN,
            memo=b"This is a simple memo.",
            message="Thank you for your purchase",
        ),
    )


def test_valid_example_two_payments() -> None:
    request = parse_uri(ZIP321["valid"][1])
    assert request.payments == (
        Payment(address=P2PKH, amount_zat=12_345_600_000),
        Payment(
            address=SAPLING,
            amount_zat=78_900_000,
            memo="This is a unicode memo ✨🦄🏆🎉".encode(),
        ),
    )
    assert request.total_zat == 12_345_600_000 + 78_900_000


@pytest.mark.parametrize("uri", ZIP321["valid"])
def test_valid_vectors_rebuild_byte_exact(uri: str) -> None:
    request = parse_uri(uri)
    assert request.to_uri() == uri
    assert parse_uri(build_uri(request.payments)) == request


@pytest.mark.parametrize("uri", ZIP321["invalid"])
def test_invalid_vectors(uri: str) -> None:
    with pytest.raises(InvalidPaymentRequest):
        parse_uri(uri)


@pytest.mark.parametrize("uri", ["zcash:", "zcash:?"])
def test_empty_requests_are_valid(uri: str) -> None:
    assert parse_uri(uri).payments == ()
    assert build_uri([]) == "zcash:"


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("bitcoin:" + P2PKH, "not a zcash"),
        (P2PKH, "not a zcash"),
        (f"zcash:{P2PKH}?amount", "has no value"),
        (f"zcash:{P2PKH}?amount=1&&label=x", "has no value"),
        (f"zcash:{P2PKH}?address={P2PKH}", "duplicate"),
        (f"zcash:{P2PKH}?amount.10000=1", "invalid parameter name"),
        (f"zcash:{P2PKH}?amount.01=1", "invalid parameter name"),
        (f"zcash:{P2PKH}?req-amount=1", "required parameter"),
        (f"zcash:{P2PKH}?address.1={SAPLING}&req-x.1=y", "required parameter"),
        (f"zcash:{P2PKH}?label=a%2", "percent-encoding"),
        (f"zcash:{P2PKH}?label=a%ff", "UTF-8"),
        (f"zcash:{P2PKH}?message=a b", "not allowed"),
        (f"zcash:{SAPLING}?memo=SGk=", "base64url"),
        (f"zcash:{SAPLING}?memo=SGk+", "base64url"),
        (f"zcash:{SAPLING}?memo=SGl", "non-canonical"),
        (f"zcash:{SAPLING}?memo={encode_memo(bytes(513))}", "more than 512"),
        (f"zcash:{P2PKH}?address.1={MAIN_P2PKH}", "different networks"),
        ("zcash:tmEZhbWHTpdKMw5it8YDspUXSMGQyFwovpV", "invalid address"),
        (f"zcash:{SAPLING}?amount=21000000&address.1={P2PKH}&amount.1=1", "total amount"),
    ],
)
def test_more_rejections(uri: str, reason: str) -> None:
    with pytest.raises(InvalidPaymentRequest, match=reason):
        parse_uri(uri)


def test_unknown_optional_params_are_kept_and_uppercase_scheme() -> None:
    request = parse_uri(f"ZCASH:{P2PKH}?amount=0.5&foo=b%C3%A4r&label=caf%C3%A9+%26+co")
    (payment,) = request.payments
    assert payment.amount_zat == 50_000_000
    assert payment.other_params == (("foo", "bär"),)
    assert payment.label == "café+&+co"  # '+' is a literal plus, not a space


def test_no_amount_and_index_gaps() -> None:
    request = parse_uri(f"zcash:?address={P2PKH}&address.5={SAPLING}&amount.5=2")
    assert [p.address for p in request.payments] == [P2PKH, SAPLING]
    assert request.payments[0].amount_zat is None
    assert request.payments[1].amount_zat == 2 * COIN


def test_build_single_and_multiple() -> None:
    one = Payment(SAPLING, amount_zat=150_000_000, memo=b"paygo:perm:abc", label="Café & Co?")
    assert build_uri(one) == (
        f"zcash:{SAPLING}?amount=1.5&memo={encode_memo(b'paygo:perm:abc')}&label=Caf%C3%A9%20%26%20Co%3F"
    )
    assert build_uri([Payment(P2PKH)]) == f"zcash:{P2PKH}"
    two = build_uri([Payment(P2PKH, amount_zat=1), Payment(UNIFIED, memo=b"\x00\xff")])
    assert two == f"zcash:?address={P2PKH}&amount=0.00000001&address.1={UNIFIED}&memo.1=AP8"


def test_memo_rules_on_build() -> None:
    with pytest.raises(InvalidPaymentRequest, match="shielded"):
        Payment(P2PKH, memo=b"hi")
    with pytest.raises(InvalidPaymentRequest, match="more than 512"):
        Payment(SAPLING, memo=bytes(513))
    assert Payment(SAPLING, memo=bytes(512)).memo == bytes(512)
    assert Payment(UNIFIED, memo=b"ok").memo_text == "ok"
    assert Payment(UNIFIED, memo=b"\xff").memo_text is None


def test_payment_field_validation() -> None:
    with pytest.raises(InvalidPaymentRequest, match="invalid address"):
        Payment("nonsense")
    with pytest.raises(InvalidPaymentRequest, match="integer"):
        Payment(P2PKH, amount_zat=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidPaymentRequest, match="outside"):
        Payment(P2PKH, amount_zat=MAX_MONEY + 1)
    for bad_name in ("amount", "req-x", "x.1", "1x"):
        with pytest.raises(InvalidPaymentRequest, match="extra parameter"):
            Payment(P2PKH, other_params=((bad_name, "v"),))
    with pytest.raises(InvalidPaymentRequest, match="different networks"):
        PaymentRequest((Payment(P2PKH), Payment(MAIN_P2PKH)))


def test_memo_base64url() -> None:
    assert encode_memo(b"\xfb\xff") == "-_8"
    assert decode_memo("-_8") == b"\xfb\xff"
    assert decode_memo("") == b""


_text = st.text(st.characters(codec="utf-8"), max_size=30)
_payment = st.one_of(
    st.builds(
        Payment,
        address=st.sampled_from([SAPLING, UNIFIED]),
        amount_zat=st.none() | st.integers(0, MAX_MONEY // 4),
        memo=st.none() | st.binary(max_size=512),
        label=st.none() | _text,
        message=st.none() | _text,
    ),
    st.builds(
        Payment,
        address=st.just(P2PKH),
        amount_zat=st.none() | st.integers(0, MAX_MONEY // 4),
        label=st.none() | _text,
        other_params=st.lists(st.tuples(st.sampled_from(["foo", "bar-1", "x+y"]), _text), max_size=1).map(
            tuple
        ),
    ),
)


@settings(max_examples=300)
@given(st.lists(_payment, min_size=1, max_size=4))
def test_build_parse_roundtrip(payments: list[Payment]) -> None:
    uri = build_uri(payments)
    assert uri.isascii()
    assert parse_uri(uri).payments == tuple(payments)
