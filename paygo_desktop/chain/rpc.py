"""A connection to a chain node whose answers are parsed within bounds.

The node is another machine too (a custom network's RPC may be anybody's): web3's own decoder hands the
answer straight to ``json.loads``, which some 70,000 nested brackets crash with SIGSEGV in this process
(``bounded_json`` says why). ``BoundedAsyncHTTPProvider`` decodes every answer with ``bounded_json.loads``
instead: JSON-RPC answers nest a few levels, and a log query over a wide block range can be large, so the
depth limit is the protocol's and the size limit generous. Every web3 connection the app, the provider and
the sandbox open goes through ``async_web3``.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiohttp import ClientError, ClientResponse, ClientSession, ClientTimeout, TCPConnector
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3._utils.http import DEFAULT_HTTP_TIMEOUT
from web3._utils.http_session_manager import HTTPSessionManager
from web3.exceptions import BadResponseFormat
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCResponse

from paygo_desktop import bounded_json
from paygo_desktop.answer_limits import PLAIN, Compressed, refuse_compressed

MAX_RPC_BYTES = 64 * 1024 * 1024  # a wide eth_getLogs answer; anything larger is refused, not parsed
KEEP_ALIVE_SECONDS = 10.0  # an idle connection to the node is closed by us first (servers allow more)


class KeptAliveSessions(HTTPSessionManager):
    """web3's session manager, posting through one kept-alive ``aiohttp`` session per event loop.

    web3's own opens a new TCP connection to the node for every request (its connector has
    ``force_close=True``) and takes a threading lock through a thread pool on every request to find its
    cached session: together more than half of the reference provider's per-voucher chain read
    (docs/performance.md). A session belongs to the loop it was made on; one made on a loop that has
    since closed is dropped (it cannot be closed any more; its sockets went with the loop).
    """

    def __init__(self) -> None:
        super().__init__(session_pool_max_workers=1)
        self._sessions: dict[asyncio.AbstractEventLoop, ClientSession] = {}

    def _session(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            self._sessions = {lp: s for lp, s in self._sessions.items() if not lp.is_closed()}
            session = ClientSession(
                raise_for_status=True,
                connector=TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS),
                headers=PLAIN,
                auto_decompress=False,  # a compressed answer is refused, never inflated (answer_limits)
            )
            self._sessions[loop] = session
        return session

    async def async_get_response_from_post_request(
        self, endpoint_uri: Any, *args: Any, **kwargs: Any
    ) -> ClientResponse:
        kwargs.setdefault("timeout", ClientTimeout(DEFAULT_HTTP_TIMEOUT))
        return await self._session().post(endpoint_uri, *args, **kwargs)

    async def async_make_post_request(
        self, endpoint_uri: Any, data: bytes | dict[str, Any], **kwargs: Any
    ) -> bytes:
        """The node's answer, read to ``MAX_RPC_BYTES`` at most (web3's own reads all of it first, however
        large, and only then is it measured), plain: a compressed one is refused."""
        response = await self.async_get_response_from_post_request(endpoint_uri, data=data, **kwargs)
        async with response:
            try:
                refuse_compressed(response.headers)
            except Compressed as exc:
                raise BadResponseFormat(exc.told("The chain node")) from None
            too_large = BadResponseFormat(f"The chain node's answer is larger than {MAX_RPC_BYTES} bytes.")
            declared = response.content_length
            if declared is not None and declared > MAX_RPC_BYTES:
                raise too_large
            raw = bytearray()
            async for chunk in response.content.iter_chunked(256 * 1024):
                raw += chunk
                if len(raw) > MAX_RPC_BYTES:
                    raise too_large
            return bytes(raw)

    async def close(self) -> None:
        """Close this loop's session (its kept connections)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


class BoundedAsyncHTTPProvider(AsyncHTTPProvider):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # web3 tries a read five times, timeouts included, each with the whole timeout: a node that has
        # gone silent held one read (and quitting behind it) for minutes. A refused connection or an HTTP
        # error is tried again; a timeout is not (a silent node stays silent).
        kwargs.setdefault("exception_retry_configuration", ExceptionRetryConfiguration(errors=(ClientError,)))
        super().__init__(*args, **kwargs)
        self._kept = KeptAliveSessions()
        self._request_session_manager = self._kept

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> RPCResponse:
        try:
            return cast(RPCResponse, bounded_json.loads(raw_response, max_bytes=MAX_RPC_BYTES))
        except bounded_json.JSONRejected as exc:
            raise BadResponseFormat(f"The chain node's answer was refused: {exc}.") from None

    async def disconnect(self) -> None:
        await self._kept.close()
        await super().disconnect()


def async_web3(url: str, timeout: float | None = None) -> AsyncWeb3[Any]:
    """An async web3 on ``url``; ``timeout`` (seconds) bounds each request."""
    kwargs: dict[str, Any] = {} if timeout is None else {"request_kwargs": {"timeout": timeout}}
    return AsyncWeb3(BoundedAsyncHTTPProvider(url, **kwargs))
