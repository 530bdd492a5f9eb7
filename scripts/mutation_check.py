"""Prove the contract tests catch real money bugs: plant each known bug in a scratch copy of a contract
(PayGoVault.sol, PayGoJobs.sol), build it with solc, run that contract's tests against it, and expect them
to fail.

    python scripts/mutation_check.py                 # every mutant of every contract (unmodified first)
    python scripts/mutation_check.py --contract jobs # only PayGoJobs's (or vault)
    python scripts/mutation_check.py --list          # the mutants' names
    python scripts/mutation_check.py NAME ...        # only these
    python scripts/mutation_check.py --contract vault --tests tests/chain/test_vault_invariants.py
                                                     # what one file catches

The unmodified source is built and tested first the same way: it must pass, else the check proves nothing.
Each mutant is one exact text replacement (the script stops if its text is not found exactly once, so a
change to the contract cannot silently void a mutant). The tests deploy the scratch build through
``PAYGO_VAULT_ARTIFACT`` (tests/chain/conftest.py) or ``PAYGO_JOBS_ARTIFACT`` (tests/chain/jobs_support.py).
Exit status 0 only if the unmodified sources pass and every mutant makes its suite fail. ``make mutation``
runs it; docs/contract.md lists the mutants and the time the whole check takes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str  # the bug, in words
    find: str
    replace: str


VAULT_MUTANTS = [
    Mutant(
        "provider-only close",
        "closeCooperative no longer checks the signer's voucher: the provider's own Close takes the escrow",
        "        if (!_isValidSignature(signer, _voucherHash(id, finalAmount), signerSignature)) revert "
        "InvalidSignature();\n",
        "",
    ),
    Mutant(
        "claim capped at deposited",
        "a claim is capped at everything ever deposited instead of the balance still held",
        "        uint128 balance = s.balance;\n        uint128 target = cumulativeAmount",
        "        uint128 balance = s.deposited;\n        uint128 target = cumulativeAmount",
    ),
    Mutant(
        "finalize ignores claimed",
        "finalizeWithdraw pays the pending amount out of the balance, ignoring what the provider claimed",
        "uint128 free = s.balance - s.claimed;",
        "uint128 free = s.balance;",
    ),
    Mutant(
        "fund a closed channel",
        "fund accepts a deposit into a closed channel (an old voucher then reaches it)",
        "        if (s.closed) revert ChannelClosed();\n        uint128 deposited = s.deposited;",
        "        uint128 deposited = s.deposited;",
    ),
    Mutant(
        "close deadline not checked",
        "closeCooperative accepts a Close after its deadline",
        "        if (block.timestamp > deadline) revert CloseExpired(deadline);\n",
        "",
    ),
    Mutant(
        "close twice",
        "a closed channel can be closed again",
        "        if (s.closed) revert ChannelClosed();\n        _checkClose(",
        "        _checkClose(",
    ),
    Mutant(
        "payer-only close",
        "closeCooperative no longer checks the provider's Close: the payer settles at zero alone",
        "        if (!_isValidSignature(ch.provider, _closeHash(id, finalAmount, deadline), "
        "providerSignature)) {\n            revert InvalidSignature();\n        }\n",
        "",
    ),
    Mutant(
        "close pays beyond the escrow",
        "a close pays the provider finalAmount without capping it at the balance",
        "        uint128 target = finalAmount < balance ? finalAmount : balance;",
        "        uint128 target = finalAmount;",
    ),
    Mutant(
        "claim does not record",
        "a claim pays without recording it: the same voucher (or a duplicate batch entry) pays again",
        "        s.claimed = target;\n        emit Claimed",
        "        emit Claimed",
    ),
    Mutant(
        "withdraw delay unbounded",
        "fund accepts a withdrawDelay above 30 days",
        "        if (delay > MAX_WITHDRAW_DELAY) revert WithdrawDelayTooLong(delay, MAX_WITHDRAW_DELAY);\n",
        "",
    ),
    Mutant(
        "withdraw on a closed channel",
        "requestWithdraw is accepted on a closed channel",
        "        if (s.closed) revert ChannelClosed();\n        uint64 readyAt",
        "        uint64 readyAt",
    ),
]


JOBS_MUTANTS = [
    Mutant(
        "approval by a stranger",
        "approve no longer checks that the client sends it: anyone pays the worker out of the client's price",
        "    function approve(Job calldata job, bytes32 delivery) external nonReentrant {\n"
        "        if (msg.sender != job.client) revert NotClient();\n",
        "    function approve(Job calldata job, bytes32 delivery) external nonReentrant {\n",
    ),
    Mutant(
        "double payout",
        "approve pays without ending the job: it can be approved again, refunded or cancelled after it",
        "        s.status = Status.Approved;\n",
        "",
    ),
    Mutant(
        "refund after approval",
        "refund no longer checks the job is still funded: a paid (or delivered) job is refunded as well",
        "        if (s.status != Status.Funded) revert WrongStatus(s.status);\n"
        "        if (block.timestamp <= job.deadline)",
        "        if (block.timestamp <= job.deadline)",
    ),
    Mutant(
        "refund of a delivered job",
        "refund accepts a delivered job after its deadline: the client keeps the work and takes the price "
        "back",
        "        if (s.status != Status.Funded) revert WrongStatus(s.status);\n"
        "        if (block.timestamp <= job.deadline)",
        "        if (s.status != Status.Funded && s.status != Status.Delivered) "
        "revert WrongStatus(s.status);\n"
        "        if (block.timestamp <= job.deadline)",
    ),
    Mutant(
        "refund before the deadline",
        "refund does not wait for the deadline: the client takes the price back while the worker works",
        "        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(job.deadline);\n",
        "",
    ),
    Mutant(
        "release one second early",
        "release is allowed at the review window's last second (< instead of <=)",
        "        if (block.timestamp <= endsAt) revert ReviewNotOver(endsAt);\n",
        "        if (block.timestamp < endsAt) revert ReviewNotOver(endsAt);\n",
    ),
    Mutant(
        "release without a delivery",
        "release pays the worker for a job that was funded but never delivered",
        "        if (s.status != Status.Delivered) revert WrongStatus(s.status);\n",
        "        if (s.status != Status.Delivered && s.status != Status.Funded) "
        "revert WrongStatus(s.status);\n",
    ),
    Mutant(
        "late delivery",
        "deliver accepts a delivery after the deadline (which then blocks the client's refund)",
        "        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);\n"
        "        s.status = Status.Delivered;\n",
        "        s.status = Status.Delivered;\n",
    ),
    Mutant(
        "delivery by anyone",
        "deliver no longer checks the worker sends it: a stranger starts the review window",
        "        if (msg.sender != job.worker) revert NotWorker();\n",
        "",
    ),
    Mutant(
        "approval of any delivery",
        "approve ignores the delivery the client names",
        "        if (s.delivery != delivery) revert DeliveryMismatch(s.delivery);\n",
        "",
    ),
    Mutant(
        "cancel ignores the delivery",
        "a Cancel the worker signed before delivering still refunds the client after the delivery",
        "_cancelHash(id, s.delivery), workerSignature)",
        "_cancelHash(id, bytes32(0)), workerSignature)",
    ),
    Mutant(
        "cancel signed by the client",
        "cancel checks the client's signature instead of the worker's: the client refunds itself",
        "SignatureChecker.isValidSignatureNow(job.worker, _cancelHash(",
        "SignatureChecker.isValidSignatureNow(job.client, _cancelHash(",
    ),
    Mutant(
        "cancel pays the worker",
        "a cancellation pays the price to the worker instead of refunding the client",
        "        emit JobCancelled(id, job.client, job.worker, job.price);\n"
        "        _pay(job.token, job.client, job.price);\n",
        "        emit JobCancelled(id, job.client, job.worker, job.price);\n"
        "        _pay(job.token, job.worker, job.price);\n",
    ),
    Mutant(
        "fund twice",
        "a job can be funded again (the second price is locked with nothing that can pay it out)",
        "        if (s.status != Status.None) revert JobExists();\n",
        "",
    ),
    Mutant(
        "fund in someone else's name",
        "anyone funds a job for any client (whose refund then takes the funder's money)",
        "    function fund(Job calldata job) external payable nonReentrant {\n"
        "        if (msg.sender != job.client) revert NotClient();\n",
        "    function fund(Job calldata job) external payable nonReentrant {\n",
    ),
    Mutant(
        "ETH price not checked",
        "fund takes any ETH value for an ETH job: the books no longer hold the prices",
        "            if (msg.value != job.price) revert WrongValue();\n",
        "",
    ),
]


@dataclass(frozen=True)
class Target:
    """One contract under mutation: its source, the variable its tests read the scratch build from, the
    tests, and its mutants."""

    key: str
    source: Path
    artifact_env: str
    tests: tuple[str, ...]
    mutants: tuple[Mutant, ...]


CONTRACTS = REPO / "resources" / "contracts"
TARGETS = {
    "vault": Target(
        "vault",
        CONTRACTS / "PayGoVault.sol",
        "PAYGO_VAULT_ARTIFACT",
        (
            "tests/chain/test_vault_security.py",
            "tests/chain/test_vault_basic.py",
            "tests/chain/test_vault_invariants.py",
        ),
        tuple(VAULT_MUTANTS),
    ),
    "jobs": Target(
        "jobs",
        CONTRACTS / "PayGoJobs.sol",
        "PAYGO_JOBS_ARTIFACT",
        ("tests/chain/test_jobs_contract.py", "tests/chain/test_jobs_invariants.py"),
        tuple(JOBS_MUTANTS),
    ),
}
# Mutant names are unique across contracts, so NAME picks its contract.
MUTANTS = [m for target in TARGETS.values() for m in target.mutants]


def build(source: Path, source_text: str, scratch: Path) -> Path:
    """Compile ``source_text`` as ``source``'s file in ``scratch``; return the artifact's path. A fast build
    (no optimizer, no IR pipeline): the same contract logic in a tenth of the time; the unmodified source is
    built the same way and must pass."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    (scratch / source.name).write_text(source_text, encoding="utf-8")
    proc = subprocess.run(
        ["node", str(REPO / "scripts" / "build_contracts.mjs"), "--contracts", str(scratch), "--fast"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"solc failed:\n{proc.stdout}{proc.stderr}")
    return scratch / f"{source.stem}.json"


def run_tests(target: Target, artifact: Path, tests: list[str]) -> tuple[bool, str]:
    """Run ``tests`` against ``artifact`` up to the first failure; (passed, the last lines of the output)."""
    env = {**os.environ, target.artifact_env: str(artifact), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-3:]
    return proc.returncode == 0, " | ".join(tail)


def apply(target: Target, source: str, mutant: Mutant) -> str:
    count = source.count(mutant.find)
    if count != 1:
        raise SystemExit(
            f"mutant {mutant.name!r}: its text occurs {count} times in {target.source.name}, not once"
        )
    return source.replace(mutant.find, mutant.replace)


def check(target: Target, chosen: list[Mutant], tests: list[str], tmp: Path) -> bool:
    """The unmodified source passes ``tests`` and each of ``chosen`` makes them fail."""
    source = target.source.read_text(encoding="utf-8")
    mutated = {m.name: apply(target, source, m) for m in chosen}  # every mutant applies before anything runs
    t0 = time.monotonic()
    passed, tail = run_tests(target, build(target.source, source, tmp / "original"), tests)
    what = f"{target.source.name} unmodified"
    print(f"{what:<30} {'passes' if passed else 'FAILS':<8} {time.monotonic() - t0:6.1f} s")
    if not passed:
        print(f"  the suite must pass on the unmodified source: {tail}")
        return False
    ok = True
    for mutant in chosen:
        t0 = time.monotonic()
        artifact = build(target.source, mutated[mutant.name], tmp / "mutant")
        passed, tail = run_tests(target, artifact, tests)
        verdict = "SURVIVED" if passed else "caught"
        print(f"{mutant.name:<30} {verdict:<8} {time.monotonic() - t0:6.1f} s  ({mutant.what})")
        if passed:
            ok = False
            print(f"  no test failed: {tail}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--contract", choices=sorted(TARGETS), help="only this contract's mutants (default: every contract)"
    )
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="FILE",
        help="the tests to run (default: the contract's own: "
        + "; ".join(f"{k}: {' '.join(t.tests)}" for k, t in TARGETS.items())
        + ")",
    )
    args = parser.parse_args(argv)
    targets = [TARGETS[args.contract]] if args.contract else list(TARGETS.values())
    if args.list:
        for target in targets:
            for mutant in target.mutants:
                print(f"{target.key}: {mutant.name}: {mutant.what}")
        return 0
    unknown = set(args.names) - {m.name for t in targets for m in t.mutants}
    if unknown:
        print(f"unknown mutants: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.tests and len(targets) != 1:
        print("--tests goes with --contract", file=sys.stderr)
        return 2
    started = time.monotonic()
    ok = True
    count = 0
    with tempfile.TemporaryDirectory(prefix="paygo-mutants-") as tmp:
        for target in targets:
            chosen = [m for m in target.mutants if not args.names or m.name in args.names]
            if not chosen:
                continue
            count += len(chosen)
            ok = check(target, chosen, list(args.tests or target.tests), Path(tmp)) and ok
    verdict = "all caught" if ok else "NOT all caught"
    print(f"{count} mutants, {time.monotonic() - started:.0f} s in all: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
