"""What every kind of proof file reports: one ``Check`` per thing checked, and ``ProofError`` for a file
that cannot be checked at all (``receipts.proof`` and each kind's module share them)."""

from __future__ import annotations

from dataclasses import dataclass

from paygo_desktop.errors import UserFacingError


class ProofError(UserFacingError):
    """A file that is not a proof this version can check (the reason is in the message)."""


@dataclass(frozen=True)
class Check:
    name: str  # what was checked, in words
    ok: bool | None  # None: not checked (no node given), or only information
    detail: str = ""
