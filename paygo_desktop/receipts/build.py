"""A finished session's proof file, from what the app kept of it (``receipts.proof`` describes the file).

At a session's start the engine keeps the provider's signed quote, its signing key and the channel's
parameters beside the session (``session_proof_fields``); the receipt and every voucher are kept anyway.
``session_evidence`` gathers them, ``find_claim`` finds the vault transaction that paid the provider (the
local event index first, else the chain), and ``session_proof`` puts the file together and seals it with
the payer's key (the wallet must be unlocked: the seal is a signature).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak
from sqlalchemy import select
from web3.types import RPCEndpoint

from paygo_desktop.chain.log_decoding import as_bytes, as_int
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.receipts.proof import FORMAT, VERSION, ProofError, proof_bytes, seal
from paygo_desktop.store.database import Store
from paygo_desktop.store.models import SessionRow, SessionVoucherRow
from paygo_desktop.store.vault_events import VaultEventIndex

CLAIMED = "0x" + keccak(text="Claimed(bytes32,address,address,uint128,uint128)").hex()
CLOSED = "0x" + keccak(text="Closed(bytes32,address,address,uint128,uint128)").hex()


def session_proof_fields(quote: m.Quote, provider: m.ProviderInfo, channel: Channel) -> dict[str, Any]:
    """What the session's row keeps at its start for its proof file (``SessionRow.quote`` …)."""
    return {
        "quote": quote.model_dump_json(by_alias=True),
        "signing_key": provider.signing_key,
        "channel": m.ChannelOut.from_channel(channel).model_dump_json(by_alias=True),
    }


@dataclass(frozen=True)
class SessionEvidence:
    local_id: str
    chain_id: int
    network: str
    service_name: str
    provider_name: str
    provider_url: str
    asset: dict[str, Any]
    quote: dict[str, Any]
    receipt: dict[str, Any]
    signing_key: str
    channel: dict[str, Any]
    final_voucher: dict[str, str]
    started_at: datetime
    ended_at: datetime | None

    @property
    def channel_id(self) -> str:
        return str(self.receipt["channelId"])

    @property
    def final_cumulative(self) -> int:
        return int(self.receipt["finalCumulative"])


def _utc(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_evidence(store: Store, local_id: str) -> SessionEvidence:
    """Everything the app kept for the session ``local_id``'s proof; ``ProofError`` says what is missing."""
    with store.session() as s:
        row = s.scalar(select(SessionRow).where(SessionRow.local_id == local_id))
        if row is None:
            raise ProofError("There is no such session.")
        if row.funding != "escrow":
            raise ProofError(
                "Only escrow sessions have a proof file (a Zcash session's payment is not on chain)."
            )
        if row.receipt is None:
            raise ProofError(
                "This session ended without a receipt from the provider: there is nothing to prove."
            )
        if row.quote is None or row.signing_key is None or row.channel is None:
            raise ProofError(
                "This session started before the app kept quotes for proof files: its proof cannot be made."
            )
        receipt = json.loads(row.receipt)
        final = int(receipt["finalCumulative"])
        vouchers = s.scalars(
            select(SessionVoucherRow)
            .where(SessionVoucherRow.session_id == row.id)
            .order_by(SessionVoucherRow.seq)
        ).all()
        settled = [v for v in vouchers if int(v.cumulative) == final]
        if not settled:
            raise ProofError(
                "None of this session's vouchers is for the receipt's final amount: the provider settled at "
                "a voucher this app did not sign for it, and no proof can show that."
            )
        voucher = settled[-1]
        return SessionEvidence(
            local_id=row.local_id,
            chain_id=int(row.chain_id or 0),
            network=row.network,
            service_name=row.service_name,
            provider_name=row.provider_name,
            provider_url=row.provider_url,
            asset={"symbol": row.asset_symbol, "decimals": row.decimals, "address": row.asset_address},
            quote=json.loads(row.quote),
            receipt=receipt,
            signing_key=row.signing_key,
            channel=json.loads(row.channel),
            final_voucher={"cumulativeAmount": str(final), "signature": voucher.signature.lower()},
            started_at=row.started_at,
            ended_at=row.ended_at,
        )


async def find_claim(
    w3: Any, store: Store, chain_id: int, vault: str, channel_id: str, final_cumulative: int
) -> dict[str, Any] | None:
    """The vault transaction that paid the provider at least ``final_cumulative`` on the channel (a claim
    or the cooperative close): from the local event index, else the chain's logs. None: not yet."""
    events = await asyncio.to_thread(VaultEventIndex(store).events, chain_id)
    for event in events:
        if event.channel_id != channel_id.lower() or event.vault.lower() != vault.lower():
            continue
        if event.name == "Claimed" and int(event.data.get("claimed", 0)) >= final_cumulative:
            return {"txHash": event.tx_hash, "event": "Claimed", "blockNumber": event.block_number}
        if event.name == "Closed" and int(event.data.get("provider_amount", 0)) >= final_cumulative:
            return {"txHash": event.tx_hash, "event": "Closed", "blockNumber": event.block_number}
    query = {
        "address": vault,
        "fromBlock": "0x0",
        "toBlock": "latest",
        "topics": [[CLAIMED, CLOSED], channel_id],
    }
    response = await w3.provider.make_request(RPCEndpoint("eth_getLogs"), [query])
    for entry in sorted(
        response.get("result") or [], key=lambda e: (as_int(e["blockNumber"]), as_int(e["logIndex"]))
    ):
        data = as_bytes(entry["data"])
        topic = "0x" + as_bytes(entry["topics"][0]).hex()
        total = int.from_bytes(data[32:64] if topic == CLAIMED else data[:32], "big")
        if total >= final_cumulative:
            return {
                "txHash": "0x" + as_bytes(entry["transactionHash"]).hex(),
                "event": "Claimed" if topic == CLAIMED else "Closed",
                "blockNumber": as_int(entry["blockNumber"]),
            }
    return None


def proof_body(evidence: SessionEvidence, network_name: str, claim: dict[str, Any] | None) -> dict[str, Any]:
    """The unsealed proof of the session (``receipts.proof``)."""
    channel = evidence.channel
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": "session",
        "network": {"chainId": evidence.chain_id, "name": network_name},
        "vault": evidence.quote["vault"],
        "asset": evidence.asset,
        "provider": {
            "name": evidence.provider_name,
            "url": evidence.provider_url,
            "payTo": channel["provider"],
            "signingKey": evidence.signing_key,
        },
        "channel": channel,
        "quote": evidence.quote,
        "receipt": evidence.receipt,
        "finalVoucher": evidence.final_voucher,
        "claim": claim,
        "session": {
            "localId": evidence.local_id,
            "serviceName": evidence.service_name,
            "startedAt": _utc(evidence.started_at),
            "endedAt": _utc(evidence.ended_at),
        },
    }


async def session_proof(w3: Any, store: Store, local_id: str, network_name: str, key: Any) -> bytes:
    """The sealed proof file of session ``local_id`` (``key``: the payer's unlocked account)."""
    evidence = await asyncio.to_thread(session_evidence, store, local_id)
    claim = await find_claim(
        w3, store, evidence.chain_id, evidence.quote["vault"], evidence.channel_id, evidence.final_cumulative
    )
    body = proof_body(evidence, network_name, claim)
    return proof_bytes(await asyncio.to_thread(seal, body, key))
