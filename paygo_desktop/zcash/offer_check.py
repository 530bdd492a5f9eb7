"""The one check of what a provider says about a Zcash spending permission before the app keeps or shows it.

``check_payment_request``: every answer about a permission (bought, refreshed, verified, revoked) carries
a ZIP-321 request that must ask for exactly the permission's amount, paid to its payment address, with the
memo ``paygo:perm:<id>`` when — and only when — that address is shielded. ``check_offer``: at the purchase,
also that the address is a valid one on the user's network, that the terms and the expiry are the ones
asked for, that the provider's clock agrees with ours, and that the token came with it.

A provider that says one thing and asks another is refused with ``UnsafeOffer``; nothing is kept.
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.zcash import trust
from paygo_desktop.zcash.addresses import InvalidAddress, Network, ZcashAddress, parse_address
from paygo_desktop.zcash.amounts import format_zec
from paygo_desktop.zcash.permissions import payment_memo
from paygo_desktop.zcash.terms_input import TermsInput
from paygo_desktop.zcash.zip321 import InvalidPaymentRequest, parse_uri


class UnsafeOffer(UserFacingError):
    """What a provider says about a permission is not what was agreed or not payable safely."""


def same_network(a: ZcashAddress, b: ZcashAddress) -> bool:
    """Both on one network; transparent test and regtest addresses share their encoding."""
    if a.network is b.network:
        return True
    loose = {Network.TEST, Network.REGTEST}
    return {a.network, b.network} <= loose and (a.is_transparent or b.is_transparent)


def _payment_address(permission: Any) -> ZcashAddress:
    try:
        return parse_address(permission.payment_address)
    except InvalidAddress as exc:
        raise UnsafeOffer(
            f"The provider's payment address is not a valid Zcash address ({exc.message})."
        ) from None


def check_payment_request(permission: Any) -> Any:
    """``permission`` (a ``ZcashPermission`` from the provider) if its ZIP-321 request pays exactly its
    amount to its address with the memo its address calls for; else ``UnsafeOffer``."""
    address = _payment_address(permission)
    try:
        request = parse_uri(permission.payment_uri)
    except InvalidPaymentRequest as exc:
        raise UnsafeOffer(f"The provider's payment request is not valid ZIP-321 ({exc}).") from None
    if len(request.payments) != 1:
        raise UnsafeOffer("The provider's payment request must hold exactly one payment.")
    pay = request.payments[0]
    if pay.address != permission.payment_address or pay.amount_zat != permission.amount_zat:
        raise UnsafeOffer("The provider's payment request does not pay the agreed amount to its address.")
    expected_memo = payment_memo(permission.id).encode() if address.is_shielded else None
    if pay.memo != expected_memo:
        raise UnsafeOffer(
            "The provider's payment request carries the wrong memo."
            if address.is_shielded
            else "The provider's payment request has a memo for a transparent address."
        )
    return permission


def check_offer(offer: Any, user: ZcashAddress, terms: TermsInput, now: int) -> None:
    """The provider's answer to "create" must be what was asked and safe to pay; else ``UnsafeOffer``.
    ``now``: the app's clock, which the permission's creation time must agree with (``CLOCK_SKEW``)."""
    address = _payment_address(offer)
    if not same_network(address, user):
        raise UnsafeOffer(
            f"The provider asks for payment on {address.network.value}net, but your address is on "
            f"{user.network.value}net."
        )
    if offer.amount_zat != terms.amount_zat or offer.rate_per_hour_zat != terms.rate_zat_per_hour:
        raise UnsafeOffer(
            f"The provider offered other terms ({format_zec(offer.amount_zat)} ZEC at "
            f"{format_zec(offer.rate_per_hour_zat)} ZEC per hour) than asked; nothing was kept."
        )
    if offer.expires_at - offer.created_at != terms.duration_days * 86400:
        raise UnsafeOffer(
            f"The provider's permission would expire at another time than the {terms.duration_days} days "
            "asked for; nothing was kept."
        )
    if abs(offer.created_at - now) > trust.CLOCK_SKEW_SECONDS:
        raise UnsafeOffer(
            f"The provider dates the permission more than {trust.CLOCK_SKEW_SECONDS // 60} minutes away from "
            f"this computer's clock, so it would not last the {terms.duration_days} days asked for; nothing "
            "was kept."
        )
    check_payment_request(offer)
    if not offer.token:
        raise UnsafeOffer("The provider did not hand out the permission's token.")
