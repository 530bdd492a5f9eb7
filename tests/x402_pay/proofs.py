"""An x402 payment's proof file in the proof tests: made from the wallet's record, sealed again after a part
is forged (the payer can seal anything: only the checks tell), and the checks that failed, by name."""

from __future__ import annotations

from typing import Any

from paygo_desktop.receipts.proof import proof_bytes, seal
from paygo_desktop.receipts.x402_build import x402_proof
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import X402Payment
from tests.chain.conftest import Env


def proof_of(env: Env, store: Store, payment: X402Payment) -> bytes:
    return x402_proof(store, payment.id, env.chain_id, "Test chain", env.payer)


def resealed(env: Env, body: dict[str, Any], **parts: Any) -> bytes:
    return proof_bytes(seal({**body, **parts}, env.payer))


def failed_checks(verdict: Any) -> dict[str, str]:
    return {c.name: c.detail for c in verdict.checks if c.ok is False}


def reverted_transaction(env: Env) -> str:
    """The hash of a transaction the node mined and that reverted: a USDC transfer of more than the sender
    holds (its gas given, so nothing estimates it and refuses it first)."""
    data = "0xa9059cbb" + env.payer.address[2:].lower().rjust(64, "0") + "f" * 64  # transfer(payer, 2**256-1)
    tx = env.rpc(
        "eth_sendTransaction", [{"from": env.deployer, "to": env.usdc, "data": data, "gas": hex(100_000)}]
    )
    receipt = env.run(env.w3.eth.wait_for_transaction_receipt(tx, timeout=30))  # mined, maybe a moment later
    assert int(receipt["status"]) == 0
    return str(tx)
