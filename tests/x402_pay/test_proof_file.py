"""An x402 payment's proof file, on anvil with a server built only from the official SDK: a paid request's
proof verified offline and against the node, refused after any byte of it is changed; a proof naming
another transfer's transaction, or another chain, failing the chain's checks with words; forged money
(a value the server did not ask, another payee, a value the payer did not sign) failing offline; and no
proof for a pending, failed or pre-0011 payment. `receipt export --x402` writes it from the wallet's key."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from paygo_desktop.cli import main
from paygo_desktop.receipts.proof import ProofError, read_proof
from paygo_desktop.receipts.verify import verify, verify_file
from paygo_desktop.receipts.x402_build import settled_payment, x402_proof
from paygo_desktop.receipts.x402_proof import authorization_typed_data
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import FAILED, SETTLED, X402Payment, X402Store
from tests.sessions.test_proof_file import changed
from tests.x402_pay.conftest import Env, pay_sdk_server
from tests.x402_pay.proofs import failed_checks, proof_of, resealed, reverted_transaction

PRICE = 25_000  # 0.025 USDC


def _pay(env: Env, store: Store, price: int = PRICE) -> X402Payment:
    """One paid GET /paid to a fresh SDK server asking ``price``; the settled payment."""
    paid = pay_sdk_server(env, store, price)
    assert paid is not None
    assert paid.status == 200 and paid.payment is not None and paid.payment.status == SETTLED
    return paid.payment


def test_a_paid_request_s_proof_is_verified_offline_and_on_chain(
    env: Env, app_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payment = _pay(env, app_store)
    assert payment.signature and payment.valid_after == 0 and payment.requirements
    quoted = json.loads(payment.requirements)
    assert (quoted["amount"], quoted["payTo"], quoted["scheme"]) == (
        str(PRICE),
        env.provider.address,
        "exact",
    )
    assert {k: quoted["extra"][k] for k in ("name", "version")} == {"name": "USDC", "version": "2"}
    proof = proof_of(env, app_store, payment)
    body = read_proof(proof)
    assert body["kind"] == "x402" and body["network"] == {"chainId": env.chain_id, "name": "Test chain"}
    assert body["asset"] == {
        "symbol": "USDC",
        "decimals": 6,
        "address": env.usdc,
        "domain": {"name": "USDC", "version": "2"},
    }
    assert body["request"] == {"method": "GET", "url": payment.url}
    assert body["requirements"]["payTo"] == env.provider.address
    assert body["requirements"]["amount"] == body["authorization"]["value"] == str(PRICE)
    assert body["authorization"]["from"] == env.payer.address
    assert body["settlement"] == {"txHash": payment.tx_hash}

    offline = verify_file(proof)
    assert offline.ok and all(c.ok for c in offline.checks), offline.lines()
    on_chain = env.run(verify(proof, env.url))
    assert on_chain.ok and all(c.ok for c in on_chain.checks), on_chain.lines()
    assert [c.name for c in on_chain.checks[len(offline.checks) :]] == [
        "The node is on the proof's chain",
        "The token's EIP-712 domain on chain is the proof's",
        "The settlement transaction succeeded",
        "The token used this authorization in it (AuthorizationUsed for the payer's nonce)",
        "The token moved exactly the authorized value from the payer to payTo in it",
    ]

    path = tmp_path / "x402-proof.json"
    path.write_bytes(proof)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["--data-dir", str(tmp_path / "anyone"), "receipt", "verify", str(path), "--rpc", env.url]
        )
    assert code == 0 and "✓ The authorization's value is the amount the server asked" in out.getvalue()

    # the signature is kept and exported, never logged
    assert payment.signature[2:] not in caplog.text

    # any byte changed anywhere: refused
    accepted = [i for i in range(len(proof)) if verify_file(changed(proof, i)).ok]
    assert accepted == [], [(i, proof[i - 30 : i + 5]) for i in accepted[:6]]


def test_a_proof_naming_another_transfer_fails_on_chain_with_words(env: Env, app_store: Store) -> None:
    first = _pay(env, app_store)
    other = _pay(env, app_store, price=2 * PRICE)
    body = read_proof(proof_of(env, app_store, first))
    forged = resealed(env, body, settlement={"txHash": other.tx_hash})
    assert verify_file(forged).ok  # the payer can seal anything: only the chain tells
    verdict = env.run(verify(forged, env.url))
    failed = failed_checks(verdict)
    assert not verdict.ok
    assert failed == {
        "The token used this authorization in it (AuthorizationUsed for the payer's nonce)": (
            f"{other.tx_hash} used no authorization {first.nonce}"
        ),
        "The token moved exactly the authorized value from the payer to payTo in it": (
            f"{other.tx_hash} has no such Transfer"
        ),
    }

    # the same transfer's amount, but another authorization: the nonce tells them apart
    again = _pay(env, app_store)
    verdict = env.run(verify(resealed(env, body, settlement={"txHash": again.tx_hash}), env.url))
    assert list(failed_checks(verdict)) == [
        "The token used this authorization in it (AuthorizationUsed for the payer's nonce)"
    ]

    # a transaction the chain does not have
    nowhere = resealed(env, body, settlement={"txHash": "0x" + "ab" * 32})
    assert failed_checks(env.run(verify(nowhere, env.url))) == {
        "The settlement transaction succeeded": f"0x{'ab' * 32} is not on this chain"
    }

    # a transaction the chain has, that reverted
    reverted = reverted_transaction(env)
    failed = failed_checks(env.run(verify(resealed(env, body, settlement={"txHash": reverted}), env.url)))
    assert failed == {"The settlement transaction succeeded": f"{reverted} failed (reverted)"}


def test_a_proof_for_another_chain_fails_on_this_node(env: Env, app_store: Store) -> None:
    body = read_proof(proof_of(env, app_store, _pay(env, app_store)))
    chain = env.chain_id + 1
    typed = authorization_typed_data(chain, env.usdc, body["asset"]["domain"], body["authorization"])
    signature = "0x" + bytes(Account.sign_typed_data(env.payer.key, full_message=typed).signature).hex()
    other_chain = resealed(env, body, network={"chainId": chain, "name": "Elsewhere"}, signature=signature)
    assert verify_file(other_chain).ok  # a well-formed proof of a payment on another chain
    verdict = env.run(verify(other_chain, env.url))
    assert failed_checks(verdict) == {"The node is on the proof's chain": f"chain id {env.chain_id}"}
    # and the authorization signed for this chain does not pass for another's
    moved = verify_file(resealed(env, body, network={"chainId": chain, "name": "Elsewhere"}))
    assert list(failed_checks(moved)) == [
        "The authorization is signed by its payer (EIP-3009, under the token's EIP-712 domain)"
    ]


def test_forged_money_fails_offline(env: Env, app_store: Store) -> None:
    body = read_proof(proof_of(env, app_store, _pay(env, app_store)))
    auth, asked = body["authorization"], body["requirements"]

    cheaper = resealed(env, body, requirements={**asked, "amount": str(PRICE - 1)})
    assert list(failed_checks(verify_file(cheaper))) == [
        "The authorization's value is the amount the server asked"
    ]

    elsewhere = resealed(env, body, requirements={**asked, "payTo": env.stranger.address})
    assert list(failed_checks(verify_file(elsewhere))) == ["The authorization pays the server's payTo"]

    more = str(2 * PRICE)
    inflated = resealed(
        env, body, authorization={**auth, "value": more}, requirements={**asked, "amount": more}
    )
    assert list(failed_checks(verify_file(inflated))) == [
        "The authorization is signed by its payer (EIP-3009, under the token's EIP-712 domain)"
    ]

    other_domain = resealed(
        env, body, asset={**body["asset"], "domain": {"name": "USD Coin", "version": "2"}}
    )
    assert not verify_file(other_domain).ok

    spelled = resealed(env, body, authorization={**auth, "to": auth["to"].lower()})
    assert verify_file(spelled).error == "The proof's authorization to is not a checksummed address."


def _unsettled(store: Store, env: Env, **kw: Any) -> int:
    fields: dict[str, Any] = {
        "id": 0,
        "created_at": datetime.now(UTC),
        "origin": "https://api.example.com",
        "url": "https://api.example.com/v1",
        "method": "GET",
        "scheme": "exact",
        "network": f"eip155:{env.chain_id}",
        "payer": env.payer.address,
        "pay_to": env.provider.address,
        "asset": env.usdc,
        "asset_symbol": "USDC",
        "decimals": 6,
        "amount": PRICE,
        "nonce": "0x" + "33" * 32,
        "valid_before": 2_000_000_000,
        "status": "pending",
        "tx_hash": None,
        "error": None,
        "settled_at": None,
    }
    return X402Store(store).record(X402Payment(**{**fields, **kw}))


def test_no_proof_for_a_pending_failed_or_unknown_payment(env: Env, app_store: Store) -> None:
    pending = _unsettled(app_store, env, valid_after=0, signature="0x" + "11" * 65, requirements="{}")
    with pytest.raises(ProofError, match=f"x402 payment {pending} is not settled"):
        settled_payment(app_store, pending)
    failed = _unsettled(app_store, env, valid_after=0, signature="0x" + "11" * 65, requirements="{}")
    X402Store(app_store).finish(failed, FAILED, error="invalid_exact_evm_payload_signature")
    with pytest.raises(
        ProofError,
        match=r"failed \(invalid_exact_evm_payload_signature\): the server named no transaction that moved",
    ):
        settled_payment(app_store, failed)
    with pytest.raises(ProofError, match="This app has no x402 payment 999"):
        settled_payment(app_store, 999)
    silent = _unsettled(app_store, env, valid_after=0, signature="0x" + "11" * 65, requirements="{}")
    X402Store(app_store).finish(silent, SETTLED)
    with pytest.raises(ProofError, match=f"said x402 payment {silent} settled but named no transaction"):
        settled_payment(app_store, silent)
    other_scheme = _unsettled(
        app_store, env, scheme="deferred", valid_after=0, signature="0x" + "11" * 65, requirements="{}"
    )
    X402Store(app_store).finish(other_scheme, SETTLED, tx_hash="0x" + "44" * 32)
    with pytest.raises(ProofError, match="paid with the deferred scheme: only exact and upto payments"):
        settled_payment(app_store, other_scheme)
    # an upto payment whose settlement the chain could not tell: its proof could not name the amount
    unknown = _unsettled(
        app_store, env, scheme="upto", valid_after=0, signature="0x" + "11" * 65, requirements="{}"
    )
    X402Store(app_store).finish(unknown, SETTLED, tx_hash="0x" + "44" * 32)
    with pytest.raises(ProofError, match=f"It is not known what x402 payment {unknown} settled"):
        settled_payment(app_store, unknown)


def test_a_payment_recorded_before_migration_0011_has_no_proof(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = Store.open(path, upgrade=False)
    old.upgrade_to("0010")
    old.close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO x402_payments (created_at, origin, url, method, scheme, network, payer, pay_to, "
            "asset, asset_symbol, decimals, amount, nonce, valid_before, status, tx_hash) VALUES "
            "('2026-11-01 10:00:00', 'https://api.example.com', 'https://api.example.com/v1', 'GET', "
            f"'exact', 'eip155:{env.chain_id}', '{env.payer.address}', '{env.provider.address}', "
            f"'{env.usdc}', 'USDC', 6, '25000', '0x{'33' * 32}', 2000000000, 'settled', '0x{'44' * 32}')"
        )
    store = Store.open(path)  # upgraded to 0011: the old payment has no signature
    try:
        [payment] = X402Store(store).payments()
        assert payment.status == SETTLED and payment.signature is None
        with pytest.raises(ProofError, match="made before this app kept the signed authorization"):
            x402_proof(store, payment.id, env.chain_id, "Test chain", env.payer)
    finally:
        store.close()


def test_the_export_command_writes_a_payment_s_proof(env: Env, tmp_path: Path) -> None:
    from paygo_desktop.context import AppContext
    from tests.x402_pay.test_cli import PASSWORD, _data_dir

    data = _data_dir(env, tmp_path)
    ctx = AppContext.open(data)
    try:
        payment = _pay(env, ctx.store)
        pending = _unsettled(ctx.store, env)
    finally:
        ctx.close()
    password = tmp_path / "pw"
    password.write_text(PASSWORD)
    out = tmp_path / "exported.json"
    argv = [
        "--data-dir",
        str(data.root),
        "receipt",
        "export",
        "--out",
        str(out),
        "--password-file",
        str(password),
    ]
    assert main([*argv, "--x402", str(payment.id)]) == 0
    assert verify_file(out.read_bytes()).ok and read_proof(out.read_bytes())["settlement"] == {
        "txHash": payment.tx_hash
    }
    assert json.loads(out.read_bytes())["kind"] == "x402"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main([*argv, "--x402", str(pending)]) == 2
    assert f"x402 payment {pending} is not settled" in err.getvalue()


def test_the_kept_quote_names_the_domain_signed_under_and_stays_bounded() -> None:
    from x402.schemas import PaymentRequirements

    from paygo_desktop.store.x402 import MAX_QUOTE
    from paygo_desktop.x402.payer import quoted_requirements

    base_sepolia_usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    quote = PaymentRequirements(
        scheme="exact",
        network="eip155:84532",
        asset=base_sepolia_usdc,
        amount="1000",
        pay_to="0x" + "22" * 20,
        max_timeout_seconds=60,
    )
    # the server named no domain: the one the SDK signs under for this asset (its default assets)
    assert json.loads(quoted_requirements(quote))["extra"] == {"name": "USDC", "version": "2"}
    # a quote too large to keep in full keeps the domain, and the rest of the requirements
    quote.extra = {"name": "USDC", "version": "2", "padding": "x" * MAX_QUOTE}
    kept = quoted_requirements(quote)
    assert len(kept) < MAX_QUOTE
    assert json.loads(kept) == {
        "scheme": "exact",
        "network": "eip155:84532",
        "asset": base_sepolia_usdc,
        "amount": "1000",
        "payTo": "0x" + "22" * 20,
        "maxTimeoutSeconds": 60,
        "extra": {"name": "USDC", "version": "2"},
    }
