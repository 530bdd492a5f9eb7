"""An x402 ``upto`` payment's proof file (kind "x402-upto"), on anvil with a server built only from the
official SDK settling through the sandbox's Permit2 and upto proxy: a paid request's proof verified offline
and against the node (Permit2's nonce spent), refused after any byte of it is changed; a settled amount
forged above the maximum, or another payTo, refused offline; a proof naming another transaction, or a nonce
Permit2 never spent, failing the chain's checks with words; `receipt export --x402` writes it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from eth_account import Account

from paygo_desktop.cli import main
from paygo_desktop.receipts.proof import read_proof
from paygo_desktop.receipts.verify import verify, verify_file
from paygo_desktop.receipts.x402_upto_proof import permit_typed_data
from paygo_desktop.store.database import Store
from paygo_desktop.store.x402 import SETTLED, X402Payment
from tests.sessions.test_proof_file import changed
from tests.x402_pay.conftest import Env, pay_sdk_server
from tests.x402_pay.proofs import failed_checks, proof_of, resealed, reverted_transaction
from tests.x402_pay.test_app_pays_upto import MAX, USED

SIGNED = "The authorization is signed by its payer (Permit2's PermitWitnessTransferFrom, upto witness)"
AT_MOST = "The settled amount is at most the authorized maximum"
PAYS = "The authorization pays the server's payTo through its facilitator"
MOVED = "The token moved exactly the settled amount from the payer to payTo in it"
SETTLE_CALL = "It is x402's upto proxy settling this authorization (its nonce, payer and settled amount)"
NONCE = "Permit2 has spent this authorization's nonce (nonceBitmap)"


def _pay(env: Env, store: Store, settle: int = USED) -> X402Payment:
    """One paid GET /paid to a fresh SDK upto server quoting ``MAX`` and settling ``settle``."""
    paid = pay_sdk_server(env, store, MAX, permit2_allowance=10 * MAX, scheme="upto", settle=settle)
    assert paid is not None
    assert paid.status == 200 and paid.payment is not None and paid.payment.status == SETTLED
    assert (paid.payment.amount, paid.payment.settled_amount) == (MAX, settle)
    return paid.payment


def test_a_paid_upto_request_s_proof_is_verified_offline_and_on_chain(
    env: Env, app_store: Store, tmp_path: Path
) -> None:
    payment = _pay(env, app_store)
    proof = proof_of(env, app_store, payment)
    body = read_proof(proof)
    assert body["kind"] == "x402-upto" and body["network"] == {"chainId": env.chain_id, "name": "Test chain"}
    assert body["asset"] == {"symbol": "USDC", "decimals": 6, "address": env.usdc}
    auth = body["authorization"]
    assert auth["from"] == env.payer.address and auth["permitted"] == {"token": env.usdc, "amount": str(MAX)}
    assert auth["spender"] == "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"  # x402's upto proxy
    assert auth["witness"]["to"] == body["requirements"]["payTo"] == env.provider.address
    assert int(auth["nonce"]) == int(payment.nonce, 16) and auth["deadline"] == str(payment.valid_before)
    assert body["requirements"]["scheme"] == "upto" and body["requirements"]["amount"] == str(MAX)
    assert body["settlement"] == {"txHash": payment.tx_hash, "amount": str(USED)}

    offline = verify_file(proof)
    assert offline.ok and all(c.ok for c in offline.checks), offline.lines()
    on_chain = env.run(verify(proof, env.url))
    assert on_chain.ok and all(c.ok for c in on_chain.checks), on_chain.lines()
    assert [c.name for c in on_chain.checks[len(offline.checks) :]] == [
        "The node is on the proof's chain",
        "The settlement transaction succeeded",
        MOVED,
        SETTLE_CALL,
        NONCE,
    ]

    path = tmp_path / "upto-proof.json"
    path.write_bytes(proof)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["--data-dir", str(tmp_path / "anyone"), "receipt", "verify", str(path), "--rpc", env.url]
        )
    assert code == 0 and f"✓ {AT_MOST}: {USED} of at most {MAX} base units" in out.getvalue()

    # any byte changed anywhere: refused
    accepted = [i for i in range(len(proof)) if verify_file(changed(proof, i)).ok]
    assert accepted == [], [(i, proof[i - 30 : i + 5]) for i in accepted[:6]]


def test_forged_money_fails_offline(env: Env, app_store: Store) -> None:
    body = read_proof(proof_of(env, app_store, _pay(env, app_store)))
    auth, asked, settlement = body["authorization"], body["requirements"], body["settlement"]

    above = resealed(env, body, settlement={**settlement, "amount": str(MAX + 1)})
    verdict = verify_file(above)
    assert failed_checks(verdict) == {AT_MOST: f"{MAX + 1} of at most {MAX} base units"}

    elsewhere = resealed(env, body, requirements={**asked, "payTo": env.stranger.address})
    assert list(failed_checks(verify_file(elsewhere))) == [PAYS]
    # the witness itself names another payee: the payer never signed that
    witness = {**auth["witness"], "to": env.stranger.address}
    rerouted = resealed(
        env,
        body,
        authorization={**auth, "witness": witness},
        requirements={**asked, "payTo": env.stranger.address},
    )
    assert list(failed_checks(verify_file(rerouted))) == [SIGNED]

    larger = {**auth, "permitted": {**auth["permitted"], "amount": str(2 * MAX)}}
    raised = resealed(env, body, authorization=larger, requirements={**asked, "amount": str(2 * MAX)})
    assert list(failed_checks(verify_file(raised))) == [SIGNED]

    quoted_less = resealed(env, body, requirements={**asked, "amount": str(MAX - 1)})
    assert list(failed_checks(verify_file(quoted_less))) == [
        "The authorization's maximum is the amount the server quoted"
    ]

    spelled = resealed(env, body, settlement={**settlement, "amount": "0" + settlement["amount"]})
    assert (
        verify_file(spelled).error == "The proof's settlement amount is not a uint256 as a string of digits."
    )


def test_a_proof_naming_another_transaction_fails_on_chain_with_words(env: Env, app_store: Store) -> None:
    first = _pay(env, app_store)
    body = read_proof(proof_of(env, app_store, first))

    # another settlement of another amount: no such Transfer, and not this authorization
    other = _pay(env, app_store, settle=USED + 1)
    forged = resealed(env, body, settlement={**body["settlement"], "txHash": other.tx_hash})
    assert verify_file(forged).ok  # the payer can seal anything: only the chain tells
    verdict = env.run(verify(forged, env.url))
    assert failed_checks(verdict) == {
        MOVED: f"{other.tx_hash} moved {USED + 1}, not {USED}",
        SETTLE_CALL: f"{other.tx_hash} settles another authorization or amount",
    }

    # the same amount to the same payee, but another authorization: its input tells them apart
    again = _pay(env, app_store)
    verdict = env.run(
        verify(resealed(env, body, settlement={**body["settlement"], "txHash": again.tx_hash}), env.url)
    )
    assert list(failed_checks(verdict)) == [SETTLE_CALL]

    # a transaction the chain does not have
    nowhere = resealed(env, body, settlement={**body["settlement"], "txHash": "0x" + "ab" * 32})
    assert failed_checks(env.run(verify(nowhere, env.url))) == {
        "The settlement transaction succeeded": f"0x{'ab' * 32} is not on this chain"
    }

    # a transaction the chain has, that reverted
    reverted = reverted_transaction(env)
    failed = failed_checks(
        env.run(verify(resealed(env, body, settlement={**body["settlement"], "txHash": reverted}), env.url))
    )
    assert failed == {"The settlement transaction succeeded": f"{reverted} failed (reverted)"}


def test_an_authorization_permit2_never_spent_fails_on_chain(env: Env, app_store: Store) -> None:
    """A payer re-signing its authorization with a fresh nonce (so it passes offline) is caught by Permit2's
    bitmap: that nonce was never used."""
    body = read_proof(proof_of(env, app_store, _pay(env, app_store)))
    auth = {**body["authorization"], "nonce": str(int(body["authorization"]["nonce"]) ^ 1)}
    typed = permit_typed_data(env.chain_id, auth)
    signature = "0x" + bytes(Account.sign_typed_data(env.payer.key, full_message=typed).signature).hex()
    fresh = resealed(env, body, authorization=auth, signature=signature)
    assert verify_file(fresh).ok
    word = int(auth["nonce"]) >> 8
    assert failed_checks(env.run(verify(fresh, env.url))) == {
        SETTLE_CALL: f"{body['settlement']['txHash']} settles another authorization or amount",
        NONCE: f"word {word}: the bit is clear, the nonce is unused",
    }


def test_the_export_command_writes_an_upto_payment_s_proof(env: Env, tmp_path: Path) -> None:
    from paygo_desktop.context import AppContext
    from tests.x402_pay.test_cli import PASSWORD, _data_dir

    data = _data_dir(env, tmp_path)
    ctx = AppContext.open(data)
    try:
        payment = _pay(env, ctx.store)
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
    exported = out.read_bytes()
    assert verify_file(exported).ok and env.run(verify(exported, env.url)).ok
    assert read_proof(exported)["kind"] == "x402-upto"
