"""``paygo-desktop provider serve --config FILE``: run the reference provider in front of a service;
``provider register --config FILE``: list it in PayGo's provider registry (``commands.provider_register``);
``provider chat``: answer a consultation from the terminal (``commands.provider_chat``).

``provider serve`` is the same as ``paygo-provider serve`` (``provider.server``), which a server install
uses: it needs no app data directory and no Qt.
"""

from __future__ import annotations

import argparse
from typing import Any

from paygo_desktop.paths import DataDir


def add_parser(subparsers: Any) -> None:
    from paygo_desktop.provider.serve_args import add_serve_arguments

    provider = subparsers.add_parser("provider", help="run the reference provider (for vendors)")
    actions = provider.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve the provider API over HTTP")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)
    from paygo_desktop.commands import provider_chat, provider_register

    provider_register.add_parser(actions)
    provider_chat.add_parser(actions)


def run_serve(args: argparse.Namespace, _data_dir: DataDir) -> int:
    from paygo_desktop.provider.server import run_provider_command

    return run_provider_command(args)
