"""The base of every error the app expects and explains to the user.

A ``UserFacingError`` carries a message written for a person: the GUI shows ``str(error)`` as it is,
never a traceback. Anything else that escapes is a bug, logged in full and reported as one.
"""


class UserFacingError(Exception):
    """An expected failure with a message fit to show to the user."""
