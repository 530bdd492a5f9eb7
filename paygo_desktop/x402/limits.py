"""Whether a quote may be paid: the site's policy (allow list, per-request, per-day and total limits) and the
caller's own cap. Pure: the caller passes what was already spent. Nothing here signs; a refusal is raised
before anything is signed."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.store.x402 import SitePolicy

DAY_SECONDS = 24 * 3600  # "per day" is the last 24 hours, not the calendar day


class X402Refused(UserFacingError):
    """A payment the app will not make; nothing was signed. ``reason`` is a short code for scripts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case: the key of a site's policy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserFacingError(f"“{url[:200]}” is not an http(s) URL.")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class Quote:
    """The one payment option chosen from a server's PAYMENT-REQUIRED, in this wallet's terms."""

    origin: str
    url: str
    scheme: str
    network: str  # CAIP-2
    asset: Asset
    pay_to: str
    amount: int  # base units of ``asset``
    method: str = "GET"  # the HTTP method of the request it pays for

    def shown(self, units: int | None = None) -> str:
        return Amount(self.asset, self.amount if units is None else units).format()

    def asked(self) -> str:
        """What the user is asked to pay: the amount, or for ``upto`` "at most" the signed maximum."""
        return f"at most {self.shown()}" if self.scheme == "upto" else self.shown()


@dataclass(frozen=True)
class Spent:
    """Base units of the policy's asset this site's payments may still move: the last 24 hours, and ever."""

    day: int
    total: int


def check(quote: Quote, policy: SitePolicy | None, spent: Spent, cap: int | None) -> None:
    """Raise ``X402Refused`` unless ``quote`` fits the site's ``policy`` and the caller's ``cap`` (base units
    of the quote's asset, None: no cap). A site without a policy is paid only under an explicit ``cap``."""
    if policy is None:
        if cap is None:
            raise X402Refused(
                "not_allowed",
                f"{quote.origin} is not on your x402 allow list: set its limits first "
                f"(paygo-desktop x402 policy set {quote.origin} ...) or give a maximum for this request.",
            )
    else:
        if not policy.allowed:
            raise X402Refused("blocked", f"You blocked x402 payments to {quote.origin}.")
        if (quote.asset.address or "").lower() != policy.asset.lower():
            raise X402Refused(
                "wrong_asset",
                f"{quote.origin} asks for {quote.asset.symbol} ({quote.asset.address}); your limits for it "
                f"are in {policy.asset_symbol} ({policy.asset}).",
            )
        _limit(quote, "per_request", "per request", policy.max_per_request, quote.amount)
        _limit(quote, "per_day", "in 24 hours", policy.max_per_day, spent.day + quote.amount)
        _limit(quote, "total", "in total", policy.max_total, spent.total + quote.amount)
    if cap is not None and quote.amount > cap:
        raise X402Refused(
            "over_max", f"{quote.origin} asks {quote.shown()}, more than the {quote.shown(cap)} you allowed."
        )


def _limit(quote: Quote, reason: str, words: str, limit: int | None, would_be: int) -> None:
    if limit is not None and would_be > limit:
        raise X402Refused(
            f"over_{reason}",
            f"{quote.origin} asks {quote.shown()}: that would be {quote.shown(would_be)} {words}, above your "
            f"limit of {quote.shown(limit)}.",
        )
