"""The app's and the provider's connection to a chain node keeps its TCP connection between requests
(``chain.rpc.KeptAliveSessions``): web3's own session manager opened a new one for every request, which was
most of the reference provider's per-voucher chain read. A loopback JSON-RPC server counts the
connections it accepts; a closed loop's session gives way to a new one on the next loop."""

from __future__ import annotations

import asyncio
import json

from paygo_desktop.chain.rpc import async_web3


async def _counting_node() -> tuple[asyncio.Server, list[int], str]:
    """A JSON-RPC server on loopback answering ``eth_blockNumber`` over HTTP/1.1 keep-alive; it counts the
    connections it accepted."""
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                request = json.loads(await reader.readexactly(length))
                body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x2a"}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, accepted, f"http://127.0.0.1:{port}"


def test_requests_to_the_node_share_one_kept_alive_connection() -> None:
    async def scenario() -> int:
        server, accepted, url = await _counting_node()
        w3 = async_web3(url, timeout=5)
        try:
            numbers = [await w3.eth.block_number for _ in range(20)]
            assert numbers == [42] * 20
            return len(accepted)
        finally:
            await w3.provider.disconnect()
            server.close()

    count = asyncio.run(scenario())
    assert count == 1, f"{count} connections for 20 requests"


def test_a_new_event_loop_gets_its_own_session() -> None:
    """The CLI and the tests run one ``asyncio.run`` after another on the same provider object."""

    async def serve_twice() -> None:
        server, accepted, url = await _counting_node()
        w3 = async_web3(url, timeout=5)

        def on_a_new_loop() -> int:
            return asyncio.run(w3.eth.block_number)

        first = await w3.eth.block_number
        second = await asyncio.to_thread(on_a_new_loop)  # another loop, in another thread
        third = await w3.eth.block_number
        assert (first, second, third) == (42, 42, 42)
        assert len(accepted) == 2  # this loop's connection, kept; the other loop's own
        await w3.provider.disconnect()
        server.close()

    asyncio.run(serve_twice())
