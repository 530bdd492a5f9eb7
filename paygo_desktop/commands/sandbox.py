"""``paygo-desktop sandbox``: a whole local world for trying the app offline, stopped with Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from paygo_desktop.paths import DataDir


def add_parser(subparsers: Any) -> None:
    sandbox = subparsers.add_parser(
        "sandbox", help="start a local chain and provider, fund this wallet's accounts, run until Ctrl-C"
    )
    sandbox.add_argument("--fund", nargs="*", default=[], metavar="ADDRESS", help="fund these addresses too")
    sandbox.add_argument("--rpc-port", type=int, help="the chain's port (default 8545, or a free one)")
    sandbox.add_argument(
        "--provider-port", type=int, help="the provider's port (default 8787, or a free one)"
    )
    sandbox.set_defaults(handler=run_sandbox)


def run_sandbox(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.sandbox import world
    from paygo_desktop.sandbox.node import node_choice, node_description
    from paygo_desktop.sandbox.old_chain import retire_old_chain
    from paygo_desktop.store.deployments import DeploymentRepository

    ctx = AppContext.open(data_dir)
    try:
        accounts = [a.address for a in ctx.accounts.list()] + list(args.fund)

        def say(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        running = world.start(
            data_dir,
            accounts=accounts,
            rpc_port=args.rpc_port,
            provider_port=args.provider_port,
            progress=say,
        )
        deployments = DeploymentRepository(ctx.store)
        note = running.world_note
        if running.world != "kept":  # nothing the store holds for an earlier chain may reach this one
            earlier = deployments.address("sandbox", running.state.chain_id, "PayGoVault")
            vaults = [v for v in (earlier, running.state.vault) if v]
            retired = retire_old_chain(ctx.store, running.state.chain_id, vaults)
            if retired.anything and note is None:
                note = (
                    "A new sandbox chain was started; what the app recorded on an earlier one stays in "
                    "its history, marked as such, and nothing of it is sent to the new one."
                )
            if note:
                ctx.activity.record("sandbox", note, network="sandbox")
                say(note)
        deployments.save("sandbox", running.state.chain_id, "PayGoVault", running.state.vault)
        deployments.save("sandbox", running.state.chain_id, "TestUSDC", running.state.usdc)
        for symbol, address in running.state.tokens.items():
            deployments.save("sandbox", running.state.chain_id, f"Token:{symbol}", address)
        for symbol, address in running.state.feeds.items():
            deployments.save("sandbox", running.state.chain_id, f"Feed:{symbol}", address)
    finally:
        ctx.close()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(
        json.dumps(
            {
                "status": "ready",
                "rpc": running.state.rpc_url,
                "chainId": running.state.chain_id,
                "vault": running.state.vault,
                "usdc": running.state.usdc,
                "tokens": running.state.tokens,
                "feeds": running.state.feeds,
                "provider": running.state.provider_url,
                "funded": running.funded,
                "node": node_description(node_choice()),
                "world": running.world,
                "worldNote": note,
            }
        ),
        flush=True,
    )
    say_stop = "Sandbox ready. Press Ctrl-C to stop it."
    print(say_stop, file=sys.stderr, flush=True)
    why = world.wait_until_stopped(running, stop)
    running.stop(data_dir.sandbox_dir)
    print(f"Sandbox stopped ({why}).", file=sys.stderr, flush=True)
    return 0 if why == "stopped" else 1
