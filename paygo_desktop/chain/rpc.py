"""A connection to a chain node whose answers are parsed within bounds.

The node is another machine too (a custom network's RPC may be anybody's): web3's own decoder hands the
answer straight to ``json.loads``, which some 70,000 nested brackets crash with SIGSEGV in this process
(``bounded_json`` says why). ``BoundedAsyncHTTPProvider`` decodes every answer with ``bounded_json.loads``
instead: JSON-RPC answers nest a few levels, and a log query over a wide block range can be large, so the
depth limit is the protocol's and the size limit generous. Every web3 connection the app, the provider and
the sandbox open goes through ``async_web3``.
"""

from __future__ import annotations

from typing import Any, cast

from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import BadResponseFormat
from web3.types import RPCResponse

from paygo_desktop import bounded_json

MAX_RPC_BYTES = 64 * 1024 * 1024  # a wide eth_getLogs answer; anything larger is refused, not parsed


class BoundedAsyncHTTPProvider(AsyncHTTPProvider):
    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> RPCResponse:
        try:
            return cast(RPCResponse, bounded_json.loads(raw_response, max_bytes=MAX_RPC_BYTES))
        except bounded_json.JSONRejected as exc:
            raise BadResponseFormat(f"The chain node's answer was refused: {exc}.") from None


def async_web3(url: str, timeout: float | None = None) -> AsyncWeb3[Any]:
    """An async web3 on ``url``; ``timeout`` (seconds) bounds each request."""
    kwargs: dict[str, Any] = {} if timeout is None else {"request_kwargs": {"timeout": timeout}}
    return AsyncWeb3(BoundedAsyncHTTPProvider(url, **kwargs))
