"""What a node's JSON-RPC error says, as text fit for a log line or a user-facing message.

The endpoint's address never appears in it beyond its scheme and host: hosted RPC endpoints carry their
API key in the path or the query (``…/v2/<key>``), and aiohttp's HTTP errors print the whole URL."""

from __future__ import annotations

import re
from typing import Any

_URL = re.compile(r"(?P<base>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^/\s'\"@]*@)?(?P<host>[^/\s'\")?#]+)[^\s'\")]*")


def without_url_secrets(text: str) -> str:
    """``text`` with every URL cut to its scheme and host (no user, password, path or query)."""
    return _URL.sub(lambda m: f"{m['base']}{m['host']}", text)


def rpc_message(exc: BaseException) -> str:
    """The node's message: web3 puts the JSON-RPC error object (``{code, message}``) in ``args[0]``; an
    HTTP error status is said as one (aiohttp's own text holds the request, URL and headers)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and exc.__class__.__name__ == "ClientResponseError":
        return without_url_secrets(f"HTTP {status} {getattr(exc, 'message', '')}".strip())
    args: Any = getattr(exc, "args", ())
    first = args[0] if args else exc
    if isinstance(first, dict):
        return without_url_secrets(str(first.get("message", first)))
    return without_url_secrets(str(first))


def short_rpc_message(exc: BaseException, limit: int = 160) -> str:
    """The first line of the node's message, cut to ``limit``; the exception's class name if it is empty."""
    lines = rpc_message(exc).splitlines()
    return (lines[0][:limit] if lines else "") or type(exc).__name__
