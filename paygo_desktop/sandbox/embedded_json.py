"""The embedded node's JSON-RPC shapes (``sandbox.embedded_node``): eth-tester's Python values and objects as
JSON-RPC writes them (hex quantities, camelCase keys, anvil's names), the requests' block ids, quantities and
transactions read back, and a JSON-RPC error."""

from __future__ import annotations

from typing import Any

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


_RENAMES = {"coinbase": "miner", "data": "input", "log_index": "logIndex"}
_DROP = {"state_root"}  # receipts: b"\x01" from eth-tester, not the JSON-RPC field


def _rpc_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_rpc_value(v) for v in value]
    if isinstance(value, dict):
        return rpc_object(value)
    return value


def rpc_object(obj: dict[str, Any], renames: dict[str, str] = _RENAMES) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _DROP:
            continue
        if key == "logs_bloom":
            out["logsBloom"] = "0x" + int(value if isinstance(value, int) else 0).to_bytes(256, "big").hex()
            continue
        if key == "to" and value == "":
            out["to"] = None
            continue
        if key == "logs":
            out["logs"] = [rpc_log(entry) for entry in value]
            continue
        out[renames.get(key, _camel(key))] = _rpc_value(value)
    return out


def rpc_log(entry: dict[str, Any]) -> dict[str, Any]:
    out = rpc_object({k: v for k, v in entry.items() if k != "type"}, renames={})
    out["removed"] = False
    return out


def tx_object(obj: dict[str, Any]) -> dict[str, Any]:
    out = rpc_object(obj)
    if "vValue" in out:
        out["v"] = out.pop("vValue")
    return out


def rpc_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16) if str(value).startswith("0x") else int(value)


def block_id(value: Any) -> Any:
    if value is None:
        return "latest"
    if value in ("latest", "earliest", "pending", "safe", "finalized"):
        return value
    if isinstance(value, dict):  # EIP-1898
        if "blockNumber" in value:
            return rpc_int(value["blockNumber"])
        raise RpcError(-32602, "block hashes as block identifiers are not supported")
    return rpc_int(value)


_TX_KEYS = {
    "from": "from",
    "to": "to",
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "value": "value",
    "data": "data",
    "input": "data",
    "nonce": "nonce",
    "chainId": "chain_id",
    "accessList": "access_list",
}
_TX_INTS = {"gas", "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas", "value", "nonce", "chain_id"}


def tx_request(params: dict[str, Any], *, sending: bool) -> dict[str, Any]:
    tx: dict[str, Any] = {}
    for key, value in params.items():
        name = _TX_KEYS.get(key)
        if name is None or value is None:
            continue
        if name in _TX_INTS:
            tx[name] = rpc_int(value)
        elif name == "access_list":
            tx[name] = [
                {"address": e["address"], "storage_keys": list(e.get("storageKeys", []))} for e in value
            ]
        else:
            tx[name] = value
    tx.setdefault("from", ZERO_ADDRESS)
    if sending:
        tx.pop("chain_id", None)
    if "gas_price" in tx and "max_fee_per_gas" in tx:
        del tx["gas_price"]
    return tx
