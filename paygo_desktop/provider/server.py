"""Run the reference provider with uvicorn. The CLI calls ``main_serve`` (paygo-desktop provider serve).

uvicorn runs its h11 protocol with the provider's client limits (``connection_guard``: header and body
deadlines, connections per client address) and keep-alive timeout from the config.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from paygo_desktop.errors import UserFacingError
from paygo_desktop.provider.config import ProviderConfig, load_config

log = logging.getLogger(__name__)


def uvicorn_config(app: object, config: ProviderConfig, host: str, port: int) -> uvicorn.Config:
    """How the provider is served: h11 guarded against slow and greedy clients (``connection_guard``)."""
    from paygo_desktop.provider.connection_guard import ClientLimits, guarded_h11

    limits = ClientLimits(
        header_timeout=config.header_timeout,
        body_timeout=config.body_timeout,
        max_connections_per_ip=config.max_connections_per_ip,
    )
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        http=guarded_h11(limits),
        timeout_keep_alive=config.keep_alive_timeout,
        log_level="info",
        access_log=False,
        server_header=False,
    )


def serve(config: ProviderConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.gc_policy import settle_after_startup

    app = create_app(config)
    settle_after_startup()  # this process is only the provider: its start-up objects live as long as it
    uvicorn.Server(uvicorn_config(app, config, host, port)).run()


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
