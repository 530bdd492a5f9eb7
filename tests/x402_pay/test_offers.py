"""Which of a 402's offers the app pays, and what it will send: the smallest most-it-may-move among the
offers on the wallet's network in a token it knows (on a tie, ``exact``, which needs no allowance to
Permit2); an authorization the SDK signed for another amount or payee than the quote is never sent.
Pure functions over the SDK's own models: no chain is needed to choose."""

from __future__ import annotations

import pytest
from x402.mechanisms.evm.constants import X402_UPTO_PERMIT2_PROXY_ADDRESS
from x402.schemas import PaymentPayload, PaymentRequired, PaymentRequirements

from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.x402.limits import Quote, X402Refused
from paygo_desktop.x402.offers import MAX_VALIDITY, choose
from paygo_desktop.x402.signed import exact_signed, upto_signed

NETWORK = Network("local", "Local", 31337, "http://127.0.0.1:1")
TOKEN = "0x" + "11" * 20
PAY_TO = "0x" + "22" * 20
PAYER = "0x" + "33" * 20
FACILITATOR = "0x" + "44" * 20
USDC = Asset("USDC", 6, TOKEN)
ASSETS = {TOKEN.lower(): USDC}
URL = "https://api.example/paid"


def _offer(
    scheme: str, amount: int, *, network: str = "eip155:31337", timeout: int = 60
) -> PaymentRequirements:
    extra = {"assetTransferMethod": "permit2", "facilitatorAddress": FACILITATOR} if scheme == "upto" else {}
    return PaymentRequirements(
        scheme=scheme,
        network=network,
        asset=TOKEN,
        amount=str(amount),
        pay_to=PAY_TO,
        max_timeout_seconds=timeout,
        extra=extra,
    )


def _choose(*offers: PaymentRequirements) -> tuple[PaymentRequirements, Quote]:
    required = PaymentRequired(x402_version=2, resource=None, accepts=list(offers))
    return choose(required, "https://api.example", URL, NETWORK, ASSETS)


def test_the_smallest_maximum_is_chosen_and_exact_on_a_tie() -> None:
    chosen, quote = _choose(_offer("exact", 300), _offer("upto", 200), _offer("exact", 250))
    assert (chosen.scheme, quote.amount, quote.asset, quote.pay_to) == ("upto", 200, USDC, PAY_TO)
    chosen, quote = _choose(_offer("upto", 200), _offer("exact", 200))
    assert (chosen.scheme, quote.amount) == ("exact", 200)


def test_offers_the_wallet_cannot_pay_are_refused_before_signing() -> None:
    with pytest.raises(X402Refused) as info:
        _choose(_offer("exact", 100, network="eip155:1"))
    assert info.value.reason == "wrong_network"
    with pytest.raises(X402Refused) as info:
        _choose(_offer("exact", 100, timeout=MAX_VALIDITY + 1))
    assert info.value.reason == "malformed"


def _exact_payload(value: int, to: str) -> PaymentPayload:
    auth = {"from": PAYER, "to": to, "value": str(value), "nonce": "0x" + "ab" * 32}
    auth |= {"validBefore": "2000", "validAfter": "1000"}
    return PaymentPayload(
        x402_version=2, payload={"authorization": auth, "signature": "0x00"}, accepted=_offer("exact", value)
    )


def _upto_payload(amount: int, to: str) -> PaymentPayload:
    auth = {
        "from": PAYER,
        "permitted": {"token": TOKEN, "amount": str(amount)},
        "spender": X402_UPTO_PERMIT2_PROXY_ADDRESS,
        "nonce": "7",
        "deadline": "2000",
        "witness": {"to": to, "validAfter": "1000"},
    }
    return PaymentPayload(
        x402_version=2, payload={"permit2Authorization": auth}, accepted=_offer("upto", amount)
    )


def test_only_an_authorization_exactly_for_the_quote_is_sent() -> None:
    exact = _choose(_offer("exact", 100))[1]
    assert exact_signed(exact, _exact_payload(100, PAY_TO)) == (PAYER, "0x" + "ab" * 32, 2000, 1000)
    assert exact_signed(exact, _exact_payload(101, PAY_TO)) is None
    assert exact_signed(exact, _exact_payload(100, PAYER)) is None
    upto = _choose(_offer("upto", 100))[1]
    assert upto_signed(upto, _upto_payload(100, PAY_TO)) == (PAYER, f"0x{7:064x}", 2000, 1000)
    assert upto_signed(upto, _upto_payload(101, PAY_TO)) is None
    assert upto_signed(upto, _upto_payload(100, PAYER)) is None


@pytest.mark.parametrize("amount", ["\u00b2", "1\u00b2", "\u0663", "-1", "1e3", ""])
def test_an_amount_written_with_other_digits_is_refused_not_a_crash(amount: str) -> None:
    """``str.isdigit`` accepts "²", which ``int`` refuses with a ValueError that no caller expected."""
    offer = _offer("exact", 100).model_copy(update={"amount": amount})
    with pytest.raises(X402Refused) as info:
        _choose(offer)
    assert info.value.reason == "malformed"
