"""An ABI entry's canonical signature text (``Name(type,…)``, tuples written out) and the 4-byte selectors of
a contract's custom errors: what an event's topic or a revert's data is matched against."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak


def signature_text(entry: dict[str, Any]) -> str:
    def typ(inp: dict[str, Any]) -> str:
        t = str(inp["type"])
        if t.startswith("tuple"):
            return "(" + ",".join(typ(c) for c in inp["components"]) + ")" + t[len("tuple") :]
        return t

    return f"{entry['name']}({','.join(typ(i) for i in entry['inputs'])})"


def error_selectors(abi: list[dict[str, Any]]) -> dict[bytes, str]:
    """Each custom error of ``abi`` by its 4-byte selector."""
    return {keccak(text=signature_text(e))[:4]: e["name"] for e in abi if e.get("type") == "error"}
