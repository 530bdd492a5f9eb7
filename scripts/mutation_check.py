"""Prove the contract tests catch real money bugs: plant each known bug in a scratch copy of PayGoVault.sol,
build it with solc, run the contract tests against it, and expect them to fail.

    python scripts/mutation_check.py            # every mutant (and the unmodified source first)
    python scripts/mutation_check.py --list     # the mutants' names
    python scripts/mutation_check.py NAME ...   # only these
    python scripts/mutation_check.py --tests tests/chain/test_vault_invariants.py   # what one file catches

The unmodified source is built and tested first the same way: it must pass, else the check proves nothing.
Each mutant is one exact text replacement (the script stops if its text is not found exactly once, so a
change to the contract cannot silently void a mutant). The tests deploy the scratch build through
``PAYGO_VAULT_ARTIFACT`` (tests/chain/conftest.py). Exit status 0 only if the unmodified source passes and
every mutant makes the suite fail. ``make mutation`` runs it; docs/contract.md lists the mutants and the
time the whole check takes.
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
SOURCE = REPO / "resources" / "contracts" / "PayGoVault.sol"
TESTS = [
    "tests/chain/test_vault_security.py",
    "tests/chain/test_vault_basic.py",
    "tests/chain/test_vault_invariants.py",
]


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str  # the bug, in words
    find: str
    replace: str


MUTANTS = [
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


def build(source_text: str, scratch: Path) -> Path:
    """Compile ``source_text`` as PayGoVault.sol in ``scratch``; return the artifact's path."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    (scratch / "PayGoVault.sol").write_text(source_text, encoding="utf-8")
    proc = subprocess.run(
        ["node", str(REPO / "scripts" / "build_contracts.mjs"), "--contracts", str(scratch)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"solc failed:\n{proc.stdout}{proc.stderr}")
    return scratch / "PayGoVault.json"


def run_tests(artifact: Path, tests: list[str]) -> tuple[bool, str]:
    """Run ``tests`` against ``artifact`` up to the first failure; (passed, the last lines of the output)."""
    env = {**os.environ, "PAYGO_VAULT_ARTIFACT": str(artifact), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-3:]
    return proc.returncode == 0, " | ".join(tail)


def apply(source: str, mutant: Mutant) -> str:
    count = source.count(mutant.find)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name!r}: its text occurs {count} times in {SOURCE.name}, not once")
    return source.replace(mutant.find, mutant.replace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--tests",
        nargs="+",
        default=TESTS,
        metavar="FILE",
        help=f"the tests to run (default: {' '.join(TESTS)})",
    )
    args = parser.parse_args(argv)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name}: {mutant.what}")
        return 0
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutants: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    source = SOURCE.read_text(encoding="utf-8")
    mutated = {m.name: apply(source, m) for m in chosen}  # every mutant applies before anything runs
    started = time.monotonic()
    ok = True
    with tempfile.TemporaryDirectory(prefix="paygo-mutants-") as tmp:
        t0 = time.monotonic()
        passed, tail = run_tests(build(source, Path(tmp) / "original"), args.tests)
        print(
            f"{'unmodified source':<30} {'passes' if passed else 'FAILS':<8} {time.monotonic() - t0:6.1f} s"
        )
        if not passed:
            print(f"  the suite must pass on the unmodified source: {tail}")
            return 1
        for mutant in chosen:
            t0 = time.monotonic()
            artifact = build(mutated[mutant.name], Path(tmp) / "mutant")
            passed, tail = run_tests(artifact, args.tests)
            verdict = "SURVIVED" if passed else "caught"
            print(f"{mutant.name:<30} {verdict:<8} {time.monotonic() - t0:6.1f} s  ({mutant.what})")
            if passed:
                ok = False
                print(f"  no test failed: {tail}")
    verdict = "all caught" if ok else "NOT all caught"
    print(f"{len(chosen)} mutants, {time.monotonic() - started:.0f} s in all: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
