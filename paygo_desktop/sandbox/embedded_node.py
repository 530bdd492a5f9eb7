"""The sandbox's embedded EVM node, for when anvil is absent: py-evm (via eth-tester) on loopback JSON-RPC.

Run as ``python -m paygo_desktop.sandbox.embedded_node --port P``. It answers the subset of anvil's JSON-RPC
that the app, the provider and the sandbox use: chain id 31337, the ten pre-funded "test … junk" accounts
(unlocked for eth_sendTransaction), every transaction mined at once into its own block, the latest fork
py-evm offers (Prague, so Cancun's transient storage too), anvil_setBalance, evm_mine/evm_increaseTime and
snapshots, and, as anvil, the deterministic-deployment proxy that puts PayGo's contracts at their canonical
addresses (installed at start by its presigned keyless transaction). Test keys only: it listens on 127.0.0.1
and keeps nothing on disk.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_utils import to_canonical_address, to_checksum_address

from paygo_desktop.sandbox.embedded_backend import make_backend, revert_error
from paygo_desktop.sandbox.embedded_json import (
    RpcError,
    block_id,
    rpc_int,
    rpc_log,
    rpc_object,
    tx_object,
    tx_request,
)

log = logging.getLogger("paygo_desktop.sandbox.embedded_node")

CHAIN_ID = 31337
PRIORITY_FEE = 10**9
MAX_BODY = 16 * 1024 * 1024


# ------------------------------------------------------------------------------------------- node


class EmbeddedNode:
    """The JSON-RPC methods, over one eth-tester chain; every call holds the lock."""

    def __init__(self) -> None:
        from eth_tester import EthereumTester

        backend = make_backend()
        backend.chain.chain_id = CHAIN_ID  # eth-tester's chain class fixes its own; signatures check this one
        self.backend = backend
        self.tester = EthereumTester(backend, auto_mine_transactions=True)
        self.lock = threading.RLock()
        self.time_offset = 0
        self.next_timestamp: int | None = None
        self.methods: dict[str, Callable[..., Any]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }
        self._install_create2_proxy()

    def _install_create2_proxy(self) -> None:
        """The deterministic-deployment proxy, as anvil has it from genesis, installed the standard way:
        its keyless deployer is funded and Nick's presigned transaction is sent (``chain.create2``)."""
        from paygo_desktop.chain.create2 import PROXY_DEPLOYER, PROXY_DEPLOYER_FUNDING, PROXY_DEPLOYMENT_TX

        self.rpc_anvil_setBalance(PROXY_DEPLOYER, PROXY_DEPLOYER_FUNDING)
        self.rpc_eth_sendRawTransaction("0x" + PROXY_DEPLOYMENT_TX.hex())

    def handle(self, method: str, params: list[Any]) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise RpcError(-32601, f"Method not found: {method}")
        from eth.exceptions import Revert
        from eth_tester.exceptions import (
            BlockNotFound,
            TransactionFailed,
            TransactionNotFound,
            ValidationError,
        )
        from eth_utils import ValidationError as EthValidationError

        with self.lock:
            self._refresh_pending_timestamp()
            try:
                return fn(*params)
            except RpcError:
                raise
            except (TransactionNotFound, BlockNotFound):
                return None
            except Revert as exc:
                raise revert_error(exc) from None
            except TransactionFailed as exc:
                raise RpcError(3, f"execution reverted: {exc}") from None
            except (ValidationError, EthValidationError, ValueError, TypeError, KeyError) as exc:
                raise RpcError(-32000, str(exc) or type(exc).__name__) from None

    # -- time ------------------------------------------------------------------------------------------
    def _refresh_pending_timestamp(self) -> None:
        """The next block carries the time it is mined at (eth-tester stamps it when the last one was)."""
        chain = self.backend.chain
        if chain.header.gas_used:
            return
        parent = chain.get_canonical_head()
        if self.next_timestamp is not None:
            wanted = max(self.next_timestamp, parent.timestamp + 1)
        else:
            wanted = max(int(time.time()) + self.time_offset, parent.timestamp + 1)
        if wanted != chain.header.timestamp:
            chain.set_header_timestamp(wanted)

    def _mine(self, count: int = 1) -> None:
        for _ in range(count):
            self._refresh_pending_timestamp()
            self.tester.mine_blocks(1)
            self.next_timestamp = None

    def _mined(self, tx_hash: Any) -> str:
        self.next_timestamp = None
        return tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex()

    # -- meta ------------------------------------------------------------------------------------------
    def rpc_web3_clientVersion(self) -> str:
        return "paygo-embedded/py-evm"

    def rpc_net_version(self) -> str:
        return str(CHAIN_ID)

    def rpc_net_listening(self) -> bool:
        return True

    def rpc_eth_chainId(self) -> str:
        return hex(CHAIN_ID)

    def rpc_eth_syncing(self) -> bool:
        return False

    def rpc_eth_accounts(self) -> list[str]:
        return [to_checksum_address(a) for a in self.tester.get_accounts()]

    def rpc_eth_blockNumber(self) -> str:
        return hex(self.tester.get_block_by_number("latest")["number"])

    # -- fees ------------------------------------------------------------------------------------------
    def _next_base_fee(self) -> int:
        return int(self.backend.chain.header.base_fee_per_gas)

    def rpc_eth_gasPrice(self) -> str:
        return hex(self._next_base_fee() + PRIORITY_FEE)

    def rpc_eth_maxPriorityFeePerGas(self) -> str:
        return hex(PRIORITY_FEE)

    def rpc_eth_feeHistory(
        self, count: Any, newest: Any = "latest", percentiles: Any = None
    ) -> dict[str, Any]:
        count = max(1, min(1024, rpc_int(count)))
        latest = self.tester.get_block_by_number("latest")["number"]
        newest_id = block_id(newest)
        last = latest if isinstance(newest_id, str) else min(newest_id, latest)
        first = max(0, last - count + 1)
        base_fees: list[str] = []
        ratios: list[float] = []
        for number in range(first, last + 1):
            block = self.tester.get_block_by_number(number, full_transactions=False)
            base_fees.append(hex(block["base_fee_per_gas"]))
            ratios.append(block["gas_used"] / block["gas_limit"] if block["gas_limit"] else 0.0)
        base_fees.append(hex(self._next_base_fee() if last == latest else self._base_fee_of(last + 1)))
        result: dict[str, Any] = {
            "oldestBlock": hex(first),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles:
            result["reward"] = [[hex(PRIORITY_FEE) for _ in percentiles] for _ in ratios]
        return result

    def _base_fee_of(self, number: int) -> int:
        return int(self.tester.get_block_by_number(number, full_transactions=False)["base_fee_per_gas"])

    # -- state -----------------------------------------------------------------------------------------
    def rpc_eth_getBalance(self, address: str, block: Any = "latest") -> str:
        return hex(self.tester.get_balance(to_checksum_address(address), block_id(block)))

    def rpc_eth_getTransactionCount(self, address: str, block: Any = "latest") -> str:
        return hex(self.tester.get_nonce(to_checksum_address(address), block_id(block)))

    def rpc_eth_getCode(self, address: str, block: Any = "latest") -> str:
        return str(self.tester.get_code(to_checksum_address(address), block_id(block)))

    def rpc_eth_getStorageAt(self, address: str, slot: Any, block: Any = "latest") -> str:
        value = self.backend.get_storage(to_canonical_address(address), rpc_int(slot), block_id(block))
        raw = value if isinstance(value, bytes) else int(value).to_bytes(32, "big")
        return "0x" + raw.rjust(32, b"\0").hex()

    def rpc_eth_call(self, tx: dict[str, Any], block: Any = "latest", *_overrides: Any) -> str:
        return str(self.tester.call(tx_request(tx, sending=False), block_id(block)))

    def rpc_eth_estimateGas(self, tx: dict[str, Any], block: Any = "latest", *_overrides: Any) -> str:
        return hex(self.tester.estimate_gas(tx_request(tx, sending=False), block_id(block)))

    # -- transactions ----------------------------------------------------------------------------------
    def rpc_eth_sendTransaction(self, tx: dict[str, Any]) -> str:
        request = tx_request(tx, sending=True)
        if "gas" not in request:
            estimate = self.tester.estimate_gas({k: v for k, v in request.items() if k != "nonce"})
            request["gas"] = estimate
        if "gas_price" not in request and "max_fee_per_gas" not in request:
            request["max_priority_fee_per_gas"] = PRIORITY_FEE
            request["max_fee_per_gas"] = 2 * self._next_base_fee() + PRIORITY_FEE
        return self._mined(self.tester.send_transaction(request))

    def rpc_eth_sendRawTransaction(self, raw: str) -> str:
        return self._mined(self.tester.send_raw_transaction(raw))

    def rpc_eth_getTransactionReceipt(self, tx_hash: str) -> dict[str, Any] | None:
        receipt = self.tester.get_transaction_receipt(tx_hash)
        if receipt is None or receipt.get("block_number") is None:
            return None
        out = rpc_object(receipt)
        out.setdefault("logsBloom", "0x" + "00" * 256)
        return out

    def rpc_eth_getTransactionByHash(self, tx_hash: str) -> dict[str, Any] | None:
        return tx_object(self.tester.get_transaction_by_hash(tx_hash))

    def rpc_eth_getBlockByNumber(self, block: Any, full: bool = False) -> dict[str, Any] | None:
        return self._block(self.tester.get_block_by_number(block_id(block), full_transactions=bool(full)))

    def rpc_eth_getBlockByHash(self, block_hash: str, full: bool = False) -> dict[str, Any] | None:
        return self._block(self.tester.get_block_by_hash(block_hash, full_transactions=bool(full)))

    def _block(self, block: dict[str, Any]) -> dict[str, Any]:
        out = rpc_object({k: v for k, v in block.items() if k != "transactions"})
        out["transactions"] = [
            tx_object(t) if isinstance(t, dict) else t for t in block.get("transactions", [])
        ]
        return out

    def rpc_eth_getLogs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        if query.get("blockHash"):
            number = self.tester.get_block_by_hash(query["blockHash"])["number"]
            from_block = to_block = number
        else:
            latest = self.tester.get_block_by_number("latest")["number"]

            def bound(value: Any, default: int) -> int:
                ident = block_id(value) if value is not None else default
                if ident == "earliest":
                    return 0
                return latest if isinstance(ident, str) else int(ident)

            from_block, to_block = bound(query.get("fromBlock"), latest), bound(query.get("toBlock"), latest)
        address = query.get("address")
        if isinstance(address, str):
            address = [address]
        wanted_addresses = {to_checksum_address(a) for a in address} if address else None
        topics = query.get("topics") or []
        out: list[dict[str, Any]] = []
        for number in range(
            from_block, min(to_block, self.tester.get_block_by_number("latest")["number"]) + 1
        ):
            block = self.tester.get_block_by_number(number, full_transactions=False)
            for tx_hash in block["transactions"]:
                receipt = self.tester.get_transaction_receipt(tx_hash)
                for entry in receipt["logs"]:
                    if (
                        wanted_addresses is not None
                        and to_checksum_address(entry["address"]) not in wanted_addresses
                    ):
                        continue
                    if not _topics_match(topics, entry["topics"]):
                        continue
                    out.append(rpc_log(entry))
        return out

    # -- anvil / hardhat test methods ------------------------------------------------------------------
    def rpc_anvil_setBalance(self, address: str, amount: Any) -> None:
        """Write the balance into the pending state and mine it, as anvil shows it at once."""
        chain = self.backend.chain
        vm = chain.get_vm(chain.header)
        state = vm.state
        state.set_balance(to_canonical_address(address), rpc_int(amount))
        state.persist()
        chain.header = chain.header.copy(state_root=state.state_root)
        self._mine()
        return None

    rpc_hardhat_setBalance = rpc_anvil_setBalance

    def rpc_anvil_setCode(self, address: str, code: str) -> None:
        """Write ``code`` at ``address`` and mine it (the sandbox's Permit2 at its canonical address)."""
        chain = self.backend.chain
        vm = chain.get_vm(chain.header)
        state = vm.state
        state.set_code(to_canonical_address(address), bytes.fromhex(code.removeprefix("0x")))
        state.persist()
        chain.header = chain.header.copy(state_root=state.state_root)
        self._mine()
        return None

    rpc_hardhat_setCode = rpc_anvil_setCode

    def rpc_evm_mine(self, *_args: Any) -> str:
        self._mine()
        return "0x0"

    def rpc_anvil_mine(self, count: Any = 1, interval: Any = None) -> None:
        for _ in range(rpc_int(count) if count is not None else 1):
            if interval:
                self.time_offset += rpc_int(interval)
            self._mine()

    def rpc_evm_increaseTime(self, seconds: Any) -> str:
        self.time_offset += rpc_int(seconds)
        return hex(self.time_offset)

    def rpc_evm_setNextBlockTimestamp(self, timestamp: Any) -> None:
        self.next_timestamp = rpc_int(timestamp)
        self.time_offset = self.next_timestamp - int(time.time())

    def rpc_evm_snapshot(self) -> str:
        return hex(int(self.tester.take_snapshot()))

    def rpc_evm_revert(self, snapshot: Any) -> bool:
        try:
            self.tester.revert_to_snapshot(rpc_int(snapshot))
        except Exception:
            return False
        return True


def _topics_match(wanted: list[Any], actual: list[Any]) -> bool:
    actual_hex = [a if isinstance(a, str) else "0x" + bytes(a).hex() for a in actual]
    for i, want in enumerate(wanted):
        if want is None:
            continue
        if i >= len(actual_hex):
            return False
        options = want if isinstance(want, list) else [want]
        if actual_hex[i].lower() not in {o.lower() for o in options}:
            return False
    return True


# ------------------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    node: EmbeddedNode
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(
                413, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "too large"}}
            )
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(
                200, {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            )
            return
        if isinstance(body, list):
            self._reply(200, [self._one(item) for item in body])
        else:
            self._reply(200, self._one(body))

    def _one(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        rid = request.get("id")
        params = request.get("params") or []
        if not isinstance(params, list):
            params = [params]
        try:
            result = self.node.handle(request["method"], params)
        except RpcError as exc:
            log.info("%s -> error %s", request["method"], exc.message)
            return {"jsonrpc": "2.0", "id": rid, "error": exc.as_json()}
        except Exception as exc:
            log.exception("%s failed", request["method"])
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": str(exc)}}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Bind and return the server (call ``serve_forever``); port 0 picks a free one."""
    handler = type("Handler", (_Handler,), {"node": EmbeddedNode()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PayGo sandbox embedded EVM node (py-evm, test keys only)")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = serve(args.port, args.host)
    log.info("embedded node (py-evm) listening on http://%s:%d, chain id %d", args.host, args.port, CHAIN_ID)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
