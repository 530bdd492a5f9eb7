"""Run the reference provider with uvicorn: ``paygo-provider`` (a server install: no Qt, no app data
directory) and ``paygo-desktop provider serve`` both end in ``main_serve``.

    paygo-provider serve --config FILE [--database URL] [--workers N] [--host H] [--port P]
    paygo-provider healthcheck [--url http://127.0.0.1:8080]

uvicorn runs its h11 protocol with the provider's client limits (``connection_guard``: header and body
deadlines, connections per client address; it also stamps each request's arrival) and keep-alive timeout
from the config. ``--database`` replaces the config's ``database`` (a SQLite file, or a ``postgresql://``
URL; better without a password in it: libpq reads ``PGPASSWORD`` and ``~/.pgpass``). ``--workers N`` (N > 1)
runs N worker processes on one socket (``provider.workers``); they share state only through the database,
so it must be PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from paygo_desktop.errors import UserFacingError
from paygo_desktop.logs import scrub_every_handler
from paygo_desktop.protocol import routes
from paygo_desktop.provider.config import ProviderConfig, load_config
from paygo_desktop.provider.serve_args import add_serve_arguments

log = logging.getLogger(__name__)
MAX_WORKERS = 64


def uvicorn_config(app: object, config: ProviderConfig, host: str, port: int) -> uvicorn.Config:
    """How the provider is served: h11 guarded against slow and greedy clients (``connection_guard``),
    a payer's WebSocket messages bounded as the gateway's own (``proxying.MAX_WS_MESSAGE``)."""
    from paygo_desktop.protocol.proxying import MAX_WS_MESSAGE, MAX_WS_QUEUE
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
        ws_max_size=MAX_WS_MESSAGE,
        ws_max_queue=MAX_WS_QUEUE,
        ws_per_message_deflate=False,
        log_level="info",
        access_log=False,
        server_header=False,
    )


def serve(
    config: ProviderConfig,
    host: str = "127.0.0.1",
    port: int = 8080,
    sock: socket.socket | None = None,
    worker: int | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM), on ``host:port`` or on the listening socket ``sock`` (as
    worker number ``worker`` of ``provider.workers``)."""
    from paygo_desktop.provider.app import create_app
    from paygo_desktop.provider.gc_policy import settle_after_startup

    app = create_app(config, worker=worker)
    settle_after_startup()  # this process is only the provider: its start-up objects live as long as it
    uvicorn.Server(uvicorn_config(app, config, host, port)).run(sockets=None if sock is None else [sock])


def load(config_path: Path, database: str | None = None) -> ProviderConfig:
    """The config file, with ``database`` in place of its own when given; the key is checked."""
    from paygo_desktop.provider.store import database_url

    config = load_config(Path(config_path))
    if database:
        database_url(database)  # a clear error for a URL of no supported kind
        config = config.model_copy(update={"database": database})
    config.account()  # fail early on a missing key
    return config


def main_serve(
    config_path: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    database: str | None = None,
    workers: int = 1,
) -> int:
    """Load ``config_path`` and serve. Returns a process exit code (2 for a bad config or option)."""
    from paygo_desktop.provider.store import database_url

    try:
        config = load(config_path, database)
        if not 1 <= workers <= MAX_WORKERS:
            raise UserFacingError(f"--workers must be between 1 and {MAX_WORKERS}")
        if workers > 1 and not database_url(config.database).startswith("postgresql"):
            raise UserFacingError(
                "several workers share their sessions through the database: give a PostgreSQL database "
                "(--database postgresql://user@host/db); a SQLite file serves one process"
            )
    except UserFacingError as exc:
        print(f"paygo-provider: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scrub_every_handler()
    if workers > 1:
        from paygo_desktop.provider.workers import supervise

        return supervise(Path(config_path), database, host, port, workers)
    serve(config, host, port)
    return 0


def run_worker(config_path: Path, fd: int, slot: int) -> int:
    """One worker of ``provider.workers`` on the inherited listening socket ``fd``."""
    from paygo_desktop.provider.workers import DATABASE_ENV

    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s worker-{slot} %(name)s: %(message)s"
    )
    scrub_every_handler()
    try:
        config = load(config_path, os.environ.get(DATABASE_ENV))
    except UserFacingError as exc:
        print(f"paygo-provider worker {slot}: {exc}", file=sys.stderr)
        return 2
    serve(config, sock=socket.socket(fileno=fd), worker=slot)
    return 0


def healthcheck(url: str, timeout: float = 5.0) -> int:
    """GET the provider's health route: prints its answer; 0 when it answers 200, else 1."""
    target = url.rstrip("/") + routes.HEALTH
    try:
        with urllib.request.urlopen(target, timeout=timeout) as resp:
            body = json.loads(resp.read(64 * 1024))
            status = resp.status
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"paygo-provider: {target} did not answer: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(body))
    return 0 if status == 200 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paygo-provider", description="The PayGo reference provider.")
    actions = parser.add_subparsers(dest="action", required=True)
    add_serve_arguments(actions.add_parser("serve", help="serve the provider API over HTTP"))
    check = actions.add_parser(
        "healthcheck", help="ask a running provider for its health (exit 0 if it answers)"
    )
    check.add_argument("--url", default="http://127.0.0.1:8080", help="the provider's base URL")
    worker = actions.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("--config", type=Path, required=True)
    worker.add_argument("--fd", type=int, required=True)
    worker.add_argument("--slot", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "healthcheck":
        if not args.url.startswith(("http://", "https://")):
            print("paygo-provider: --url must be an http(s) URL", file=sys.stderr)
            return 2
        return healthcheck(args.url)
    if args.action == "worker":
        return run_worker(args.config, args.fd, args.slot)
    return main_serve(args.config, args.host, args.port, args.database, args.workers)


def run_provider_command(args: argparse.Namespace) -> int:
    """For ``paygo-desktop provider serve --config FILE [--database URL] [--workers N] [--host] [--port]``."""
    return main_serve(
        Path(args.config),
        getattr(args, "host", "127.0.0.1"),
        int(getattr(args, "port", 8080)),
        getattr(args, "database", None),
        int(getattr(args, "workers", 1)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
