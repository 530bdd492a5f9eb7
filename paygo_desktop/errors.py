"""The base of every error the app expects and explains to the user, and the one way to word an error.

A ``UserFacingError`` carries a message written for a person: the GUI shows ``str(error)`` as it is,
never a traceback. Anything else that escapes is a bug, logged in full and reported as one.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure with a message fit to show to the user."""


def describe_error(exc: BaseException, otherwise: str | None = None) -> str:
    """The words for ``exc`` a person may read: a user-facing error's own message; anything else (a bug,
    whose details belong in the log) as ``otherwise``, or by default as a short, safe class name."""
    if isinstance(exc, UserFacingError) and str(exc):
        return str(exc)
    return otherwise if otherwise is not None else f"an unexpected error ({type(exc).__name__})"
