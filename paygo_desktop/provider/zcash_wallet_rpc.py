"""Zcash payment verification behind one interface, and its client for a Zallet-compatible wallet.

``PaymentVerifier`` is what the permission routes use: a fresh receiving address per permission, the notes
received for a permission (to its address, or anywhere in the wallet carrying the memo ``paygo:perm:<id>``)
and, where the verifier can see it, a transparent address's balance. Two implementations:

* ``ZalletVerifier`` (this module): JSON-RPC 2.0 over HTTP with basic auth to Zallet (zcashd reached end of
  life in 2026; Zallet keeps the zcashd wallet RPC names). Methods used: ``z_getaddressforaccount``
  (one diversified shielded address per permission), ``z_listreceivedbyaddress`` (notes to that address,
  spent or not, with ``minconf`` 0), ``z_listunspent`` (the wallet's notes, for the memo key) and
  ``z_viewtransaction`` (memos when a listing omits them).
* ``LocalLedger`` (provider.zcash_ledger): an in-process ledger for the sandbox and tests.

Amounts are integer zatoshi: ``amountZat``/``valueZat`` when the wallet sends them, else the ZEC decimal
parsed exactly (JSON numbers are read as ``Decimal``, never float).
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from paygo_desktop import bounded_json
from paygo_desktop.zcash.amounts import InvalidAmount, zec_to_zat
from paygo_desktop.zcash.permissions import parse_payment_memo

MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class WalletError(Exception):
    """The wallet could not be reached or answered something unusable (message is safe to log/return)."""


@dataclass(frozen=True)
class ReceivedNote:
    txid: str
    address: str
    amount_zat: int
    confirmations: int
    memo: str | None = None


class PaymentVerifier(Protocol):
    async def new_address(self, permission_id: str) -> str:
        """A fresh receiving address for one permission."""
        ...

    async def received(self, address: str, memo: str) -> list[ReceivedNote]:
        """Notes paid to ``address`` or carrying ``memo`` (any confirmations, mempool included)."""
        ...

    async def transparent_balance(self, address: str) -> int | None:
        """Confirmed balance of a transparent address, or None when this verifier cannot see it."""
        ...


def memo_text(note: dict[str, Any]) -> str | None:
    """The memo of a wallet listing entry: ``memoStr``, else the hex ``memo`` decoded (padding stripped)."""
    text = note.get("memoStr")
    if isinstance(text, str):
        return text.rstrip("\x00")
    raw = note.get("memo")
    if isinstance(raw, str):
        try:
            data = bytes.fromhex(raw).rstrip(b"\x00")
            if data[:1] == b"\xf6":  # ZIP-302: "no memo"
                return None
            return data.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def _zat(entry: dict[str, Any], zat_key: str, zec_key: str) -> int:
    value = entry.get(zat_key)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise WalletError("the wallet returned a negative amount")
        return value
    zec = entry.get(zec_key)
    if isinstance(zec, Decimal | int) and not isinstance(zec, bool):
        try:
            return zec_to_zat(zec)
        except InvalidAmount:
            raise WalletError("the wallet returned an invalid amount") from None
    raise WalletError("the wallet returned a note without an amount")


class ZalletVerifier:
    """Async JSON-RPC client for a Zallet (or zcashd-compatible) wallet."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        account: str = "0",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode() if user or password else None
        headers = {"content-type": "application/json"}
        if auth:
            headers["authorization"] = f"Basic {auth}"
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, headers=headers)
        self.url = url
        # Zallet names accounts by UUID; zcashd by ZIP-32 index.
        self.account: str | int = int(account) if account.isdigit() else account
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            resp = await self._http.post(self.url, content=json.dumps(body))
        except httpx.HTTPError as exc:
            raise WalletError(f"the Zcash wallet is unreachable ({type(exc).__name__})") from None
        if len(resp.content) > MAX_RESPONSE_BYTES:
            raise WalletError("the Zcash wallet's answer is too large")
        if resp.status_code in (401, 403):
            raise WalletError("the Zcash wallet refused the RPC credentials")
        try:
            data = bounded_json.loads(resp.content, max_bytes=MAX_RESPONSE_BYTES, parse_float=Decimal)
        except ValueError:
            raise WalletError(f"the Zcash wallet answered HTTP {resp.status_code} without JSON") from None
        if not isinstance(data, dict):
            raise WalletError("the Zcash wallet sent a malformed JSON-RPC answer")
        error = data.get("error")
        if error:
            message = error.get("message", "error") if isinstance(error, dict) else str(error)
            raise WalletError(f"{method} failed: {str(message)[:200]}")
        return data.get("result")

    # ------------------------------------------------------------------ PaymentVerifier

    async def new_address(self, permission_id: str) -> str:
        result = await self.call("z_getaddressforaccount", self.account, ["sapling", "orchard"])
        address = result.get("address") if isinstance(result, dict) else None
        if not isinstance(address, str):
            raise WalletError("z_getaddressforaccount returned no address")
        return address

    async def received(self, address: str, memo: str) -> list[ReceivedNote]:
        notes: dict[tuple[str, str, int], ReceivedNote] = {}
        wanted = parse_payment_memo(memo)
        by_address = await self.call("z_listreceivedbyaddress", address, 0)
        for entry in by_address if isinstance(by_address, list) else []:
            if not isinstance(entry, dict) or entry.get("change"):
                continue
            note = await self._note(entry, address)
            notes[(note.txid, address, int(entry.get("outindex", entry.get("outputIndex", 0)) or 0))] = note
        unspent = await self.call("z_listunspent", 0, 9999999, False)
        for entry in unspent if isinstance(unspent, list) else []:
            if not isinstance(entry, dict) or entry.get("change"):
                continue
            note = await self._note(entry, str(entry.get("address", "")))
            if note.memo is None or parse_payment_memo(note.memo) != wanted:
                continue
            key = (note.txid, note.address, int(entry.get("outindex", entry.get("outputIndex", 0)) or 0))
            notes.setdefault(key, note)
        return list(notes.values())

    async def _note(self, entry: dict[str, Any], address: str) -> ReceivedNote:
        txid = entry.get("txid")
        if not isinstance(txid, str):
            raise WalletError("the wallet returned a note without a txid")
        conf = entry.get("confirmations", 0)
        if isinstance(conf, bool) or not isinstance(conf, int) or conf < 0:
            conf = 0
        memo = memo_text(entry)
        if memo is None and "memo" not in entry and "memoStr" not in entry:
            memo = await self._memo_from_tx(txid, address)
        return ReceivedNote(
            txid=txid,
            address=address,
            amount_zat=_zat(entry, "amountZat", "amount"),
            confirmations=conf,
            memo=memo,
        )

    async def _memo_from_tx(self, txid: str, address: str) -> str | None:
        tx = await self.call("z_viewtransaction", txid)
        outputs = tx.get("outputs") if isinstance(tx, dict) else None
        for out in outputs if isinstance(outputs, list) else []:
            if isinstance(out, dict) and out.get("address") == address and not out.get("outgoing"):
                return memo_text(out)
        return None

    async def transparent_balance(self, address: str) -> int | None:
        # A wallet sees only its own addresses; a payer's balance would need an address indexer.
        return None
