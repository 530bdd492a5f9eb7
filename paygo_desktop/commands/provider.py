"""``paygo-desktop provider serve --config FILE``: run the reference provider in front of a service;
``provider register --config FILE``: list it in PayGo's provider registry (``commands.provider_register``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from paygo_desktop.paths import DataDir


def add_parser(subparsers: Any) -> None:
    provider = subparsers.add_parser("provider", help="run the reference provider (for vendors)")
    actions = provider.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve the provider API over HTTP")
    serve.add_argument("--config", type=Path, required=True, help="the provider's TOML or JSON configuration")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.set_defaults(handler=run_serve)
    from paygo_desktop.commands import provider_register

    provider_register.add_parser(actions)


def run_serve(args: argparse.Namespace, _data_dir: DataDir) -> int:
    from paygo_desktop.provider.server import main_serve

    return main_serve(args.config, args.host, args.port)
