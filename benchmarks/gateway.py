"""What the provider's gateway adds, measured on a real sandbox (anvil, the provider, its real upstreams).

Each row beside its baseline in the same run, the upstream hit directly:

* latency: ``--requests`` sequential ``GET /weather`` on one kept-alive connection, direct vs through the
  gateway (``/api/v1/streams/{id}/access/weather``, the session's token checked in the database each time),
  and the provider's own ``/health`` for scale (what any route of the provider costs);
* throughput: ``GET /bytes?size=--megabytes MiB``, streamed, direct vs through the gateway;
* media: the sandbox's video (``demo-video``, its 0.16 MB ``clip.mp4``) fetched whole ``--clips`` times
  in a row, and as many ``Range: bytes=0-65535`` requests (what a player sends to start and to seek),
  direct vs through the gateway;
* the cut-off: a WebSocket feed open through the gateway, the session stopped (``PATCH /stop`` with its
  token): the time from the stop's answer to the feed's close frame (code 4410);
* the gateway's CPU with ``--feeds`` open WebSocket feeds (all on one session: the gateway's work per
  feed is the same; each feed carries three quotes a second), over ``--seconds``, beside the same
  provider idle.

The sessions are real: channels funded on anvil, vouchers signed and sent each tick while it runs.

    python benchmarks/gateway.py [--requests 500] [--megabytes 64] [--clips 200] [--feeds 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.provider_load import (  # noqa: E402
    PAYER_SEED,
    cpu_seconds,
    fund_channels,
    percentile,
    start_sandbox,
    stop_process,
)

DEPOSIT = 10 * 10**6  # 10 test USDC per channel


async def keep_paying(client: Any, session: Any, channel: Any, payer: Any, domain: Any, rate: Any) -> None:
    """A voucher every few seconds for what the session has used plus one tick, as the app sends them."""
    from paygo_desktop.chain.vouchers import sign_voucher

    started = time.monotonic()
    seq = 0
    tick = session.quote.tick_seconds
    while True:
        await asyncio.sleep(min(5, tick / 2))
        seq += 1
        amount = session.quote.start_cumulative + rate.cost(int(time.monotonic() - started)) + rate.cost(tick)
        signature = "0x" + sign_voucher(payer, domain, channel, amount).hex()
        await client.send_voucher(session.session_id, seq, amount, signature)


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.2f}"


async def latency(url: str, headers: dict[str, str], count: int) -> list[float]:
    import httpx

    out: list[float] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(count + 20):
            t = time.perf_counter()
            r = await http.get(url, params={"city": f"city{i % 50}"}, headers=headers)
            r.raise_for_status()
            if i >= 20:  # the first ones warm up the connections
                out.append(time.perf_counter() - t)
    return out


async def throughput(url: str, headers: dict[str, str], size: int) -> float:
    import httpx

    async with httpx.AsyncClient(timeout=120) as http:
        t = time.perf_counter()
        got = 0
        async with http.stream("GET", url, params={"size": size}, headers=headers) as r:
            r.raise_for_status()
            async for chunk in r.aiter_raw():
                got += len(chunk)
        elapsed = time.perf_counter() - t
    assert got == size, (got, size)
    return size / elapsed / 2**20


async def media(url: str, headers: dict[str, str], count: int) -> tuple[float, list[float]]:
    """The clip fetched whole ``count`` times on one kept-alive connection (MiB/s), then ``count`` range
    requests of its first 64 KiB (each one's seconds)."""
    import httpx

    async with httpx.AsyncClient(timeout=30) as http:
        (await http.get(url, headers=headers)).raise_for_status()  # warm the connections
        got = 0
        t = time.perf_counter()
        for _ in range(count):
            async with http.stream("GET", url, headers=headers) as r:
                r.raise_for_status()
                async for chunk in r.aiter_raw():
                    got += len(chunk)
        rate = got / (time.perf_counter() - t) / 2**20
        ranged: list[float] = []
        for _ in range(count):
            t = time.perf_counter()
            r = await http.get(url, headers={**headers, "Range": "bytes=0-65535"})
            assert r.status_code == 206 and len(r.content) == 65536, r.status_code
            ranged.append(time.perf_counter() - t)
    return rate, ranged


async def run(args: argparse.Namespace, ready: dict, sandbox_dir: Path) -> None:
    from eth_account import Account
    from eth_utils import keccak
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from paygo_desktop.chain.vouchers import VaultDomain, sign_voucher
    from paygo_desktop.protocol import models as m
    from paygo_desktop.protocol.client import ProviderClient
    from paygo_desktop.sandbox.state import read_state

    config = tomllib.loads((sandbox_dir / "provider.toml").read_text())
    api_direct = config["services"]["weather-api"]["upstream"]
    video = config["services"]["demo-video"]
    clip_direct = video["upstream"].rstrip("/") + "/" + video["entry"]
    state = read_state(sandbox_dir)
    assert state is not None
    payer = Account.from_key(keccak(text=PAYER_SEED))
    domain = VaultDomain(chain_id=ready["chainId"], vault=ready["vault"])
    params = fund_channels(ready, 3, DEPOSIT)
    channels = [m.ChannelParams.model_validate(p).to_channel() for p in params]
    async with ProviderClient(ready["provider"], timeout=30) as client:
        services = {s.id: s for s in (await client.list_services(page_size=100)).items}
        sessions = []
        for service_id, channel in zip(
            ("weather-api", "market-data-feed", "demo-video"), channels, strict=True
        ):
            rate = services[service_id].rate
            first = rate.cost(services[service_id].tick_seconds)
            signature = sign_voucher(payer, domain, channel, first)
            sessions.append(await client.start_session(service_id, channel, first, signature))
        payers = [
            asyncio.ensure_future(
                keep_paying(client, s, ch, payer, domain, services[s.quote.service_id].rate)
            )
            for s, ch in zip(sessions, channels, strict=True)
        ]
        api, feed, clip = sessions
        token = {"Authorization": f"Bearer {api.access.token}"}
        print(f"gateway: {api.access.service_url}  (upstream {api_direct})")

        direct = await latency(api_direct + "/weather", {}, args.requests)
        proxied = await latency(api.access.service_url + "weather", token, args.requests)
        health = await latency(ready["provider"] + "/api/v1/health", {}, args.requests)
        print(f"\nGET /weather, {args.requests} sequential requests, one kept-alive connection (ms)")
        print("| path | median | p95 | p99 |\n|---|---|---|---|")
        rows = (
            ("upstream directly", direct),
            ("through the gateway", proxied),
            ("the provider's own /health, for scale (no proxying)", health),
        )
        for label, values in rows:
            print(f"| {label} | {ms(values, 50)} | {ms(values, 95)} | {ms(values, 99)} |")
        added = statistics.median(proxied) - statistics.median(direct)
        print(f"the gateway adds {added * 1000:.2f} ms at the median")

        size = args.megabytes * 2**20
        direct_mb = await throughput(api_direct + "/bytes", {}, size)
        proxied_mb = await throughput(api.access.service_url + "bytes", token, size)
        print(f"\nGET /bytes, {args.megabytes} MiB streamed (MiB/s)")
        print("| path | MiB/s |\n|---|---|")
        print(f"| upstream directly | {direct_mb:.0f} |\n| through the gateway | {proxied_mb:.0f} |")

        clip_token = {"Authorization": f"Bearer {clip.access.token}"}
        direct_clip, direct_ranges = await media(clip_direct, {}, args.clips)
        proxied_clip, proxied_ranges = await media(
            clip.access.service_url + clip.access.entry, clip_token, args.clips
        )
        print(
            f"\nthe demo video: clip.mp4 whole, {args.clips} times in a row; then {args.clips} range requests"
        )
        print("| path | whole clip, MiB/s | Range 0-65535, median ms | p95 ms |\n|---|---|---|---|")
        for label, rate, ranged in (
            ("upstream directly", direct_clip, direct_ranges),
            ("through the gateway", proxied_clip, proxied_ranges),
        ):
            print(f"| {label} | {rate:.0f} | {ms(ranged, 50)} | {ms(ranged, 95)} |")
        payers[2].cancel()
        await client.stop_session(clip.session_id, access_token=clip.access.token)

        ws_url = "ws" + feed.access.service_url.removeprefix("http")
        feed_token = {"Authorization": f"Bearer {feed.access.token}"}
        idle_before = cpu_seconds(state.provider_pid)
        await asyncio.sleep(args.seconds)
        idle = cpu_seconds(state.provider_pid) - idle_before
        sockets = [await connect(ws_url, additional_headers=feed_token) for _ in range(args.feeds)]
        received = 0

        async def read(ws: Any) -> None:
            nonlocal received
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    received += 1

        readers = [asyncio.ensure_future(read(ws)) for ws in sockets]
        await asyncio.sleep(2)
        before, counted = cpu_seconds(state.provider_pid), received
        await asyncio.sleep(args.seconds)
        busy = cpu_seconds(state.provider_pid) - before
        messages = received - counted
        print(f"\nthe provider's CPU over {args.seconds} s (% of one core)")
        print("| load | CPU | messages relayed/s |\n|---|---|---|")
        print(f"| idle (no feed open) | {idle / args.seconds * 100:.1f} % | 0 |")
        print(
            f"| {args.feeds} open feeds | {busy / args.seconds * 100:.1f} % | {messages / args.seconds:.0f} |"
        )

        for task in payers:
            task.cancel()
        stopped = time.monotonic()
        await client.stop_session(feed.session_id, access_token=feed.access.token)
        answered = time.monotonic()
        await asyncio.wait(readers, timeout=30)
        codes = {ws.close_code for ws in sockets}
        closed = max((ws.close_code is not None) and time.monotonic() for ws in sockets) - answered
        print("\nfrom the stop to the feeds' close")
        print(f"stop answered in {(answered - stopped) * 1000:.0f} ms; all {args.feeds} feeds closed "
              f"(codes {sorted(c for c in codes if c is not None)}) within {closed * 1000:.0f} ms after it "
              f"(the watch interval is 0.5 s; measured from the test's side, an upper bound)")  # fmt: skip
        await client.stop_session(api.session_id, access_token=api.access.token)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    from eth_account import Account
    from eth_utils import keccak

    payer = Account.from_key(keccak(text=PAYER_SEED))
    with tempfile.TemporaryDirectory(prefix="paygo-bench-gateway-") as tmp:
        data_dir = Path(tmp)
        proc, ready = start_sandbox(data_dir, payer.address)
        try:
            asyncio.run(run(args, ready, data_dir / "sandbox"))
        finally:
            stop_process(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
