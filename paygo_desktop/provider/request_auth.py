"""Who a request speaks for: its signature (checked against its method, target and body), the provider's own
key or any wallet (FastAPI dependencies that spend the nonce), and a session's bearer access token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from paygo_desktop.protocol import routes
from paygo_desktop.protocol.auth import AuthMessage
from paygo_desktop.provider.api_error import ApiError


def request_target(request: Request) -> str:
    """The request's path and query exactly as the client sent them (what its auth header signs)."""
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


async def signed_by(request: Request) -> AuthMessage | None:
    """The request's signature (checked, bound to this method, target and body), or None without one.
    Its nonce is not spent yet: the caller does so once the signer may do what is asked."""
    if not request.headers.get(routes.AUTH_MESSAGE_HEADER) and not request.headers.get(
        routes.AUTH_SIGNATURE_HEADER
    ):
        return None
    msg: AuthMessage = request.app.state.verify_auth(request, await request.body())
    return msg


async def vendor_auth(request: Request) -> str:
    """Dependency: a fresh request signature by the provider's own key."""
    msg = await signed_by(request)
    if msg is None:
        raise ApiError(401, "unauthorized", "missing signature authentication headers")
    if msg.address != request.app.state.provider_address:
        raise ApiError(403, "forbidden", "only the provider's key may do this")
    request.app.state.core.spend_nonce(msg)
    return msg.address


async def wallet_auth(request: Request) -> str:
    """Dependency: a fresh request signature by any wallet; returns its address."""
    msg = await signed_by(request)
    if msg is None:
        raise ApiError(401, "unauthorized", "missing signature authentication headers")
    request.app.state.core.spend_nonce(msg)
    return msg.address


def bearer_token(request: Request) -> str | None:
    header = request.headers.get(routes.ACCESS_TOKEN_HEADER, "")
    return header[7:] if header.lower().startswith("bearer ") else None


VendorAuth = Annotated[str, Depends(vendor_auth)]
WalletAuth = Annotated[str, Depends(wallet_auth)]
SignedBy = Annotated[AuthMessage | None, Depends(signed_by)]
