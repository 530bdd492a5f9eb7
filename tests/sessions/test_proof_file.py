"""A finished session's proof file: made from what the app kept, verified offline and against anvil
(`paygo-desktop receipt verify FILE --rpc URL`), and refused after any one of its bytes is changed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from paygo_desktop.cli import main
from paygo_desktop.protocol.client import ProviderClient
from paygo_desktop.receipts.build import session_proof
from paygo_desktop.receipts.proof import ProofError, proof_bytes, read_proof, seal
from paygo_desktop.receipts.verify import verify, verify_file
from paygo_desktop.sessions.plan import StartOptions
from tests.sessions.conftest import PASSWORD, World, run, until

SVC, TICK, RATE = "market-data-feed", 5, 1000
USDC = 10**6


def finished_session(world: World, *, claim: bool) -> tuple[str, bytes]:
    """A session run and stopped; its proof file (made after the provider's claim when ``claim``)."""

    async def scenario() -> tuple[str, bytes]:
        engine = world.engine()
        plan = await engine.plan(world.provider.url, SVC)
        live = await engine.start(plan, StartOptions("escrow", budget=USDC, deposit=USDC))
        await world.advance(TICK)
        await until(lambda: live.acked == 2 * TICK * RATE, what="voucher 2")
        await world.advance(2)
        summary = await engine.stop(live.local_id)
        assert summary.receipt_ok
        if claim:
            async with ProviderClient(world.provider.url) as client:
                assert (await client.claim_now(world.provider.key)).tx_hash is not None
        proof = await session_proof(world.env.w3, world.store, live.local_id, "Test chain", world.env.payer)
        return live.local_id, proof

    return run(world.env, scenario)  # type: ignore[no-any-return]


def test_a_proof_is_verified_offline_and_on_chain(world: World, tmp_path: Path) -> None:
    _local_id, proof = finished_session(world, claim=True)
    body = read_proof(proof)
    assert body["kind"] == "session" and body["claim"]["event"] == "Claimed"
    assert body["receipt"]["amount"] == str(7 * RATE) and body["finalVoucher"]["cumulativeAmount"] == str(
        7 * RATE
    )
    assert proof.endswith(b"}\n") and proof.count(b"\n") == 1
    offline = verify_file(proof)
    assert offline.ok, offline.lines()
    assert [c.ok for c in offline.checks] == [True] * len(offline.checks)
    on_chain = world.env.run(verify(proof, world.env.url))
    assert on_chain.ok, on_chain.lines()
    named = {c.name: c for c in on_chain.checks}
    assert named["The vault accepts the final voucher"].ok is True
    assert named["The provider was paid on chain for this session"].ok is True
    assert "claimed in 0x" in named["The provider was paid on chain for this session"].detail
    # the command line, as anyone would run it
    path = tmp_path / "proof.json"
    path.write_bytes(proof)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["--data-dir", str(tmp_path / "anyone"), "receipt", "verify", str(path), "--rpc", world.env.url]
        )
    assert code == 0, out.getvalue()
    assert "✓ The receipt is signed by the provider's signing key" in out.getvalue()
    assert out.getvalue().strip().splitlines()[-1].startswith("Verified: all")


def test_a_proof_before_the_claim_says_so_and_a_later_check_sees_the_claim(world: World) -> None:
    _local_id, proof = finished_session(world, claim=False)
    assert read_proof(proof)["claim"] is None
    before = world.env.run(verify(proof, world.env.url))
    assert before.ok  # not claimed yet is said, not a failure
    paid = next(c for c in before.checks if c.name == "The provider was paid on chain for this session")
    assert paid.ok is None and "not claimed yet" in paid.detail

    async def claim() -> None:
        async with ProviderClient(world.provider.url) as client:
            await client.claim_now(world.provider.key)

    run(world.env, claim)
    after = world.env.run(verify(proof, world.env.url))
    paid = next(c for c in after.checks if c.name == "The provider was paid on chain for this session")
    assert paid.ok is True and "since the proof was made" in paid.detail


def changed(data: bytes, i: int) -> bytes:
    """``data`` with byte ``i`` replaced by another that keeps it plausible (a hex digit by a hex digit,
    a letter by a letter, anything else by a space, a space by an underscore)."""
    c = chr(data[i])
    if c in "0123456789abcdef":
        new = "0123456789abcdef"[("0123456789abcdef".index(c) + 1) % 16]
    elif c.isalpha():
        new = chr(ord("a") + (ord(c.lower()) - ord("a") + 1) % 26)
        new = new.upper() if c.isupper() else new
    else:
        new = "_" if c == " " else " "
    assert new != c
    return data[:i] + new.encode() + data[i + 1 :]


def test_any_changed_byte_is_refused(world: World) -> None:
    _, proof = finished_session(world, claim=True)
    assert verify_file(proof).ok
    accepted = [i for i in range(len(proof)) if verify_file(changed(proof, i)).ok]
    assert accepted == [], [(i, proof[i - 30 : i + 5]) for i in accepted[:6]]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.replace(b"}\n", b"}\r\n"),  # a line end an editor may write
        lambda p: p + b"\n",  # a trailing blank line
        lambda p: p.rstrip(b"\n"),  # no final newline
        lambda p: p.replace(b'":', b'": ', 1),  # whitespace inside
        lambda p: b" " + p,  # whitespace before
        lambda p: json.dumps(json.loads(p), indent=2).encode() + b"\n",  # pretty-printed
        lambda p: p[:-2] + b',"extra":1}\n',  # a field added
    ],
)
def test_whitespace_and_layout_changes_are_refused_too(world: World, tamper: Any) -> None:
    _, proof = finished_session(world, claim=False)
    verdict = verify_file(tamper(proof))
    assert not verdict.ok and verdict.error is not None


def test_a_proof_with_a_forged_amount_resealed_by_someone_else_fails_the_seal(world: World) -> None:
    from tests.chain.conftest import make_account

    _, proof = finished_session(world, claim=False)
    body = read_proof(proof)
    body["receipt"]["amount"] = str(int(body["receipt"]["amount"]) + 1)
    forged = proof_bytes(seal(body, make_account("forger")))
    verdict = verify_file(forged)
    failed = [c.name for c in verdict.checks if c.ok is False]
    assert "The receipt is signed by the provider's signing key" in failed
    assert "The whole file is sealed by the payer (any changed byte breaks this)" in failed


def test_files_that_are_no_proof_get_one_clear_line(tmp_path: Path) -> None:
    for data, message in [
        (b"", "not JSON"),
        (b"[1]\n", "no JSON object"),
        (b'{"format":"x"}\n', "not a PayGo proof"),
        (b'{"format":"paygo-proof","version":2}\n', "version 2"),
        (b'{"format":"paygo-proof","kind":"coupon","version":1}\n', "cannot check proofs of kind “coupon”"),
        (b'{"format":"paygo-proof","kind":"job","version":1}\n', "not a job proof's"),
        (b'{"format":"paygo-proof","kind":"x402","version":1}\n', "not an x402 payment's"),
        (b"[" * 100_000, "at most"),
    ]:
        verdict = verify_file(data)
        assert not verdict.ok and message in (verdict.error or ""), (data[:40], verdict.error)
    with pytest.raises(ProofError):
        read_proof(b'{"format":"paygo-proof","version":1}')
    path = tmp_path / "not-a-proof.json"
    path.write_bytes(b"hello")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--data-dir", str(tmp_path / "d"), "receipt", "verify", str(path)]) == 1
    assert out.getvalue().startswith("✗ This file is not a proof")


def test_the_export_command_writes_the_sealed_proof(world: World, tmp_path: Path) -> None:
    from paygo_desktop.settings import Settings
    from paygo_desktop.store.networks import NetworkRepository

    local_id, _ = finished_session(world, claim=False)
    data_dir = world.store.path.parent
    NetworkRepository(world.store).save_custom(world.network)
    settings = Settings.load(data_dir / "settings.json")
    settings.network = world.network.key
    settings.save()
    password = tmp_path / "pw"
    password.write_text(PASSWORD)
    out = tmp_path / "exported.json"
    argv = ["--data-dir", str(data_dir), "receipt", "export", "--session", local_id, "--out", str(out)]
    assert main([*argv, "--password-file", str(password)]) == 0
    assert verify_file(out.read_bytes()).ok
    assert (
        main(
            [*argv[:-4], "--session", "no-such-session", "--out", str(out), "--password-file", str(password)]
        )
        == 2
    )
