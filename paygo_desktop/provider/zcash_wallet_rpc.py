"""Zcash payment verification behind one interface, and its client for a Zallet-compatible wallet.

``PaymentVerifier`` is what the permission routes use: a fresh receiving address per permission, the notes
that may pay a permission (to its address, or anywhere in the wallet carrying the memo ``paygo:perm:<id>``;
which permission a note really credits is provider.zcash_credit's rule, not the verifier's) and, where the
verifier can see it, a transparent address's balance. Each note carries its identity: txid, pool and output
index. Two implementations:

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
    """A note the wallet received. ``(txid, pool, output_index)`` identifies it: a transaction's Sapling
    outputs and Orchard actions are numbered separately, so the pool is part of the identity."""

    txid: str
    pool: str
    output_index: int
    address: str
    amount_zat: int
    confirmations: int
    memo: str | None = None

    @property
    def identity(self) -> tuple[str, str, int]:
        return (self.txid, self.pool, self.output_index)


class PaymentVerifier(Protocol):
    async def new_address(self, permission_id: str) -> str:
        """A fresh receiving address for one permission."""
        ...

    async def received(self, address: str, memo: str) -> list[ReceivedNote]:
        """Notes paid to ``address`` or carrying ``memo`` (any confirmations, mempool included); each note
        once. Candidates only: provider.zcash_credit decides which permission a note credits."""
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


# Where a wallet listing numbers a note within its transaction, and the pool that numbering implies when
# the entry names none (zcashd: ``outindex`` Sapling, ``actionindex`` Orchard; Zallet: ``outindex`` + pool).
_INDEX_KEYS = (("actionindex", "orchard"), ("outindex", "sapling"), ("outputIndex", ""), ("output", ""))


def _index(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def note_identity(entry: dict[str, Any]) -> tuple[str, int]:
    """The pool and output index of a wallet listing entry (with its txid, the note's identity)."""
    pool = entry.get("pool")
    for key, implied in _INDEX_KEYS:
        index = _index(entry.get(key))
        if index is not None:
            return (pool if isinstance(pool, str) and pool else implied), index
    js, js_out = _index(entry.get("jsindex")), _index(entry.get("jsoutindex"))
    if js is not None and js_out is not None:  # Sprout: two outputs per JoinSplit
        return "sprout", 2 * js + js_out
    raise WalletError("the wallet returned a note without its output index")


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
        """The notes to ``address``, and the wallet's unspent notes carrying ``memo``: each note once, by
        its identity (a note in both listings, even under another address string, is one note)."""
        notes: dict[tuple[str, str, int], ReceivedNote] = {}
        wanted = parse_payment_memo(memo)
        by_address = await self.call("z_listreceivedbyaddress", address, 0)
        for entry in by_address if isinstance(by_address, list) else []:
            if not isinstance(entry, dict) or entry.get("change"):
                continue
            note = await self._note(entry, address)
            notes[note.identity] = note
        unspent = await self.call("z_listunspent", 0, 9999999, False)
        for entry in unspent if isinstance(unspent, list) else []:
            if not isinstance(entry, dict) or entry.get("change"):
                continue
            note = await self._note(entry, str(entry.get("address", "")))
            if note.memo is None or parse_payment_memo(note.memo) != wanted:
                continue
            notes.setdefault(note.identity, note)
        return list(notes.values())

    async def _note(self, entry: dict[str, Any], address: str) -> ReceivedNote:
        txid = entry.get("txid")
        if not isinstance(txid, str):
            raise WalletError("the wallet returned a note without a txid")
        conf = entry.get("confirmations", 0)
        if isinstance(conf, bool) or not isinstance(conf, int) or conf < 0:
            conf = 0
        amount = _zat(entry, "amountZat", "amount")
        pool, index = note_identity(entry)
        memo = memo_text(entry)
        if memo is None and "memo" not in entry and "memoStr" not in entry:
            memo = await self._memo_from_tx(txid, pool, index)
        return ReceivedNote(
            txid=txid,
            pool=pool,
            output_index=index,
            address=address,
            amount_zat=amount,
            confirmations=conf,
            memo=memo,
        )

    async def _memo_from_tx(self, txid: str, pool: str, index: int) -> str | None:
        """The memo of one output of ``txid``, found by its pool and index (not by address: two outputs of
        one transaction may pay the same address with different memos)."""
        tx = await self.call("z_viewtransaction", txid)
        outputs = tx.get("outputs") if isinstance(tx, dict) else None
        for out in outputs if isinstance(outputs, list) else []:
            if not isinstance(out, dict) or out.get("outgoing"):
                continue
            numbers = (_index(out.get(key)) for key in ("output", "action", "outindex", "actionindex"))
            if next((n for n in numbers if n is not None), None) != index:
                continue
            if isinstance(out.get("pool"), str) and pool and out["pool"] != pool:
                continue
            return memo_text(out)
        return None

    async def transparent_balance(self, address: str) -> int | None:
        # A wallet sees only its own addresses; a payer's balance would need an address indexer.
        return None
