"""Checking a proof file: everything that needs no node, then (given one) what the chain says.

``verify`` never raises for a bad file: a file that is no proof at all, or that cannot be read, gives a
``Verdict`` with its ``error``; otherwise the verdict lists every check. It passes when the file could be
read and no check failed (a check a node was needed for and none was given, or "not claimed yet", is
said but does not fail it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paygo_desktop.receipts.build import SessionEvidence, proof_body, session_evidence
from paygo_desktop.receipts.proof import Check, ProofError, kind_of, verify_offline
from paygo_desktop.store.database import Store


@dataclass(frozen=True)
class Verdict:
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    body: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.ok is not False for c in self.checks)

    def lines(self) -> list[str]:
        """One line a check: ✓ passed, ✗ failed, · said (not checked, or for information)."""
        if self.error is not None:
            return [f"✗ {self.error}"]
        marks = {True: "✓", False: "✗", None: "·"}
        return [f"{marks[c.ok]} {c.name}" + (f": {c.detail}" if c.detail else "") for c in self.checks]

    @property
    def summary(self) -> str:
        if self.error is not None:
            return "Refused: " + self.error
        failed = [c for c in self.checks if c.ok is False]
        if failed:
            return f"Refused: {len(failed)} of {len(self.checks)} checks failed ({failed[0].name.lower()})."
        return f"Verified: all {sum(1 for c in self.checks if c.ok)} checks passed."


def verify_file(data: bytes) -> Verdict:
    """The checks that need no node."""
    try:
        body, checks = verify_offline(data)
    except ProofError as exc:
        return Verdict(error=str(exc))
    return Verdict(checks, None, body)


async def verify(data: bytes, rpc_url: str | None = None, *, registry: str | None = None) -> Verdict:
    """``verify_file``, then, with ``rpc_url``, the chain's checks (skipped for a file already refused)."""
    verdict = verify_file(data)
    if rpc_url is None or verdict.body is None:
        if verdict.body is not None:
            return Verdict(
                [*verdict.checks, Check("Checked against the chain", None, "no node given (--rpc)")],
                None,
                verdict.body,
            )
        return verdict
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.receipts.chain_check import chain_checks

    w3 = async_web3(rpc_url, timeout=20)
    try:
        extra = await chain_checks(w3, verdict.body, registry=registry)
    except Exception as exc:
        from paygo_desktop.chain.rpc_errors import short_rpc_message

        extra = [
            Check("Checked against the chain", False, f"the node did not answer: {short_rpc_message(exc)}")
        ]
    finally:
        await w3.provider.disconnect()
    return Verdict([*verdict.checks, *extra], None, verdict.body)


def stored_session_checks(
    store: Store, local_id: str, network_name: str
) -> tuple[SessionEvidence, list[Check]]:
    """The checks of a finished session's receipt as the app kept it (the proof's checks, without the
    seal: the seal is made when the file is exported). ``ProofError`` says why there is no receipt to
    check. Blocking (SQL): call it off the GUI thread."""
    evidence = session_evidence(store, local_id)
    body = proof_body(evidence, network_name, None)
    try:
        return evidence, kind_of(body).offline(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProofError(f"The receipt kept for this session is malformed ({type(exc).__name__}).") from None
