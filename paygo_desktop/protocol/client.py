"""The app's async HTTP client for one provider (httpx). Returns pydantic models; never trusts the provider.

Every failure is a ``ProviderError`` (a ``UserFacingError``): unreachable, timeout, an HTTP error carrying
the provider's ``{code, message}``, or a response that is oversized, malformed, too deeply nested or fails
validation (negative / non-integer amounts, NaN, markup or control characters in names, ...). Catalog
items that fail validation are dropped one by one and counted in ``ServicePage.rejected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import re
import time
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from paygo_desktop import bounded_json
from paygo_desktop.answer_limits import PLAIN, Compressed, refuse_compressed
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.errors import UserFacingError
from paygo_desktop.peer_text import is_digits
from paygo_desktop.protocol import models as m
from paygo_desktop.protocol import routes
from paygo_desktop.protocol import zcash_models as zm
from paygo_desktop.protocol.auth import new_message, sign_headers
from paygo_desktop.protocol.signing import verify_model
from paygo_desktop.tls import tls_context

MAX_DEPTH = bounded_json.MAX_DEPTH
T = TypeVar("T", bound=BaseModel)


class ProviderError(UserFacingError):
    """Talking to a provider failed."""


class ProviderUnreachable(ProviderError):
    pass


class ProviderTimeout(ProviderError):
    pass


class ProviderProtocolError(ProviderError):
    """The provider answered something this app cannot accept (oversized, malformed, invalid values)."""


class ProviderHTTPError(ProviderError):
    """The provider refused the request with a 4xx/5xx and (usually) a ``{code, message}`` body."""

    def __init__(self, status: int, code: str, message: str, channel: m.ChannelStateOut | None = None):
        super().__init__(f"The provider refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.provider_message = message
        self.channel = channel


class PaymentRequired(ProviderHTTPError):
    """402: the channel's escrow does not cover the session (``channel`` has its on-chain state)."""


class Conflict(ProviderHTTPError):
    """409: busy channel, or a voucher that is not monotonic."""


class SessionGone(ProviderHTTPError):
    """410: the session ended or expired (access revoked)."""


class NotFound(ProviderHTTPError):
    pass


class Unauthorized(ProviderHTTPError):
    pass


class ProviderBusy(ProviderHTTPError):
    """503 ``busy``: the provider is overloaded and takes no new session for ``retry_after`` seconds (the
    sessions it serves go on). Nothing was taken: a start refused this way holds no voucher."""

    def __init__(self, status: int, code: str, message: str, retry_after: int):
        super().__init__(status, code, message)
        self.retry_after = retry_after
        self.args = (f"The provider is busy; try again in {retry_after} s.",)

    def __str__(self) -> str:
        return str(self.args[0])


_BY_STATUS: dict[int, type[ProviderHTTPError]] = {
    401: Unauthorized,
    403: Unauthorized,
    402: PaymentRequired,
    404: NotFound,
    409: Conflict,
    410: SessionGone,
}


def parse_json(raw: bytes, max_bytes: int = 1024 * 1024) -> Any:
    """Strict JSON: no NaN/Infinity, bounded size and nesting (checked on the raw bytes first)."""
    try:
        return bounded_json.loads(raw, max_bytes=max_bytes, max_depth=MAX_DEPTH)
    except bounded_json.JSONTooDeep:
        raise ProviderProtocolError("The provider sent a response nested too deeply.") from None
    except bounded_json.JSONTooLarge:
        raise ProviderProtocolError("The provider's response is too large.") from None
    except bounded_json.JSONRejected:
        raise ProviderProtocolError("The provider sent a malformed response.") from None


def verify_quote(quote: m.Quote, provider: m.ProviderInfo) -> bool:
    return verify_model(quote, provider.signing_key)


def verify_receipt(receipt: m.Receipt, provider: m.ProviderInfo) -> bool:
    return verify_model(receipt, provider.signing_key)


# Built with the module (which the app imports in a worker thread), not at the first request; and the
# transport's own modules, which httpx would otherwise import on the event loop at the first request.
tls_context()
for _module in ("anyio", "anyio._backends._asyncio", "h11", "httpcore._backends.anyio"):
    with contextlib.suppress(ImportError):  # a private path may move in a later release: only slower
        importlib.import_module(_module)


_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def refuse_compressed_answer(resp: httpx.Response) -> None:
    """Before its body is read: an answer compressed although the client asked for plain bytes is refused
    (nested layers inflate a few bytes into gigabytes before any size cap sees them: ``answer_limits``)."""
    try:
        refuse_compressed(resp.headers)
    except Compressed as exc:
        raise ProviderProtocolError(exc.told("The provider")) from None


class ProviderClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_bytes: int = 256 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProviderError(f"“{base_url[:80]}” is not an http(s) address.")
        self.base_url = base_url.rstrip("/")
        self.domain = parts.netloc
        self.max_bytes = max_bytes
        # the most one request may take, from connecting to its last byte: httpx's own limits are per read,
        # so a provider sending a byte now and then could otherwise hold a stop (and quitting) for ever
        self.deadline = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers=PLAIN,
            follow_redirects=False,
            verify=tls_context(),
        )
        self._chain_id: int | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth_key: Any = None,
        content: bytes | None = None,
    ) -> Any:
        """One request; ``auth_key`` signs it (the auth headers bind its method, target and body).
        ``content``: a raw body instead of JSON (a job's delivered file)."""
        request = self._http.build_request(
            method, path, json=json_body, content=content, params=params, headers=headers
        )
        if auth_key is not None:
            request.headers.update(await self._auth_headers(auth_key, request))
        try:
            async with asyncio.timeout(self.deadline):
                status, retry_after, raw = await self._exchange(request)
        except (httpx.TimeoutException, TimeoutError):
            raise ProviderTimeout("The provider did not answer in time.") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.NetworkError) as exc:
            raise ProviderUnreachable(
                f"Cannot reach the provider at {self.base_url}: {type(exc).__name__}."
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"Talking to the provider failed: {type(exc).__name__}.") from None
        if status == 204:
            return None
        if status >= 400:
            self._raise_http(status, raw, retry_after)
        if not 200 <= status < 300:
            raise ProviderProtocolError(f"The provider answered with an unexpected status {status}.")
        return parse_json(raw, self.max_bytes)

    async def _exchange(self, request: httpx.Request) -> tuple[int, str | None, bytes]:
        """Send one request and read its whole answer, at most ``max_bytes`` of it."""
        resp = await self._http.send(request, stream=True)
        async with contextlib.aclosing(resp):
            refuse_compressed_answer(resp)
            declared = resp.headers.get("content-length")
            if declared is not None and is_digits(declared) and int(declared) > self.max_bytes:
                raise ProviderProtocolError("The provider's response is too large.")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():  # plain (refused otherwise): the cap counts what is kept
                size += len(chunk)
                if size > self.max_bytes:
                    raise ProviderProtocolError("The provider's response is too large.")
                chunks.append(chunk)
            return resp.status_code, resp.headers.get("retry-after"), b"".join(chunks)

    def _raise_http(self, status: int, raw: bytes, retry_after: str | None = None) -> None:
        code, message, channel = "http_error", f"HTTP {status}", None
        try:
            body = m.ErrorBody.model_validate(parse_json(raw))
            code, message, channel = body.code, body.message, body.channel
        except (ProviderError, ValidationError):
            pass
        if not _ERROR_CODE.fullmatch(code):  # shown and matched on: a word, nothing else
            code = "http_error"
        printable = "".join(c for c in message if c.isprintable())[:300]
        if status == 503 and code == "busy":
            wait = int(retry_after) if retry_after and is_digits(retry_after) else 30
            raise ProviderBusy(status, code, printable, min(max(wait, 1), 3600))
        raise _BY_STATUS.get(status, ProviderHTTPError)(status, code, printable, channel)

    @staticmethod
    def _model(cls: type[T], data: Any) -> T:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProviderProtocolError(
                f"The provider sent an invalid {cls.__name__} ({where}: {first['msg']})."
            ) from None

    async def _auth_headers(self, key: Any, request: httpx.Request) -> dict[str, str]:
        """The headers signing ``request`` with ``key``: its method, its target relative to the base URL
        (what the provider routes) and its body."""
        if self._chain_id is None:
            self._chain_id = (await self.provider_info()).networks[0].chain_id
        target = request.url.raw_path.decode("ascii")
        prefix = urlsplit(self.base_url).path
        if prefix and target.startswith(prefix):
            target = target[len(prefix) :]
        msg = new_message(
            domain=self.domain,
            address=key.address,
            uri=self.base_url,
            chain_id=self._chain_id,
            now=int(time.time()),
            method=request.method,
            target=target,
            body=request.content,
        )
        return await asyncio.to_thread(sign_headers, key, msg)  # signing: off the event loop

    # ------------------------------------------------------------------ info & catalog

    async def health(self) -> m.Health:
        return self._model(m.Health, await self._request("GET", routes.HEALTH))

    async def provider_info(self) -> m.ProviderInfo:
        info = self._model(m.ProviderInfo, await self._request("GET", routes.PROVIDER))
        if not info.networks:
            raise ProviderProtocolError("The provider lists no network.")
        return info

    def _page(self, data: Any) -> m.ServicePage:
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise ProviderProtocolError("The provider sent an invalid catalog page.")
        items: list[m.Service] = []
        rejected = 0
        for raw in data["items"][:500]:
            try:
                items.append(m.Service.model_validate(raw))
            except ValidationError:
                rejected += 1
        rejected += max(0, len(data["items"]) - 500)
        meta = self._model(m.ServicePage, {**data, "items": []})
        return meta.model_copy(update={"items": items, "rejected": rejected})

    async def list_services(
        self,
        *,
        search: str | None = None,
        category: str | None = None,
        type: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> m.ServicePage:
        params = {"search": search, "category": category, "type": type, "page": page, "pageSize": page_size}
        data = await self._request(
            "GET", routes.SERVICES, params={k: v for k, v in params.items() if v is not None}
        )
        # Validating a page of up to 500 services takes milliseconds: off the event loop, which may be
        # the GUI's.
        return await asyncio.to_thread(self._page, data)

    async def get_service(self, service_id: str) -> m.Service:
        path = routes.SERVICE.format(service_id=quote(service_id, safe=""))
        return self._model(m.Service, await self._request("GET", path))

    # ------------------------------------------------------------------ vendor (provider key)

    async def create_service(self, key: Any, fields: m.ServiceFields) -> m.Service:
        body = fields.model_dump(mode="json", by_alias=True)
        data = await self._request("POST", routes.SERVICES, json_body=body, auth_key=key)
        return self._model(m.Service, data)

    async def update_service(self, key: Any, service_id: str, fields: m.ServiceFields) -> m.Service:
        path = routes.SERVICE.format(service_id=quote(service_id, safe=""))
        body = fields.model_dump(mode="json", by_alias=True)
        return self._model(m.Service, await self._request("PUT", path, json_body=body, auth_key=key))

    async def delete_service(self, key: Any, service_id: str) -> None:
        path = routes.SERVICE.format(service_id=quote(service_id, safe=""))
        await self._request("DELETE", path, auth_key=key)

    async def toggle_service(self, key: Any, service_id: str) -> m.Service:
        path = routes.SERVICE_TOGGLE.format(service_id=quote(service_id, safe=""))
        return self._model(m.Service, await self._request("PATCH", path, auth_key=key))

    async def my_services(self, key: Any) -> m.ServicePage:
        return self._page(await self._request("GET", routes.VENDOR_SERVICES, auth_key=key))

    async def vendor_sessions(self, key: Any) -> m.SessionList:
        data = await self._request("GET", routes.VENDOR_SESSIONS, auth_key=key)
        return self._model(m.SessionList, data)

    async def earnings(
        self, key: Any, *, from_: int = 0, to: int | None = None, bucket: str = "day"
    ) -> m.Earnings:
        params: dict[str, Any] = {"from": from_, "bucket": bucket}
        if to is not None:
            params["to"] = to
        data = await self._request("GET", routes.VENDOR_EARNINGS, params=params, auth_key=key)
        return self._model(m.Earnings, data)

    async def claim_now(self, key: Any) -> m.ClaimResult:
        """Ask the provider to send the batch claim itself (from its own key)."""
        data = await self._request("POST", routes.VENDOR_CLAIM, auth_key=key)
        return self._model(m.ClaimResult, data)

    async def claimable_vouchers(self, key: Any) -> m.ClaimableVouchers:
        """The vouchers above what the vault has paid out, for a ``claimBatch`` the vendor sends."""
        data = await self._request("GET", routes.VENDOR_VOUCHERS, auth_key=key)
        return self._model(m.ClaimableVouchers, data)

    # ------------------------------------------------------------------ sessions (payer)

    async def start_session(
        self, service_id: str, channel: Channel, cumulative_amount: int, signature: bytes | str
    ) -> m.StartResponse:
        sig = signature if isinstance(signature, str) else "0x" + bytes(signature).hex()
        body = {
            "serviceId": service_id,
            "channel": m.ChannelParams.from_channel(channel).model_dump(mode="json", by_alias=True),
            "voucher": {"cumulativeAmount": str(cumulative_amount), "signature": sig},
        }
        return self._model(m.StartResponse, await self._request("POST", routes.STREAM_START, json_body=body))

    async def send_voucher(
        self, session_id: str, seq: int, cumulative_amount: int, signature: bytes | str
    ) -> m.VoucherAck:
        sig = signature if isinstance(signature, str) else "0x" + bytes(signature).hex()
        path = routes.STREAM_VOUCHERS.format(session_id=quote(session_id, safe=""))
        body = {"seq": seq, "cumulativeAmount": str(cumulative_amount), "signature": sig}
        return self._model(m.VoucherAck, await self._request("POST", path, json_body=body))

    async def stop_session(
        self,
        session_id: str,
        final_voucher: tuple[int, int, str] | None = None,
        *,
        access_token: str | None = None,
        key: Any = None,
    ) -> m.StopResponse:
        """Stop a session; ``final_voucher`` = (seq, cumulativeAmount, signature) settles it at that total.

        The provider wants proof that this is the payer: the session's ``access_token`` (from the start
        response), or a request signed by ``key``, the channel's payer or signer (recovery, after a restart,
        holds no token)."""
        path = routes.STREAM_STOP.format(session_id=quote(session_id, safe=""))
        body = None
        if final_voucher is not None:
            seq, cumulative, signature = final_voucher
            body = {"finalVoucher": {"seq": seq, "cumulativeAmount": str(cumulative), "signature": signature}}
        headers = None if access_token is None else {routes.ACCESS_TOKEN_HEADER: f"Bearer {access_token}"}
        data = await self._request("PATCH", path, json_body=body, headers=headers, auth_key=key)
        return self._model(m.StopResponse, data)

    async def get_session(self, session_id: str) -> m.SessionInfo:
        path = routes.STREAM.format(session_id=quote(session_id, safe=""))
        return self._model(m.SessionInfo, await self._request("GET", path))

    async def get_channel(self, channel_id: bytes | str, key: Any = None) -> m.ChannelInfo:
        """What the provider holds for a channel. Signed by ``key`` (the channel's payer or signer) the answer
        includes the last voucher's signature and the live session's id; without, neither."""
        cid = channel_id if isinstance(channel_id, str) else "0x" + bytes(channel_id).hex()
        path = routes.CHANNEL.format(channel_id=quote(cid, safe=""))
        return self._model(m.ChannelInfo, await self._request("GET", path, auth_key=key))

    async def request_close(self, key: Any, channel: Channel) -> m.CloseAuth:
        """Ask for the provider's signed Close of ``channel``, as its payer or signer (``key`` signs the
        request). Nothing here is trusted: the caller checks the Close before it signs its own voucher."""
        cid = "0x" + channel.id.hex()
        path = routes.CHANNEL_CLOSE.format(channel_id=cid)
        body = m.CloseRequest(channel=m.ChannelParams.from_channel(channel)).model_dump(
            mode="json", by_alias=True
        )
        data = await self._request("POST", path, json_body=body, auth_key=key)
        return self._model(m.CloseAuth, data)

    async def my_sessions(self, key: Any) -> m.SessionList:
        data = await self._request("GET", routes.MY_SESSIONS, auth_key=key)
        return self._model(m.SessionList, data)

    async def content(self, access: m.Access) -> m.ContentResponse:
        path = urlsplit(access.url).path
        data = await self._request("GET", path, headers={"Authorization": f"Bearer {access.token}"})
        return self._model(m.ContentResponse, data)

    # ------------------------------------------------------------------ Zcash spending permissions

    async def create_zcash_permission(
        self,
        user_wallet_address: str,
        amount_zat: int,
        rate_per_hour_zat: int,
        duration_days: int | None = None,
    ) -> zm.ZcashPermission:
        body: dict[str, Any] = {
            "userWalletAddress": user_wallet_address,
            "amountZat": str(amount_zat),
            "ratePerHourZat": str(rate_per_hour_zat),
        }
        if duration_days is not None:
            body["durationDays"] = duration_days
        data = await self._request("POST", routes.ZCASH_PERMISSIONS, json_body=body)
        return self._model(zm.ZcashPermission, data)

    def _perm_path(self, template: str, permission_id: str) -> str:
        return template.format(permission_id=quote(permission_id, safe=""))

    async def get_zcash_permission(self, permission_id: str, token: str | None = None) -> zm.ZcashPermission:
        """Public; with the permission's ``token`` the provider also names its live session."""
        headers = None if token is None else {"Authorization": f"Bearer {token}"}
        path = self._perm_path(routes.ZCASH_PERMISSION, permission_id)
        data = await self._request("GET", path, headers=headers)
        return self._model(zm.ZcashPermission, data)

    async def verify_zcash_permission(self, permission_id: str) -> zm.ZcashPermission:
        data = await self._request("POST", self._perm_path(routes.ZCASH_PERMISSION_VERIFY, permission_id))
        return self._model(zm.ZcashPermission, data)

    async def revoke_zcash_permission(self, permission_id: str, token: str) -> zm.ZcashPermission:
        data = await self._request(
            "POST",
            self._perm_path(routes.ZCASH_PERMISSION_REVOKE, permission_id),
            headers={"Authorization": f"Bearer {token}"},
        )
        return self._model(zm.ZcashPermission, data)

    async def zcash_wallet_permission(self, address: str) -> zm.ZcashPermission:
        path = routes.ZCASH_WALLET_PERMISSION.format(address=quote(address, safe=""))
        return self._model(zm.ZcashPermission, await self._request("GET", path))

    async def zcash_balance(self, address: str, rate_per_hour_zat: int | None = None) -> zm.ZcashBalance:
        path = routes.ZCASH_BALANCE.format(address=quote(address, safe=""))
        params = None if rate_per_hour_zat is None else {"rate_per_hour": str(rate_per_hour_zat)}
        return self._model(zm.ZcashBalance, await self._request("GET", path, params=params))

    async def start_zcash_session(self, permission_id: str, service_id: str, token: str) -> zm.ZcashSession:
        data = await self._request(
            "POST",
            routes.SESSIONS,
            json_body={"permissionId": permission_id, "serviceId": service_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        return self._model(zm.ZcashSession, data)

    async def end_zcash_session(self, session_id: str, token: str) -> zm.ZcashSession:
        """End a session paid from a permission: only its ``token``'s holder may."""
        data = await self._request(
            "POST",
            routes.SESSIONS_END,
            json_body={"sessionId": session_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        return self._model(zm.ZcashSession, data)

    async def get_zcash_session(self, session_id: str) -> zm.ZcashSession:
        path = routes.SESSION.format(session_id=quote(session_id, safe=""))
        return self._model(zm.ZcashSession, await self._request("GET", path))

    # Sandbox/test only: the provider's local ledger (``[zcash] mode = "ledger"``).

    async def ledger_pay(self, address: str, amount_zat: int, memo: str | None = None) -> zm.ZcashLedgerTx:
        body: dict[str, Any] = {"address": address, "amountZat": str(amount_zat)}
        if memo is not None:
            body["memo"] = memo
        data = await self._request("POST", routes.ZCASH_LEDGER_PAY, json_body=body)
        return self._model(zm.ZcashLedgerTx, data)

    async def ledger_mine(self, blocks: int = 1) -> zm.ZcashLedgerHeight:
        data = await self._request("POST", routes.ZCASH_LEDGER_MINE, json_body={"blocks": blocks})
        return self._model(zm.ZcashLedgerHeight, data)
