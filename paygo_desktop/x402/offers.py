"""Choosing among a 402's offers: the one offer the payer (``x402.payer``) will pay, on the wallet's network,
in a token it knows, by a scheme it pays (``exact`` by EIP-3009, ``upto`` by Permit2 bound to a named
facilitator), and, for ``upto``, whether Permit2 may take its maximum. Everything refused is refused here,
before anything is signed (``limits.X402Refused``)."""

from __future__ import annotations

from collections.abc import Mapping

from eth_utils import is_address
from x402.extensions.eip2612_gas_sponsoring import EIP2612_GAS_SPONSORING_KEY
from x402.schemas import PaymentRequired, PaymentRequirements

from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Asset
from paygo_desktop.networks import Network
from paygo_desktop.peer_text import is_digits
from paygo_desktop.x402 import permit2
from paygo_desktop.x402.limits import Quote, X402Refused

UPTO = "upto"
MAX_VALIDITY = 3600  # seconds an authorization may stay valid; a server asking longer is refused


def caip2_of(network: Network) -> str:
    """The network's CAIP-2 name as x402 writes it."""
    return f"eip155:{network.chain_id}"


def choose(
    required: PaymentRequired, origin: str, url: str, network: Network, assets: Mapping[str, Asset]
) -> tuple[PaymentRequirements, Quote]:
    """The offer to pay among ``required``'s, as a ``Quote``: on ``network`` only, a payable scheme, a token
    of ``assets`` (by lower-case address), an amount in base units, a validity of at most ``MAX_VALIDITY``;
    the smallest most-it-may-move of those. Else ``X402Refused``, before anything is signed."""
    caip2 = caip2_of(network)
    offered = required.accepts
    on_network = [r for r in offered if r.network == caip2]
    if not on_network:
        networks = ", ".join(sorted({str(r.network) for r in offered})) or "none"
        raise X402Refused(
            "wrong_network",
            f"{origin} takes payment on {networks}; this wallet pays on {network.name} ({caip2}).",
        )
    payable = [r for r in on_network if is_payable(r)]
    if not payable:
        schemes = ", ".join(sorted({r.scheme for r in on_network}))
        raise X402Refused(
            "unsupported_scheme",
            f"{origin} offers only {schemes} on {network.name}; this wallet pays x402's exact "
            "scheme (EIP-3009) and its upto scheme (Permit2).",
        )
    known = [r for r in payable if r.asset.lower() in assets]
    if not known:
        tokens = ", ".join(sorted({r.asset for r in payable}))
        raise X402Refused(
            "wrong_asset",
            f"{origin} asks for a token this wallet does not know on {network.name}: {tokens}.",
        )
    candidates = []
    for r in known:
        amount = units(r.amount)
        if amount is None:
            raise X402Refused(
                "malformed", f"{origin} quotes an amount that is not base units: {r.amount[:40]!r}."
            )
        if not 0 < r.max_timeout_seconds <= MAX_VALIDITY:
            raise X402Refused(
                "malformed",
                f"{origin} wants an authorization valid for {r.max_timeout_seconds} s (this app signs at "
                f"most {MAX_VALIDITY} s).",
            )
        candidates.append((amount, r))
    # the smallest most-it-may-move; on a tie, exact (it needs no allowance to Permit2)
    amount, chosen = min(candidates, key=lambda c: (c[0], c[1].scheme != "exact"))
    asset = assets[chosen.asset.lower()]
    return chosen, Quote(origin, url, chosen.scheme, str(chosen.network), asset, chosen.pay_to, amount)


async def permit2_ready(
    quote: Quote, required: PaymentRequired, chosen: PaymentRequirements, network: Network, payer: str
) -> bool:
    """Whether Permit2 may take ``quote``'s maximum: already (False), or by an EIP-2612 permit for exactly
    that maximum the server's facilitator submits (True, when it offers x402's gas-sponsoring extension).
    Else refused, before anything is signed."""
    from paygo_desktop.chain.rpc import async_web3

    token = quote.asset.address or ""
    w3 = async_web3(network.rpc_url, timeout=15)
    try:
        allowed = await permit2.allowance(w3, payer, token)
    except Exception as exc:
        raise UserFacingError(
            f"Cannot read your {quote.asset.symbol} allowance to Permit2 on {network.name} "
            f"({type(exc).__name__}); nothing was signed."
        ) from None
    finally:
        await w3.provider.disconnect()
    if allowed >= quote.amount:
        return False
    if EIP2612_GAS_SPONSORING_KEY in (required.extensions or {}) and permit_domain(chosen):
        return True
    raise X402Refused(
        "needs_permit2_approval",
        f"{quote.origin} takes x402's upto scheme (at most {quote.shown()}), paid through Permit2, and "
        f"Permit2 may take only {quote.shown(allowed)} of your {quote.asset.symbol}: approve Permit2 "
        f"first (paygo-desktop x402 approve-permit2 --amount A --token {quote.asset.symbol}). Nothing "
        "was signed.",
    )


def is_payable(r: PaymentRequirements) -> bool:
    """``exact`` by EIP-3009, or ``upto`` by Permit2 bound to a named facilitator."""
    extra = r.extra or {}
    method = extra.get("assetTransferMethod")
    if r.scheme == "exact":
        return method in (None, "eip3009")
    if r.scheme == UPTO:
        facilitator = extra.get("facilitatorAddress")
        return method == "permit2" and isinstance(facilitator, str) and is_address(facilitator)
    return False


def permit_domain(chosen: PaymentRequirements) -> bool:
    """Whether the upto offer names the token's EIP-712 domain (the EIP-2612 permit needs it)."""
    extra = chosen.extra or {}
    return bool(extra.get("name")) and bool(extra.get("version"))


def units(text: str) -> int | None:
    if not is_digits(text) or len(text) > 78:
        return None
    value = int(text)
    return value if 0 < value < 2**256 else None
