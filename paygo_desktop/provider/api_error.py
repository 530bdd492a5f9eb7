"""ApiError: a refusal the provider's API answers with (status, code, message, the channel's state)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from paygo_desktop.protocol import models as m


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        channel: m.ChannelStateOut | None = None,
        *,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.channel = channel
        self.headers = headers  # e.g. Retry-After for a 429

    def body(self) -> dict[str, Any]:
        return m.ErrorBody(code=self.code, message=self.message, channel=self.channel).model_dump(
            mode="json", exclude_none=True
        )


def channel_refused() -> ApiError:
    return ApiError(
        403,
        "channel_refused",
        "the vault refuses this channel's voucher signatures: this provider serves it no more",
    )


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)
