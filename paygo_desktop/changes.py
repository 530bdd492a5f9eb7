"""What an operation changed, as one value, so that each screen refreshes only what it shows.

As Anki's ``OpChanges``: the core reports what it touched (a session event, a transaction that went
through, a network switch); the GUI announces it once, from one place, and every page asks ``touches`` for
the parts it shows. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Changes:
    sessions: bool = False  # a session started, ended, was recovered or continued elsewhere
    channels: bool = False  # what an escrow channel holds, signed or claimed
    spending: bool = False  # the spending records (the provider confirmed or a session settled)
    transactions: bool = False  # a transaction was stored, sent, mined or healed
    balances: bool = False  # what an account holds on chain
    permissions: bool = False  # the Zcash permissions: bought, paid, used, revoked
    accounts: bool = False  # the wallet's accounts or the active one
    network: bool = False  # the network in use, its RPC, or the sandbox behind it
    providers: bool = False  # the providers the user browses
    activity: bool = False  # the activity log
    x402: bool = False  # the x402 payments: one was made, or marked settled or failed after the fact

    def __or__(self, other: Changes) -> Changes:
        return Changes(**{f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)})

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def touches(self, shown: Changes) -> bool:
        """Does this change touch any part of what ``shown`` names?"""
        return any(getattr(self, f.name) and getattr(shown, f.name) for f in fields(self))


NOTHING = Changes()
TRANSACTION_WENT_THROUGH = Changes(transactions=True, balances=True, channels=True)
X402_PAID = Changes(x402=True, spending=True, activity=True)  # an x402 payment written, marked or booked
EVERYTHING = Changes(**{f.name: True for f in fields(Changes)})
