"""What only the chain can say about a session's proof file: checked with a node the user names (a job's
proof: ``receipts.job_chain_check``; an x402 payment's: ``receipts.x402_chain_check``).

* The node is the proof's chain (its chain id).
* The vault has PayGo's vault code (``chain.code_check``): the voucher's promise is that vault's rules.
* The vault itself accepts the final voucher (``voucherIsValid``: ECDSA and ERC-1271 wallets alike).
* The claim transaction succeeded, was sent to this vault, and its logs pay this channel's provider at
  least the receipt's final cumulative (a ``Claimed`` total or a ``Closed`` provider amount). A proof
  made before any claim says so; the chain is then asked whether the channel has been paid since.
* The provider's signing key is the one PayGo's registry lists for its payTo, when it is registered
  (a provider found only by its URL is not listed there: said, not failed).
"""

from __future__ import annotations

from typing import Any

from paygo_desktop.chain.log_decoding import as_bytes
from paygo_desktop.chain.vouchers import Channel
from paygo_desktop.protocol import models as m
from paygo_desktop.receipts.build import CLAIMED, CLOSED
from paygo_desktop.receipts.proof import Check


async def chain_checks(w3: Any, body: dict[str, Any], *, registry: str | None) -> list[Check]:
    from paygo_desktop.chain.code_check import check_vault
    from paygo_desktop.chain.vault import VaultClient

    if body.get("kind") == "job":
        from paygo_desktop.receipts.job_chain_check import job_chain_checks

        return await job_chain_checks(w3, body)
    if body.get("kind") == "x402":
        from paygo_desktop.receipts.x402_chain_check import x402_chain_checks

        return await x402_chain_checks(w3, body)

    channel: Channel = m.ChannelOut.model_validate(body["channel"]).to_channel()
    final = int(body["receipt"]["finalCumulative"])
    vault_address = str(body["vault"])
    chain_id = int(await w3.eth.chain_id)
    wanted = int(body["network"]["chainId"])
    checks = [Check("The node is on the proof's chain", chain_id == wanted, f"chain id {chain_id}")]
    if chain_id != wanted:
        return checks
    try:
        await check_vault(w3, vault_address, where=f"chain {chain_id}")
        checks.append(Check("The vault holds PayGo's vault code", True, vault_address))
    except Exception as exc:
        checks.append(Check("The vault holds PayGo's vault code", False, str(exc)[:200]))
        return checks
    vault = VaultClient(w3, vault_address)
    voucher = body["finalVoucher"]
    valid = await vault.voucher_is_valid(channel, final, bytes.fromhex(voucher["signature"][2:]))
    checks.append(Check("The vault accepts the final voucher", bool(valid), f"{final} base units"))
    checks.append(await _claim_check(w3, vault, channel, body.get("claim"), final))
    checks.append(await _registry_check(w3, registry, channel.provider, body["provider"]["signingKey"]))
    return checks


async def _claim_check(w3: Any, vault: Any, channel: Channel, claim: Any, final: int) -> Check:
    name = "The provider was paid on chain for this session"
    cid = "0x" + channel.id.hex()
    if not isinstance(claim, dict):
        state = await vault.channel_state(channel)
        if state.claimed >= final:
            return Check(name, True, f"claimed {state.claimed} base units since the proof was made")
        return Check(name, None, "not claimed yet: the provider has not taken this voucher to the vault")
    receipt = await w3.eth.get_transaction_receipt(claim["txHash"])
    if receipt is None or int(receipt["status"]) != 1 or str(receipt["to"]).lower() != vault.address.lower():
        return Check(name, False, f"{claim['txHash']} is not a successful transaction to the vault")
    for entry in receipt["logs"]:
        topics = ["0x" + as_bytes(t).hex() for t in entry["topics"]]
        if str(entry["address"]).lower() != vault.address.lower() or len(topics) < 2 or topics[1] != cid:
            continue
        data = as_bytes(entry["data"])
        if topics[0] == CLAIMED and int.from_bytes(data[32:64], "big") >= final:
            return Check(name, True, f"claimed in {claim['txHash']}")
        if topics[0] == CLOSED and int.from_bytes(data[:32], "big") >= final:
            return Check(name, True, f"settled by the close in {claim['txHash']}")
    return Check(name, False, f"{claim['txHash']} does not pay this channel's provider that much")


async def _registry_check(w3: Any, registry: str | None, provider: str, signing_key: str) -> Check:
    name = "PayGo's registry lists this signing key for the provider"
    if registry is None:
        return Check(name, None, "no registry on this chain")
    from paygo_desktop.chain.create2 import code_at
    from paygo_desktop.chain.registry import RegistryClient

    if not await code_at(w3, registry):
        return Check(name, None, "no registry on this chain")
    entry = await RegistryClient(w3, registry).registration(provider)
    if entry is None:
        return Check(name, None, "the provider is not registered: its key is the one it showed the app")
    return Check(name, entry[2] == signing_key, f"registered key {entry[2]}")
