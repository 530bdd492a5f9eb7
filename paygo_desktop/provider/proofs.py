"""What a request brings to show that it acts for a session's or a channel's payer (``Proof``), and the
constant-time comparison of a session's access token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from paygo_desktop.protocol.auth import AuthMessage


@dataclass(frozen=True)
class Proof:
    """What a request brought to show that it acts for a session's or a channel's payer."""

    token: str | None = None  # ``Authorization: Bearer`` value: the session's access token
    wallet: AuthMessage | None = None  # a checked request signature (its nonce not spent yet)


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected.encode(), given.encode())
