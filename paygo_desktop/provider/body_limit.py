"""BodyLimit: the ASGI layer that bounds request bodies (size, and JSON nesting) before FastAPI reads them."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paygo_desktop import bounded_json
from paygo_desktop.provider.api_error import error_response
from paygo_desktop.provider.gateway import GATEWAY_PATH


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 JSON (declared or streamed length), and bodies
    nested deeper than ``bounded_json.MAX_DEPTH`` with 400 before FastAPI's ``json.loads`` sees them (a
    deep enough body would overflow the C stack: see ``bounded_json``)."""

    def __init__(
        self, app: ASGIApp, limit: int, uploads: re.Pattern[str] | None = None, upload_limit: int = 0
    ) -> None:
        self.app = app
        self.limit = limit
        self.uploads = uploads  # paths whose body is a file (not JSON) of at most upload_limit bytes
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or GATEWAY_PATH.match(scope["path"]):  # the gateway streams its own
            await self.app(scope, receive, send)
            return
        upload = self.uploads is not None and self.uploads.match(scope.get("path", "")) is not None
        limit = self.upload_limit if upload else self.limit
        too_big = error_response(413, "body_too_large", f"request bodies are limited to {limit} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await error_response(400, "bad_request", "bad Content-Length")(scope, receive, send)
                    return
                if declared > limit:
                    await too_big(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and not upload:
            try:
                bounded_json.check_depth(bounded_json.decode(body))
            except bounded_json.JSONTooDeep:
                await error_response(
                    400, "too_deep", f"request bodies may nest at most {bounded_json.MAX_DEPTH} levels"
                )(scope, receive, send)
                return
            except bounded_json.JSONRejected:
                pass  # not JSON text: FastAPI's own parsing refuses it, if the route takes JSON at all
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
