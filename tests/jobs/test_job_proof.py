"""A job's proof file, on anvil with the real provider: an approved job's proof verified offline and
against the chain (PayGoJobs' code, the status and delivery on chain, the approval's transaction), refused
after any byte of it is changed, a refunded job's proof naming no delivery, no proof for a job still open,
and `paygo-desktop receipt export --job` writing it from the wallet's key."""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import pytest

from paygo_desktop.cli import main
from paygo_desktop.jobs.proof_file import job_proof
from paygo_desktop.receipts.proof import ProofError, read_proof
from paygo_desktop.receipts.verify import verify, verify_file
from tests.jobs.conftest import DAY, World
from tests.jobs.test_jobs_flow import FILE, _deliver, _funded_and_accepted
from tests.sessions.test_proof_file import changed


def _approved(world: World) -> str:
    job_id = _funded_and_accepted(world)
    _deliver(world, job_id)
    assert world.send(world.env.run(world.service.plan_approve(job_id))).state.phase == "done"
    return job_id


def _proof(world: World, job_id: str) -> bytes:
    return world.env.run(job_proof(world.env.w3, world.store, job_id, "Test chain", world.client))


def test_an_approved_job_s_proof_is_verified_offline_and_on_chain(world: World, tmp_path: Path) -> None:
    job_id = _approved(world)
    proof = _proof(world, job_id)
    body = read_proof(proof)
    assert body["kind"] == "job" and body["jobId"] == job_id and body["contract"] == world.jobs.address
    assert body["delivery"] == "0x" + hashlib.sha256(FILE).hexdigest()
    assert body["outcome"]["event"] == "approved" and body["job"]["client"] == world.client.address
    offline = verify_file(proof)
    assert offline.ok and all(c.ok for c in offline.checks), offline.lines()
    on_chain = world.env.run(verify(proof, world.env.url))
    assert on_chain.ok, on_chain.lines()
    named = {c.name: c for c in on_chain.checks}
    for name in (
        "The contract holds PayGoJobs' code",
        "The job's status on chain is the proof's outcome",
        "The delivery on chain is the proof's",
        "The outcome transaction paid this job out",
    ):
        assert named[name].ok is True, on_chain.lines()
    path = tmp_path / "job-proof.json"
    path.write_bytes(proof)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        argv = ["receipt", "verify", str(path), "--rpc", world.env.url]
        code = main(["--data-dir", str(tmp_path / "anyone"), *argv])
    assert code == 0 and "✓ The job id is the hash of its terms" in out.getvalue(), out.getvalue()

    # any byte changed anywhere: refused
    accepted = [i for i in range(len(proof)) if verify_file(changed(proof, i)).ok]
    assert accepted == [], [(i, proof[i - 30 : i + 5]) for i in accepted[:6]]


def test_a_proof_whose_outcome_the_chain_contradicts_is_refused_with_a_node(world: World) -> None:
    from paygo_desktop.receipts.proof import proof_bytes, seal

    job_id = _approved(world)
    body = read_proof(_proof(world, job_id))
    forged = seal({**body, "outcome": {**body["outcome"], "event": "released"}}, world.client)
    data = proof_bytes(forged)
    assert verify_file(data).ok  # the client can seal anything: only the chain tells
    verdict = world.env.run(verify(data, world.env.url))
    failed = {c.name for c in verdict.checks if c.ok is False}
    assert not verdict.ok and "The job's status on chain is the proof's outcome" in failed


def test_a_refunded_job_has_a_proof_and_an_open_one_none(world: World) -> None:
    env, service = world.env, world.service
    job_id = _funded_and_accepted(world)
    with pytest.raises(ProofError, match="funded on chain"):
        _proof(world, job_id)
    env.advance(2 * DAY + 1)
    assert world.send(env.run(service.plan_refund(job_id))).state.phase == "done"
    proof = _proof(world, job_id)
    body = read_proof(proof)
    assert body["outcome"]["event"] == "refunded" and body["delivery"] is None
    verdict = env.run(verify(proof, env.url))
    assert verdict.ok, verdict.lines()


def test_the_export_command_writes_a_job_s_proof(world: World, tmp_path: Path) -> None:
    from paygo_desktop.context import AppContext
    from paygo_desktop.jobs.records import JobRepository
    from paygo_desktop.paths import DataDir
    from paygo_desktop.wallet import KdfParams, Wallet
    from tests.sessions.conftest import anvil_network

    job_id = _approved(world)
    data = DataDir(tmp_path / "data").ensure()
    ctx = AppContext.open(data)
    try:
        Wallet(data.wallet_dir, ctx.accounts, kdf=KdfParams(n=2**4)).import_private_key(
            "0x" + bytes(world.client.key).hex(), "pw-for-the-test", "Client"
        )
        network = anvil_network(world.env)
        ctx.networks.save_custom(network)
        ctx.settings.network = network.key
        ctx.settings.save()
        record = JobRepository(world.store).get(job_id)
        assert record is not None
        JobRepository(ctx.store).add(record)
    finally:
        ctx.close()
    password = tmp_path / "pw"
    password.write_text("pw-for-the-test")
    out = tmp_path / "exported.json"
    argv = ["--data-dir", str(data.root), "receipt", "export", "--job", job_id, "--out", str(out)]
    assert main([*argv, "--password-file", str(password)]) == 0
    assert verify_file(out.read_bytes()).ok and read_proof(out.read_bytes())["jobId"] == job_id
    unknown = ["--data-dir", str(data.root), "receipt", "export", "--job", "0x" + "0" * 64, "--out", str(out)]
    assert main([*unknown, "--password-file", str(password)]) == 2
