"""Paying an x402 endpoint: request, and on a 402 choose what to pay (``offers``), check it against the user's
limits, sign with the official SDK's client, hold what it signed to the quote (``signed``), record the
payment, send it, and mark it from the PAYMENT-RESPONSE.

Two schemes are paid: ``exact`` by EIP-3009 authorization, and ``upto`` by a Permit2 signature for a
maximum of which the server settles what the request used (``x402.permit2``: the allowance to Permit2 it
needs). Only on the wallet's own network (``eip155:<its chain id>``), only in a token the wallet knows there.
The user's limits apply to the most a payment may move (``upto``: the signed maximum, never the smaller
amount a server says it will take). Everything refused is refused before anything is signed
(``limits.X402Refused``). One request is paid at most once: a server that answers 402 again after the
payment gets no second signature (and is told apart when it asks more than it first quoted). A payment is
marked settled only when the chain shows the transaction its server names settling THIS authorization, now
spent (``settlement``); an ``upto`` one is recorded at what that moved, beside its maximum. A server's
"settled" the chain does not show (no transaction, another payment's, one that did not use this
authorization) leaves the payment pending with a note, counted at its most until the lapsed check
(``lapsed``) asks the chain.

The payment row is written (``pending``) after signing and before the signed authorization leaves the app,
so a crash in between never loses a payment that could move money. It keeps what the payment's proof file
needs (``receipts.x402_proof``): the whole authorization, the payer's signature over it and the requirements
the server quoted (``quoted_requirements``). The signature is an authorization, not a key; it is never
logged. The payer's SQL runs in worker threads (``asyncio.to_thread``), so the app can run it on its own
loop (the GUI thread).

A PayGo provider's 402 may name the same service sold by time (``session_offer``): with a running session
for it (``sessions``), the request goes through that session's gateway and nothing is paid per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
from x402 import x402ClientSync
from x402.extensions.eip2612_gas_sponsoring import EIP2612_GAS_SPONSORING_KEY
from x402.http.utils import encode_payment_signature_header
from x402.mechanisms.evm.exact import ExactEvmScheme
from x402.mechanisms.evm.signers import EthAccountSigner, EthAccountSignerWithRPC
from x402.mechanisms.evm.upto import UptoEvmClientScheme
from x402.mechanisms.evm.utils import get_asset_info
from x402.schemas import PaymentPayload, PaymentRequired, PaymentRequirements

from paygo_desktop.answer_limits import PLAIN, Compressed, Pace, TooSlow, refuse_compressed
from paygo_desktop.errors import UserFacingError
from paygo_desktop.money import Amount, Asset
from paygo_desktop.networks import Network
from paygo_desktop.peer_text import one_line
from paygo_desktop.store.activity import ActivityLog
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, MAX_QUOTE, PENDING, SETTLED, X402Payment, X402Store
from paygo_desktop.x402 import lapsed, limits, offers, session_offer, settlement, wire
from paygo_desktop.x402.booking import booking_rows
from paygo_desktop.x402.limits import DAY_SECONDS, Quote, Spent, X402Refused
from paygo_desktop.x402.offers import UPTO, units
from paygo_desktop.x402.session_offer import SessionAccess, SessionOffer
from paygo_desktop.x402.settlement import Shown
from paygo_desktop.x402.signed import exact_signed, upto_signed

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

MAX_BODY = 16 * 1024 * 1024  # a paid answer larger than this is cut off (the CLI and the proxy's cap)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
HEADERS_SECONDS = 90.0  # from sending to the answer's last header (the server may settle on chain first)

Confirm = Callable[[Quote], Awaitable[bool]]


@dataclass(frozen=True)
class PaidResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    payment: X402Payment | None = None  # None: no payment was needed
    truncated: bool = False
    # the provider also sells this by time (its 402's paygo-session hint); via_session: served through
    # the app's running session for it, nothing paid per request
    offer: SessionOffer | None = None
    via_session: bool = False
    hint: str | None = None  # paid per request although a session would be cheaper for repeated calls


@dataclass
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class X402Payer:
    """Pays x402 endpoints from ``account`` on ``network`` in the ``assets`` the wallet knows there."""

    def __init__(
        self,
        store: Store,
        account: LocalAccount,
        network: Network,
        assets: tuple[Asset, ...],
        *,
        confirm: Confirm | None = None,
        sessions: SessionAccess | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._records = X402Store(store)
        self._activity = ActivityLog(store)
        self._account = account
        self._network = network
        self._booked = partial(booking_rows, network=network.key)  # a settled payment's rows in Activity
        self._caip2 = offers.caip2_of(network)
        self._assets = {a.address.lower(): a for a in assets if a.address}
        self._confirm = confirm
        self._sessions = sessions
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()  # the limits check and the record are one step for this payer
        # told, on the caller's loop, each time this payer wrote a payment or booked one: the app's views
        # of x402 payments, spending and Activity read again
        self._on_change = on_change or (lambda: None)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        max_amount: str | None = None,
    ) -> PaidResponse:
        """``method url``, paying a 402 within the site's limits and ``max_amount`` (text in the quoted
        token, e.g. "0.05"); raises ``X402Refused`` (nothing signed) or ``UserFacingError``."""
        origin = limits.origin_of(url)
        first = await self._send(method, url, headers, content)
        if first.status != 402:
            return PaidResponse(first.status, first.headers, first.body, truncated=first.truncated)
        header = first.headers.get(wire.PAYMENT_REQUIRED_HEADER)
        if not header:
            raise UserFacingError(
                f"{origin} answered 402 without a {wire.PAYMENT_REQUIRED_HEADER} header (not x402 v2)."
            )
        required = wire.payment_required(header)
        offer = session_offer.offer_in(required, url)
        if offer is not None:
            served = await self._through_session(offer, method, headers, content)
            if served is not None:
                return served
        chosen, quote = offers.choose(required, origin, url, self._network, self._assets)
        quote = dataclasses.replace(quote, method=method.upper())
        async with self._lock:  # SQL in worker threads, one payment at a time
            cap = None if max_amount is None else Amount.parse(max_amount, quote.asset).units
            policy = await asyncio.to_thread(self._records.policy, origin)
            # payments on the server's word whose authorization lapsed: looked up on chain, else counted
            # (one found spent is booked in Activity as it is marked settled, if what it moved is known)
            checked = await lapsed.settle_lapsed(
                self._records, self._network.rpc_url, origin, int(self._clock()), booked=self._booked
            )
            if checked.found_spent or checked.closed:
                self._on_change()
            still = checked.still
            spent = await asyncio.to_thread(self._spent, origin, policy.asset if policy else None, still)
            limits.check(quote, policy, spent, cap)
            if policy is not None and policy.ask_first and not await self._asked(quote):
                raise X402Refused("declined", f"You declined to pay {quote.shown()} to {origin}.")
            sponsored = quote.scheme == UPTO and await offers.permit2_ready(
                quote, required, chosen, self._network, self._account.address
            )
            payload = await asyncio.to_thread(self._sign, required, chosen, sponsored)
            payment = await asyncio.to_thread(self._record, quote, method, payload, chosen)
        try:
            return await self._pay(payment, quote, method, url, headers, content, payload, offer)
        finally:
            self._on_change()  # the payment, marked as it ended (or still pending, cancelled meanwhile)

    async def _pay(
        self,
        payment: X402Payment,
        quote: Quote,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        payload: PaymentPayload,
        offer: SessionOffer | None,
    ) -> PaidResponse:
        """Send the request with the recorded payment's signature; mark the payment from the answer."""
        signed = {**(headers or {}), wire.PAYMENT_SIGNATURE_HEADER: encode_payment_signature_header(payload)}
        try:
            second = await self._send(method, url, signed, content)
        except UserFacingError as exc:
            await asyncio.to_thread(self._records.finish, payment.id, FAILED, error=f"not delivered: {exc}")
            raise
        return PaidResponse(
            second.status,
            second.headers,
            second.body,
            await asyncio.to_thread(
                self._settled, payment, quote, second, await self._shown(payment, second)
            ),
            second.truncated,
            offer,
            hint=None if offer is None else offer.comparison(quote),
        )

    async def _through_session(
        self, offer: SessionOffer, method: str, headers: Mapping[str, str] | None, content: bytes | None
    ) -> PaidResponse | None:
        """The request served by the app's running session for ``offer`` (nothing paid per request), or
        None: no such session, or it ended meanwhile (then it is paid per request, as without one)."""
        access = self._sessions(offer) if self._sessions is not None else None
        routed = None if access is None else session_offer.via_session(offer, access, headers)
        if routed is None:
            return None
        answer = await self._send(method, routed.url, routed.headers, content)
        if answer.status in (401, 410):  # the session's access is gone: no session to use
            return None
        return PaidResponse(
            answer.status,
            answer.headers,
            answer.body,
            truncated=answer.truncated,
            offer=offer,
            via_session=True,
        )

    # ---- the user's limits

    def _spent(self, origin: str, asset: str | None, still: set[int]) -> Spent:
        now = self._clock()
        since = datetime.fromtimestamp(now, UTC) - timedelta(seconds=DAY_SECONDS)
        counted = [
            p
            for p in self._records.payments(origin)
            if (p.may_still_move(int(now)) or p.id in still)
            and (asset is None or p.asset.lower() == asset.lower())
        ]
        return Spent(
            day=sum(p.counted for p in counted if p.created_at >= since),
            total=sum(p.counted for p in counted),
        )

    async def _asked(self, quote: Quote) -> bool:
        if self._confirm is None:
            raise X402Refused(
                "ask_first", f"You asked to confirm each payment to {quote.origin}; nobody is here to."
            )
        return await self._confirm(quote)

    # ---- checking, signing (a worker thread) and the record

    def _sign(
        self, required: PaymentRequired, chosen: PaymentRequirements, sponsored: bool
    ) -> PaymentPayload:
        client = x402ClientSync()
        client.register(self._caip2, ExactEvmScheme(EthAccountSigner(self._account)))
        upto_signer = (
            EthAccountSignerWithRPC(self._account, self._network.rpc_url)  # reads the token's permit nonce
            if sponsored
            else EthAccountSigner(self._account)
        )
        client.register(self._caip2, UptoEvmClientScheme(upto_signer))
        # the SDK's own cap, as a second guard: this asset only, this amount at most
        client.set_spend_controls(
            {
                "max_amount_per_payment": False,
                "allowed_assets": [
                    {"network": self._caip2, "asset": chosen.asset, "max_amount_per_payment": chosen.amount}
                ],
            }
        )
        # only the EIP-2612 extension, and only when it is needed: never the SDK's ERC-20 approval one (a
        # signed approve transaction of the SDK's choosing)
        offered = (required.extensions or {}).get(EIP2612_GAS_SPONSORING_KEY)
        only = PaymentRequired(
            x402_version=2,
            resource=required.resource,
            accepts=[chosen],
            extensions={EIP2612_GAS_SPONSORING_KEY: offered} if sponsored and offered else None,
        )
        payload = client.create_payment_payload(only)
        assert isinstance(payload, PaymentPayload)
        return payload

    def _record(
        self, quote: Quote, method: str, payload: PaymentPayload, chosen: PaymentRequirements
    ) -> X402Payment:
        signed = upto_signed(quote, payload) if quote.scheme == UPTO else exact_signed(quote, payload)
        signature = payload.payload.get("signature")
        if signed is None or signed[0].lower() != self._account.address.lower():
            # the SDK signed something else than was checked: never send it
            raise UserFacingError("The signed x402 authorization does not match the quote; it was not sent.")
        _, nonce, valid_before, valid_after = signed
        payment = X402Payment(
            id=0,
            created_at=datetime.fromtimestamp(self._clock(), UTC),
            origin=quote.origin,
            url=quote.url,
            method=method.upper(),
            scheme=quote.scheme,
            network=quote.network,
            payer=self._account.address,
            pay_to=quote.pay_to,
            asset=quote.asset.address or "",
            asset_symbol=quote.asset.symbol,
            decimals=quote.asset.decimals,
            amount=quote.amount,
            nonce=nonce,
            valid_before=valid_before,
            status="pending",
            tx_hash=None,
            error=None,
            settled_at=None,
            valid_after=valid_after,
            signature=signature if isinstance(signature, str) else None,
            requirements=quoted_requirements(chosen),
        )
        payment_id = self._records.record(payment)
        return self._payment(payment_id)

    def _payment(self, payment_id: int) -> X402Payment:
        found = self._records.payment(payment_id)
        assert found is not None, "a payment row is never deleted"
        return found

    async def _shown(self, payment: X402Payment, answer: _Answer) -> Shown | None:
        """What the chain shows of the settlement a successful answer names (``settlement``: that transaction
        settled THIS payment's authorization, now spent); None when the answer names none. An ``upto``
        transaction already recorded as another payment's is not this one's."""
        from paygo_desktop.chain.rpc import async_web3

        header = answer.headers.get(wire.PAYMENT_RESPONSE_HEADER)
        if answer.status == 402 or not header:
            return None
        try:
            said = wire.settle_response(header)
        except wire.X402WireError:
            return None
        if not said.success or not said.transaction:
            return None
        if payment.scheme == UPTO:
            other = await asyncio.to_thread(self._records.with_transaction, said.transaction, payment.id)
            if other is not None:
                return Shown(None, f"that transaction is already recorded as payment {other}'s settlement")
        w3 = async_web3(self._network.rpc_url, timeout=15)
        try:
            return await settlement.settlement_shown(w3, said.transaction, payment)
        finally:
            await w3.provider.disconnect()

    def _settled(
        self, payment: X402Payment, quote: Quote, answer: _Answer, shown: Shown | None = None
    ) -> X402Payment:
        if answer.status == 402:
            again = answer.headers.get(wire.PAYMENT_REQUIRED_HEADER)
            self._records.finish(payment.id, FAILED, error=_refusal(again))
            asked = _asked_again(again, quote)
            if asked is not None and asked > quote.amount:
                raise X402Refused(
                    "asks_more",
                    f"{quote.origin} asked {quote.shown(asked)} after quoting {quote.shown()}: refused, "
                    "nothing more was signed.",
                )
            raise UserFacingError(
                f"{quote.origin} did not accept the payment of {quote.shown()}: {_refusal(again)}"
            )
        header = answer.headers.get(wire.PAYMENT_RESPONSE_HEADER)
        if not header:
            # the server kept the authorization without saying: it stays pending (counted against the limits)
            return self._payment(payment.id)
        try:
            settled = wire.settle_response(header)
        except wire.X402WireError as exc:
            self._records.finish(payment.id, "pending", error=str(exc))
            return self._payment(payment.id)
        if settled.success:
            status, moved, note = _outcome(quote, settled.transaction, settled.amount, shown)
            self._records.finish(
                payment.id,
                status,
                tx_hash=(settled.transaction or None) if status == SETTLED else None,
                error=note,
                settled_amount=moved,
                booked=self._booked if status == SETTLED else None,
                only_from=payment,  # not if the lapsed check found it settled meanwhile (booked then)
            )
        else:
            reason = one_line(str(settled.error_reason or settled.error_message or "settlement failed"))
            self._records.finish(payment.id, FAILED, error=reason[:500])
            self._activity.record(
                "x402",
                f"x402 payment of {Amount(_asset(payment), payment.amount)} to {payment.origin} failed: "
                f"{reason[:200]}",
                account=payment.payer,
                network=self._network.key,
                is_error=True,
            )
        return self._payment(payment.id)

    # ---- HTTP

    async def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, content: bytes | None
    ) -> _Answer:
        """One exchange with the server: its headers within ``TIMEOUT``'s read limit for the whole of them,
        its body plain (``answer_limits``), at most ``MAX_BODY`` of it kept, and at a pace above the floor."""
        client = self._http or httpx.AsyncClient(timeout=TIMEOUT, trust_env=False, follow_redirects=False)
        origin = limits.origin_of(url)
        asked = httpx.Headers(headers or {})
        asked.update(PLAIN)  # whatever the caller accepts: a compressed answer is never decoded here
        try:
            request = client.build_request(method, url, headers=asked, content=content)
            async with asyncio.timeout(HEADERS_SECONDS):  # a server dribbling its headers, byte by byte
                response = await client.send(request, stream=True)
            async with contextlib.aclosing(response):
                refuse_compressed(response.headers)
                body = bytearray()
                truncated = False
                pace = Pace()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        del body[MAX_BODY:]
                        truncated = True
                        break
                    pace.check(len(body))
                return _Answer(response.status_code, response.headers, bytes(body), truncated)
        except httpx.HTTPError as exc:
            raise UserFacingError(f"Cannot reach {origin}: {type(exc).__name__}.") from None
        except TimeoutError:
            raise UserFacingError(f"{origin} did not answer within {HEADERS_SECONDS:g} s.") from None
        except Compressed as exc:
            raise UserFacingError(exc.told(origin)) from None
        except TooSlow as slow:
            raise UserFacingError(f"{origin} sent its answer too slowly ({slow}).") from None
        finally:
            if self._http is None:
                await client.aclose()


def quoted_requirements(chosen: PaymentRequirements) -> str:
    """The requirements the server quoted, as JSON kept with the payment for its proof file: ``extra`` names
    the EIP-712 domain the SDK signed under (its default for the asset when the server named none, as the
    SDK's exact client does); a quote too large to keep keeps only that of its ``extra``."""
    data = chosen.model_dump(mode="json", by_alias=True)
    extra = dict(data.get("extra") or {})
    if "name" not in extra:
        try:
            info = get_asset_info(str(chosen.network), chosen.asset)
            extra["name"], extra["version"] = info["name"], info.get("version", "1")
        except ValueError:
            pass
    if "name" in extra:
        extra.setdefault("version", "1")
    data["extra"] = extra
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_QUOTE:
        data["extra"] = {k: extra[k] for k in ("name", "version") if k in extra}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return text


def _asset(payment: X402Payment) -> Asset:
    return Asset(payment.asset_symbol, payment.decimals, payment.asset)


def _outcome(
    quote: Quote, transaction: str, reported: str | None, shown: Shown | None
) -> tuple[str, int | None, str | None]:
    """(status, amount settled, note) of a payment its server says it settled. Settled only when the chain
    shows the named transaction settling it (``shown``): ``exact`` at its amount, ``upto`` at what the
    chain shows it moved (noted when the server said otherwise). An ``upto`` server that says it settled
    nothing and names no transaction: settled ``unused`` (counted at the maximum until it lapses). Otherwise
    it stays pending, on the server's word, counted at its most until ``x402.lapsed`` asks the chain."""
    if shown is not None and shown.moved is not None:
        if quote.scheme != UPTO:
            return SETTLED, quote.amount, None
        if reported is not None and reported != str(shown.moved):
            return (
                SETTLED,
                shown.moved,
                f"the server said it settled {reported[:80]!r}; the chain shows {shown.moved}",
            )
        return SETTLED, shown.moved, None
    if quote.scheme == UPTO and not transaction and reported == "0":
        return SETTLED, 0, None
    named = f" in {one_line(transaction)[:80]!r}" if transaction else ""
    why = shown.why if shown is not None else "it named no transaction"
    return (
        PENDING,
        None,
        f"the server said it settled{named}, but {why}: it counts at its most until the chain shows its "
        "authorization spent or lapsed",
    )


def _refusal(header: str | None) -> str:
    if not header:
        return "it answered 402 again"
    try:
        return wire.payment_required(header).error or "it answered 402 again"
    except wire.X402WireError as exc:
        return str(exc)


def _asked_again(header: str | None, quote: Quote) -> int | None:
    """What the server's second 402 asks in the quoted token on the same network (None: not comparable)."""
    if not header:
        return None
    try:
        again = wire.payment_required(header)
    except wire.X402WireError:
        return None
    amounts = [
        units(r.amount)
        for r in again.accepts
        if r.network == quote.network and r.asset.lower() == (quote.asset.address or "").lower()
    ]
    found = [a for a in amounts if a is not None]
    return min(found) if found else None
