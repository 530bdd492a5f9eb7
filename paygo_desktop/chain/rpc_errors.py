"""What a node's JSON-RPC error says, as text fit for a log line or a user-facing message."""

from __future__ import annotations

from typing import Any


def rpc_message(exc: BaseException) -> str:
    """The node's message: web3 puts the JSON-RPC error object (``{code, message}``) in ``args[0]``."""
    args: Any = getattr(exc, "args", ())
    first = args[0] if args else exc
    if isinstance(first, dict):
        return str(first.get("message", first))
    return str(first)


def short_rpc_message(exc: BaseException, limit: int = 160) -> str:
    """The first line of the node's message, cut to ``limit``; the exception's class name if it is empty."""
    lines = rpc_message(exc).splitlines()
    return (lines[0][:limit] if lines else "") or type(exc).__name__
