"""Headless subcommands of ``paygo-desktop`` (Qt-free): contracts, and later provider, sandbox, session."""
