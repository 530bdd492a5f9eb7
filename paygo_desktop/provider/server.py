"""Run the reference provider with uvicorn. The CLI calls ``main_serve`` (paygo-desktop provider serve)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from paygo_desktop.errors import UserFacingError
from paygo_desktop.provider.config import ProviderConfig, load_config

log = logging.getLogger(__name__)


def serve(config: ProviderConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.gc_policy import settle_after_startup

    app = create_app(config)
    settle_after_startup()  # this process is only the provider: its start-up objects live as long as it
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, server_header=False)


def main_serve(config_path: Path, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Load ``config_path`` and serve. Returns a process exit code (2 for a bad config)."""
    try:
        config = load_config(Path(config_path))
        config.account()  # fail early on a missing key
    except UserFacingError as exc:
        print(f"paygo-desktop provider: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(config, host, port)
    return 0


def run_provider_command(args: argparse.Namespace) -> int:
    """For ``paygo-desktop provider serve --config FILE [--host H] [--port P]``."""
    return main_serve(Path(args.config), getattr(args, "host", "127.0.0.1"), int(getattr(args, "port", 8080)))
