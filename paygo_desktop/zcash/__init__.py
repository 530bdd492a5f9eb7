"""Qt-free Zcash core: address encodings, ZIP-321 payment URIs, QR rendering, permission arithmetic."""

from __future__ import annotations

from .addresses import AddressKind, InvalidAddress, Network, ZcashAddress, parse_address
from .amounts import COIN, MAX_MONEY, InvalidAmount, format_zec, parse_zec
from .zip321 import InvalidPaymentRequest, Payment, PaymentRequest, build_uri, parse_uri

__all__ = [
    "COIN",
    "MAX_MONEY",
    "AddressKind",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidPaymentRequest",
    "Network",
    "Payment",
    "PaymentRequest",
    "ZcashAddress",
    "build_uri",
    "format_zec",
    "parse_address",
    "parse_uri",
    "parse_zec",
]
