"""Bringing up the sandbox world: chain, contracts, funded accounts, a provider with the demo catalog.

Every part is real: anvil (or the embedded py-evm node), the compiled PayGoVault and test USDC, the reference
provider over loopback HTTP.
The keys here are the public test keys of "test … junk": never use them on a real network.

The world survives a restart (``worlds``): anvil's chain is kept in the sandbox directory, and a start that
finds it continues it (no second deployment, no second funding, the provider keeps its database). When it
cannot (the embedded node, a lost or unreadable state file), the start makes a new world and says why in
``RunningSandbox.world_note``; the ``sandbox`` command then marks what the app's store holds for the old
chain (``old_chain``), so that nothing of it is ever sent to the new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from paygo_desktop.chain.canonical import VAULT_MIN_WITHDRAW_DELAY
from paygo_desktop.paths import DataDir
from paygo_desktop.sandbox.chat_access import CHAT_SECRET_ENV, write_chat_access
from paygo_desktop.sandbox.media import ENTRY as MEDIA_ENTRY
from paygo_desktop.sandbox.node import (
    CHAIN_ID,
    SandboxError,
    child_options,
    node_choice,
    node_description,
    rpc,
    start_node,
)
from paygo_desktop.sandbox.price_mover import PriceMover
from paygo_desktop.sandbox.state import SandboxState, clear_state, stop_stale, write_state
from paygo_desktop.sandbox.worlds import (
    World,
    chain_state_file,
    kept_world,
    new_world,
    read_world,
    set_aside,
    write_world,
)

log = logging.getLogger(__name__)

DEFAULT_RPC_PORT = 8545
DEFAULT_PROVIDER_PORT = 8787
TEST_PHRASE = "test test test test test test test test test test test junk"
PROVIDER_KEY_INDEX = 9  # anvil's tenth pre-funded account runs the sandbox provider
# anvil's ninth deploys the test tokens and price feeds, mints the test money and moves the feeds: never the
# first accounts of "test … junk", which people import to try the app (their history stays their own)
OPERATOR_INDEX = 8
# The sandbox runs PayGo's canonical vault, whose minimum withdrawal delay (15 s) is the one the app's
# channels with the sandbox provider use: it is above that provider's own minimum, its event poll (1 s) plus
# its margin (10 s), see SANDBOX_PROVIDER_TIMING (the provider refuses channels with a shorter delay).
SANDBOX_WITHDRAW_DELAY = VAULT_MIN_WITHDRAW_DELAY
SANDBOX_PROVIDER_TIMING = "event_poll_interval = 1\nwithdraw_delay_margin = 10"
# The sandbox provider listens on loopback only, where every client has the same address: no per-address
# connection cap (a load test's many clients would hit it).
SANDBOX_PROVIDER_LIMITS = "max_connections_per_ip = 0"
# the catalog services the sandbox's own upstreams deliver (sandbox.upstreams); its catalog lists only these
SANDBOX_SERVICES = ("market-data-feed", "weather-api", "weather-per-call", "demo-video", "legal-consult")
DEMO_CATALOG = Path(__file__).resolve().parent.parent / "provider" / "demo_catalog.json"
FUND_ETH = 100 * 10**18
FUND_USDC = 10_000 * 10**6
FUND_TOKENS = 10_000  # whole units of each other test token


@dataclass
class RunningSandbox:
    state: SandboxState
    node: subprocess.Popen[bytes]
    provider: subprocess.Popen[bytes]
    upstreams: subprocess.Popen[bytes]
    funded: list[str]  # the accounts this start funded (a kept world funds only the new ones)
    world: str = "first"  # first | kept | new (replaces an earlier world that could not be kept)
    world_note: str | None = None  # why a new world replaced the earlier one, for the user
    mover: PriceMover | None = None  # moves the price feeds while the sandbox runs

    def stop(self, sandbox_dir: Path) -> None:
        if self.mover is not None:
            self.mover.stop()
        for proc in (self.provider, self.upstreams, self.node):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.provider, self.upstreams, self.node):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        clear_state(sandbox_dir)


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_port(wanted: int | None, default: int) -> int:
    if wanted == 0:
        return free_port()
    port = wanted or default
    if not port_is_free(port):
        if wanted:
            raise SandboxError(f"Port {port} is in use by another program; choose another.")
        return free_port()
    return port


def provider_key() -> str:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(TEST_PHRASE, account_path=f"m/44'/60'/0'/0/{PROVIDER_KEY_INDEX}")
    return "0x" + bytes(account.key).hex()


def start(
    data_dir: DataDir,
    *,
    accounts: Iterable[str] = (),
    rpc_port: int | None = None,
    provider_port: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> RunningSandbox:
    sandbox_dir = data_dir.sandbox_dir
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    if stop_stale(sandbox_dir):
        progress("Stopped a sandbox left over from an earlier run.")
    rpc_port = pick_port(rpc_port, DEFAULT_RPC_PORT)
    provider_port = pick_port(provider_port, DEFAULT_PROVIDER_PORT)
    kind = node_choice()
    node_name = node_description(kind)
    log.info("sandbox chain: %s", node_name)
    progress(f"Starting the local chain ({node_name}) on 127.0.0.1:{rpc_port}…")
    kept_file = chain_state_file(sandbox_dir) if kind == "anvil" else None
    unreadable: str | None = None
    try:
        node = start_node(rpc_port, sandbox_dir / "node.log", kept_file)
    except SandboxError:
        if kept_file is None or not kept_file.exists():
            raise
        unreadable = set_aside(kept_file).name
        progress(
            f"The kept sandbox chain could not be loaded (set aside as {unreadable}); starting a new one."
        )
        node = start_node(rpc_port, sandbox_dir / "node.log", kept_file)
    rpc_url = f"http://127.0.0.1:{rpc_port}"
    try:
        earlier = read_world(sandbox_dir)
        continued = kept_world(sandbox_dir, rpc_url, kind)
        if continued is not None:
            world = continued
            progress(f"Continuing the sandbox chain kept from the last run (PayGoVault at {world.vault}).")
        else:
            vault, usdc = asyncio.run(_deploy(rpc_url))
            progress(f"Deployed PayGoVault at {vault} and test USDC at {usdc}.")
            world = new_world(rpc_url, kind, vault, usdc)
        world, added = asyncio.run(_deploy_tokens_and_feeds(rpc_url, world))
        if added:
            progress(f"Deployed test {', '.join(added)} and their price feeds.")
            _fund(rpc_url, world.usdc, world.funded, {s: world.tokens[s] for s in added if s in world.tokens})
        funded = _fund(rpc_url, world.usdc, [a for a in accounts if a not in world.funded], world.tokens)
        world = replace(world, funded=(*world.funded, *funded))
        write_world(sandbox_dir, world)
        mover = PriceMover(rpc_url, rpc(rpc_url, "eth_accounts")[OPERATOR_INDEX], world.feeds)
        mover.start()
        provider, upstreams = _start_services(
            data_dir, rpc_url, world, provider_port, keep=continued is not None, progress=progress
        )
    except BaseException:
        if "mover" in locals():
            mover.stop()
        node.kill()
        node.wait()
        raise
    status, note = _world_status(earlier, continued is not None, kind, unreadable)
    state = SandboxState(
        rpc_url=rpc_url,
        provider_url=f"http://127.0.0.1:{provider_port}",
        chain_id=CHAIN_ID,
        vault=world.vault,
        usdc=world.usdc,
        owner_pid=os.getpid(),
        node_pid=node.pid,
        provider_pid=provider.pid,
        started_at=time.time(),
        upstreams_pid=upstreams.pid,
        tokens={"USDC": world.usdc, **world.tokens},
        feeds=dict(world.feeds),
    )
    write_state(sandbox_dir, state)
    return RunningSandbox(
        state=state,
        node=node,
        provider=provider,
        upstreams=upstreams,
        funded=funded,
        world=status,
        world_note=note,
        mover=mover,
    )


def _world_status(
    earlier: World | None, continued: bool, kind: str, unreadable: str | None
) -> tuple[str, str | None]:
    """first | kept | new, and for a new world that replaced an earlier one, what the user is told."""
    if continued:
        return "kept", None
    if earlier is None and unreadable is None:
        return "first", None
    if unreadable is not None:
        why = f"the chain kept from the last run could not be read (set aside as {unreadable})"
    elif kind == "embedded":
        why = "the embedded chain keeps nothing between runs (anvil keeps it: npm ci)"
    else:
        why = "the chain kept from the last run is gone"
    return "new", (
        f"A new sandbox chain was started: {why}. Its balances and channels start afresh; what the app "
        "recorded on the earlier chain stays in its history, marked as such, and nothing of it is sent to "
        "the new one."
    )


async def _deploy(rpc_url: str) -> tuple[str, str]:
    from paygo_desktop.chain.deploy import deploy_sandbox
    from paygo_desktop.chain.rpc import async_web3

    w3 = async_web3(rpc_url)
    try:
        deployer = (await w3.eth.accounts)[0]
        deployed = await deploy_sandbox(w3, deployer)
    finally:  # its kept-alive connection closed here, not left to the collector ("Unclosed client session")
        await w3.provider.disconnect()
    return deployed.vault, deployed.usdc


async def _deploy_tokens_and_feeds(rpc_url: str, world: World) -> tuple[World, list[str]]:
    """x402 upto's Permit2 and proxy (``chain.sandbox_permit2``), the sandbox's other test tokens and its
    price feeds (``token_list.SANDBOX_TOKENS``, ``prices.feeds.SANDBOX_FEEDS``): those the world lacks (a
    world an older version made has none) are deployed. Returns the world with them and the symbols of the
    tokens deployed now."""
    from decimal import Decimal

    from paygo_desktop.chain.deploy import deploy_mock_feed, deploy_test_token
    from paygo_desktop.chain.rpc import async_web3
    from paygo_desktop.chain.sandbox_permit2 import install_upto_contracts
    from paygo_desktop.prices.feeds import FEED_DECIMALS, SANDBOX_FEEDS
    from paygo_desktop.token_list import SANDBOX_TOKENS

    w3 = async_web3(rpc_url)
    deployer = (await w3.eth.accounts)[OPERATOR_INDEX]
    tokens, feeds, added = dict(world.tokens), dict(world.feeds), []
    try:
        # x402 upto pays through Permit2 and x402's proxy: the sandbox's stand-ins, unless the chain has them
        if await install_upto_contracts(w3, (await w3.eth.accounts)[0]):
            log.info("sandbox: Permit2 and the x402 upto proxy put at their canonical addresses")
        for symbol, decimals, name in SANDBOX_TOKENS:
            if symbol == "USDC" or (symbol in tokens and await _has_code(w3, tokens[symbol])):
                continue
            tokens[symbol] = (await deploy_test_token(w3, deployer, name, symbol, decimals)).address
            added.append(symbol)
        for symbol, price, _ in SANDBOX_FEEDS:
            if symbol in feeds and await _has_code(w3, feeds[symbol]):
                continue
            answer = int(Decimal(price).scaleb(FEED_DECIMALS))
            feeds[symbol] = (
                await deploy_mock_feed(w3, deployer, f"{symbol} / USD", FEED_DECIMALS, answer)
            ).address
    finally:
        await w3.provider.disconnect()
    return replace(world, tokens=tokens, feeds=feeds), added


async def _has_code(w3: object, address: str) -> bool:
    from paygo_desktop.chain.create2 import code_at

    return bool(await code_at(w3, address))


def _fund(
    rpc_url: str, usdc: str, accounts: Iterable[str], tokens: dict[str, str] | None = None
) -> list[str]:
    """100 test ETH, 10,000 test USDC and 10,000 of each other test token (``tokens``) to each account."""
    from eth_utils import to_checksum_address
    from web3 import HTTPProvider, Web3

    from paygo_desktop.chain.artifacts import load_artifact

    w3 = Web3(HTTPProvider(rpc_url))
    token_abi = load_artifact("TestToken").abi
    contracts = [
        (w3.eth.contract(address=to_checksum_address(usdc), abi=load_artifact("TestUSDC").abi), FUND_USDC)
    ]
    for address in (tokens or {}).values():
        contract = w3.eth.contract(address=to_checksum_address(address), abi=token_abi)
        contracts.append((contract, FUND_TOKENS * 10 ** int(contract.functions.decimals().call())))
    operator = w3.eth.accounts[OPERATOR_INDEX]
    funded: list[str] = []
    for address in dict.fromkeys(to_checksum_address(a) for a in accounts):
        rpc(rpc_url, "anvil_setBalance", [address, hex(FUND_ETH)])
        for contract, amount in contracts:
            tx = contract.functions.mint(address, amount).transact({"from": operator})
            w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        funded.append(address)
    return funded


def sandbox_services(feed_port: int, api_port: int, media_port: int, chat_port: int) -> str:
    """The provider config's ``[services.<id>]`` tables: the catalog services the sandbox's upstreams
    deliver through the gateway (the sandbox's catalog lists only these)."""
    return (
        f'[services.market-data-feed]\nupstream = "ws://127.0.0.1:{feed_port}/feed"\n'
        'delivery = "websocket"\n\n'
        f'[services.weather-api]\nupstream = "http://127.0.0.1:{api_port}"\ndelivery = "http"\n\n'
        f'[services.weather-per-call]\nupstream = "http://127.0.0.1:{api_port}"\ndelivery = "http"\n\n'
        f'[services.demo-video]\nupstream = "http://127.0.0.1:{media_port}"\ndelivery = "media"\n'
        f'entry = "{MEDIA_ENTRY}"\n\n'
        f'[services.legal-consult]\nupstream = "ws://127.0.0.1:{chat_port}/user"\ndelivery = "websocket"\n'
    )


def _write_catalog(sandbox_dir: Path) -> Path:
    """The demo catalog's entries for the metered services the sandbox delivers (SANDBOX_SERVICES), and its
    job offers (a job delivers its result itself: provider/jobs.py)."""
    entries = json.loads(DEMO_CATALOG.read_text("utf-8"))  # provider/ is above sandbox/: read, not imported
    kept = [e for e in entries if e.get("id") in SANDBOX_SERVICES or e.get("type") == "job"]
    path = sandbox_dir / "catalog.json"
    path.write_text(json.dumps(kept, indent=1), "utf-8")
    return path


def _start_services(
    data_dir: DataDir,
    rpc_url: str,
    world: World,
    provider_port: int,
    *,
    keep: bool,
    progress: Callable[[str], None],
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """The upstreams (sandbox.upstreams), then the provider with its gateway in front of them."""
    upstreams, feed_port, api_port, media_port, chat_port = _start_upstreams(data_dir.sandbox_dir)
    try:
        services = sandbox_services(feed_port, api_port, media_port, chat_port)
        provider = _start_provider(
            data_dir,
            rpc_url,
            world.vault,
            world.usdc,
            provider_port,
            services,
            keep=keep,
            tokens=world.tokens,
        )
        if keep:
            paused = _pause_undelivered(f"http://127.0.0.1:{provider_port}")
            if paused:
                progress(f"Paused the catalog's services the sandbox does not deliver: {', '.join(paused)}.")
    except BaseException:
        upstreams.kill()
        upstreams.wait()
        raise
    return provider, upstreams


def _pause_undelivered(provider_url: str) -> list[str]:
    """A kept world's provider database may hold the whole demo catalog an earlier version seeded: those of
    its services the sandbox does not deliver are paused, through the vendor's own route with the
    provider's key, so its catalog lists only what delivers. Services added from the Vendor page stay."""
    from eth_account import Account

    from paygo_desktop.protocol.client import ProviderClient

    entries = json.loads(DEMO_CATALOG.read_text("utf-8"))
    undelivered = {e.get("id") for e in entries if e.get("type") != "job"} - set(SANDBOX_SERVICES)
    key = Account.from_key(provider_key())

    async def pause() -> list[str]:
        paused: list[str] = []
        async with ProviderClient(provider_url, timeout=10) as client:
            for service in (await client.my_services(key)).items:
                if service.id in undelivered and service.is_active:
                    await client.toggle_service(key, service.id)
                    paused.append(service.id)
        return paused

    return asyncio.run(pause())


def _start_upstreams(sandbox_dir: Path) -> tuple[subprocess.Popen[bytes], int, int, int, int]:
    """The services behind the gateway (sandbox.upstreams), on free loopback ports, once they answer; the
    consultation's vendor side is written down for ``provider chat`` (sandbox.chat_access)."""
    feed_port, api_port, media_port, chat_port = free_port(), free_port(), free_port(), free_port()
    secret = write_chat_access(sandbox_dir, chat_port)
    with (sandbox_dir / "upstreams.log").open("ab") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paygo_desktop.sandbox.upstreams",
                "--feed-port",
                str(feed_port),
                "--api-port",
                str(api_port),
                "--media-port",
                str(media_port),
                "--chat-port",
                str(chat_port),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, CHAT_SECRET_ENV: secret},
            **child_options(),
        )
    deadline = time.monotonic() + 30
    for port in (feed_port, api_port, media_port, chat_port):
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise SandboxError(
                    f"The sandbox's services stopped at start; see {sandbox_dir / 'upstreams.log'}."
                )
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise SandboxError("The sandbox's services did not start within 30 seconds.")
            time.sleep(0.1)
    return proc, feed_port, api_port, media_port, chat_port


def _provider_assets(tokens: dict[str, str]) -> str:
    """The provider config's ``[[assets]]`` for the other test tokens (its catalog may price in them)."""
    from paygo_desktop.token_list import SANDBOX_TOKENS

    decimals = {symbol: d for symbol, d, _ in SANDBOX_TOKENS}
    return "".join(
        f'\n[[assets]]\nsymbol = "{symbol}"\naddress = "{address}"\ndecimals = {decimals[symbol]}\n'
        for symbol, address in tokens.items()
        if symbol in decimals and symbol != "USDC"
    )


def _start_provider(
    data_dir: DataDir,
    rpc_url: str,
    vault: str,
    usdc: str,
    port: int,
    services: str,
    *,
    keep: bool = False,
    tokens: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    sandbox_dir = data_dir.sandbox_dir
    database = sandbox_dir / "provider.sqlite3"
    if not keep:  # a new chain: the provider's old sessions and claims belong to the old one
        for leftover in sandbox_dir.glob("provider.sqlite3*"):
            leftover.unlink()
    config = sandbox_dir / "provider.toml"
    config.write_text(
        f'''# Written by `paygo-desktop sandbox`; replaced at each start. Test keys only.
name = "PayGo Sandbox Provider"
private_key_env = "PAYGO_SANDBOX_PROVIDER_KEY"
rpc_url = "{rpc_url}"
chain_id = {CHAIN_ID}
vault = "{vault}"
database = "{database.name}"
public_base_url = "http://127.0.0.1:{port}"
claim_interval = 30
catalog_seed = "{_write_catalog(sandbox_dir).name}"
{SANDBOX_PROVIDER_TIMING}
{SANDBOX_PROVIDER_LIMITS}
upstream_hosts = ["127.0.0.1"]   # the Vendor page may point a service at a server on this machine

[zcash]
mode = "ledger"   # a local ledger: "pay" with POST /api/v1/zcash/ledger/pay
network = "test"

[[assets]]
symbol = "USDC"
address = "{usdc}"
decimals = 6

[[assets]]
symbol = "ETH"
address = "0x0000000000000000000000000000000000000000"
decimals = 18
'''
        + _provider_assets(tokens or {})
        + "\n"
        + services,
        encoding="utf-8",
    )
    log_file = (sandbox_dir / "provider.log").open("ab")
    env = {**os.environ, "PAYGO_SANDBOX_PROVIDER_KEY": provider_key()}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paygo_desktop",
            "--data-dir",
            str(data_dir.root),
            "provider",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
        **child_options(),
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    deadline = time.monotonic() + 60
    while True:  # ready once it answers "ok": it has reached the chain and takes sessions
        try:
            reply = httpx.get(url, timeout=1)
            if reply.status_code == 200 and reply.json().get("status") == "ok":
                return proc
        except (httpx.TransportError, ValueError, AttributeError):
            pass
        if proc.poll() is not None:
            raise SandboxError(f"The sandbox provider stopped at start; see {sandbox_dir / 'provider.log'}.")
        if time.monotonic() > deadline:
            proc.kill()
            raise SandboxError(
                "The sandbox provider did not reach the local chain within 60 seconds; see "
                f"{sandbox_dir / 'provider.log'}."
            )
        time.sleep(0.1)


def wait_until_stopped(running: RunningSandbox, stop: threading.Event) -> str:
    """Block until ``stop`` is set or a part of the sandbox dies; say which."""
    while not stop.wait(0.5):
        if running.node.poll() is not None:
            return "the local chain stopped"
        if running.provider.poll() is not None:
            return "the provider stopped"
        if running.upstreams.poll() is not None:
            return "the sandbox's services stopped"
    return "stopped"
