"""A PayGo provider's hint in its 402 that the same service is also sold by time, and the request sent
through a running session instead of paying per request.

The reference provider's 402 for a per-request service names, in the x402 v2 ``extensions`` entry
``paygo-session`` (docs/provider-api.md, Per-request services), the session-priced catalog service that
serves the same upstream: ``{"info": {"service", "name", "rate": {"amount", "asset", "unit"},
"catalog"}}``. ``offer_in`` reads it (a malformed or foreign one is ignored: it is a hint, never a reason
to refuse); the ``catalog`` URL must be on the origin that answered 402.

When the app has a running session with that provider for that service (``SessionAccess`` finds its
gateway access), ``via_session`` sends the request to the session's gateway with its access token: no x402
payment is made. Without one, the payer pays per request and hands the offer back, so the caller can say
"this provider also sells this by the minute" (``comparison``). A session is never started here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from urllib.parse import urlsplit

from x402.schemas import PaymentRequired

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.peer_text import is_digits
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import proxying, routes
from paygo_desktop.x402.limits import Quote, origin_of

EXTENSION = "paygo-session"
UNIT_WORDS = {"per_second": "second", "per_minute": "minute", "per_hour": "hour"}
PER_REQUEST_PREFIX = routes.X402_ACCESS.split("{", 1)[0]  # "/api/v1/x402/"


@dataclass(frozen=True)
class SessionOffer:
    """The session-priced service a provider sells from the same upstream as a per-request one."""

    origin: str  # the provider that answered 402 (the catalog URL is on it)
    service_id: str
    name: str
    amount: int  # base units of ``asset_symbol`` per ``unit``
    asset_symbol: str
    unit: str  # per_second | per_minute | per_hour
    catalog: str
    rest: str | None  # the request's path and query below the per-request service; None: not one

    def rate_text(self, asset: Asset) -> str:
        return f"{Amount(asset, self.amount).format()} per {UNIT_WORDS[self.unit]}"

    def comparison(self, quote: Quote) -> str:
        """One honest sentence: the session's rate beside the per-request price, and from how many calls a
        minute a session costs less (the session's ticks and its deposit left out: said so). In another
        token than the quote's, the two are not compared."""
        unit = UNIT_WORDS[self.unit]
        if self.asset_symbol != quote.asset.symbol:
            return (
                f"This provider also sells this by the {unit} ({self.name}: {self.amount} base units of "
                f"{self.asset_symbol} per {unit}); compare it with {quote.shown()} per request."
            )
        per_minute = Fraction(self.amount * 60, m.RateUnit(self.unit).seconds)  # base units a minute
        calls = per_minute / quote.amount  # calls a minute at which both cost the same
        if calls < Fraction(1, 10):
            above = f"one call every {int(1 / calls):,} minutes"
        else:
            exact = Decimal(calls.numerator) / Decimal(calls.denominator)
            above = (
                f"{exact.quantize(Decimal('0.1'), ROUND_HALF_EVEN):,f}".removesuffix(".0") + " calls a minute"
            )
        return (
            f"This provider also sells this by the {unit} ({self.name}: {self.rate_text(quote.asset)}, "
            f"against {quote.shown()} per request): cheaper for repeated calls, above {above}. A session "
            "needs a deposit; start one on Services."
        )


def offer_in(required: PaymentRequired, url: str) -> SessionOffer | None:
    """The ``paygo-session`` hint of a 402 answered for ``url``, or None (absent, malformed, elsewhere)."""
    entry = (required.extensions or {}).get(EXTENSION)
    info = entry.get("info") if isinstance(entry, dict) else None
    if not isinstance(info, dict):
        return None
    rate = info.get("rate")
    service, name, catalog = info.get("service"), info.get("name", ""), info.get("catalog")
    if not (isinstance(rate, dict) and isinstance(service, str) and isinstance(catalog, str)):
        return None
    amount, asset, unit = str(rate.get("amount", "")), rate.get("asset"), rate.get("unit")
    if not (
        0 < len(service) <= 100
        and service.replace("-", "").replace("_", "").isalnum()
        and isinstance(name, str)
        and len(name) <= 200
        and is_digits(amount)
        and len(amount) <= 39
        and int(amount) > 0
        and isinstance(asset, str)
        and 0 < len(asset) <= 20
        and unit in UNIT_WORDS
        and len(catalog) <= 2048
    ):
        return None
    origin = origin_of(url)
    try:
        if origin_of(catalog) != origin:
            return None  # a hint about another server is not followed
    except UserFacingError:
        return None
    return SessionOffer(
        origin, service, name or service, int(amount), asset, str(unit), catalog, _rest_below_service(url)
    )


def _rest_below_service(url: str) -> str | None:
    """``path?query`` below ``/api/v1/x402/<service>/`` in ``url`` (as sent), or None."""
    parts = urlsplit(url)
    at = parts.path.find(PER_REQUEST_PREFIX)
    if at < 0:
        return None
    _service, slash, rest = parts.path[at + len(PER_REQUEST_PREFIX) :].partition("/")
    if not slash and not _service:
        return None
    if proxying.path_problem("/" + rest) is not None:
        return None
    return rest + (f"?{parts.query}" if parts.query else "")


# the running session's gateway access for an offer (None: no such session running now)
SessionAccess = Callable[[SessionOffer], m.Access | None]


@dataclass(frozen=True)
class SessionRequest:
    """Where and how a request goes through a running session's gateway instead of being paid."""

    url: str
    headers: dict[str, str]


def via_session(
    offer: SessionOffer, access: m.Access, headers: Mapping[str, str] | None
) -> SessionRequest | None:
    """The request for ``offer.rest`` on the session's gateway (its token added, any Authorization the
    caller sent replaced), or None when the gateway is not on the provider's origin."""
    if offer.rest is None or not access.service_url:
        return None
    try:
        if origin_of(access.service_url) != offer.origin:
            return None
    except UserFacingError:
        return None
    base = access.service_url if access.service_url.endswith("/") else access.service_url + "/"
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
    sent["Authorization"] = f"Bearer {access.token}"
    return SessionRequest(base + offer.rest, sent)
