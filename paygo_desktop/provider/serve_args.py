"""The options of ``provider serve``, shared by ``paygo-provider`` and ``paygo-desktop provider``: argparse
only, so building either command line loads no provider code."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, required=True, help="the provider's TOML or JSON configuration"
    )
    parser.add_argument(
        "--database", help="a SQLite file or a postgresql:// URL, in place of the config's `database`"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs PostgreSQL; default 1)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
