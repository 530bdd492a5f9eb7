"""The command line: ``paygo-desktop`` starts the GUI; options and subcommands are parsed here.

This module imports nothing heavy: ``--version`` answers at once, and the GUI loads Qt only when it starts.
A plain GUI start (options only, no subcommand, no --help) does not even build the subcommands' parsers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from paygo_desktop import APP_NAME, __version__

PAGES = ("home", "services", "sessions", "jobs", "escrow", "zcash", "activity", "vendor", "settings")


VALUE_OPTIONS = frozenset({"--data-dir", "--screenshot", "--page", "--theme"})


def names_a_command(argv: Sequence[str]) -> bool:
    """Whether the arguments may name a subcommand or ask for help: anything but the GUI's own options."""
    expect_value = False
    for arg in argv:
        if expect_value:
            expect_value = False
        elif arg in ("-h", "--help") or not arg.startswith("-"):
            return True
        elif arg in VALUE_OPTIONS:
            expect_value = True
    return False


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
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
    if not commands:
        parser.set_defaults(command=None)
        return parser
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from paygo_desktop.commands import contracts, jobs, network, provider, receipt, sandbox, session, x402

    contracts.add_parser(subparsers)
    jobs.add_parser(subparsers)
    network.add_parser(subparsers)
    provider.add_parser(subparsers)
    receipt.add_parser(subparsers)
    sandbox.add_parser(subparsers)
    session.add_parser(subparsers)
    x402.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(commands=names_a_command(arguments))
    args = parser.parse_args(arguments)
    if args.page and not args.screenshot:
        parser.error("--page goes with --screenshot")
    if args.command:
        return run_command(args)
    from paygo_desktop.app import run_gui

    try:
        return run_gui(args)
    except ModuleNotFoundError as exc:  # a server install (no `gui` extra): say what to install
        if (exc.name or "").split(".")[0] not in ("PySide6", "shiboken6", "qasync", "pyqtgraph"):
            raise
        print(
            "paygo-desktop: the desktop app needs Qt, which this install does not have: "
            "pip install 'paygo-desktop[gui]' (a server runs the provider with paygo-provider)",
            file=sys.stderr,
        )
        return 2


def run_command(args: argparse.Namespace) -> int:
    """Run a headless subcommand: errors a person can fix are one line on stderr, never a traceback."""
    import logging

    from paygo_desktop.errors import UserFacingError
    from paygo_desktop.logs import setup_logging
    from paygo_desktop.paths import DataDir, default_data_dir

    data_dir = DataDir(args.data_dir or default_data_dir()).ensure()
    setup_logging(data_dir.log_dir, debug=args.debug)
    try:
        return int(args.handler(args, data_dir))
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        logging.getLogger(__name__).exception("command %s failed", args.command)
        print(
            f"error: {args.command} failed unexpectedly; details are in {data_dir.log_dir}", file=sys.stderr
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
