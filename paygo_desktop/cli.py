"""The command line: ``paygo-desktop`` starts the GUI; options and subcommands are parsed here.

This module imports nothing heavy: ``--version`` answers at once, and the GUI loads Qt only when it starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from paygo_desktop import APP_NAME, __version__

PAGES = ("home", "services", "sessions", "escrow", "zcash", "activity", "vendor", "settings")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paygo-desktop",
        description=f"{APP_NAME}: pay for digital services by the second from a wallet on this computer.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--data-dir", type=Path, help="where the app keeps all its files")
    parser.add_argument("--debug", action="store_true", help="log in detail, to stderr as well")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, show the main window, exit 0 once it has painted",
    )
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="render the window to a PNG and exit")
    parser.add_argument("--page", choices=PAGES, help="with --screenshot: the page to render")
    parser.add_argument(
        "--theme", choices=("system", "light", "dark"), help="override the colour scheme for this run"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.page and not args.screenshot:
        parser.error("--page goes with --screenshot")
    from paygo_desktop.app import run_gui

    return run_gui(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
