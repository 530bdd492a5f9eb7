"""A rehearsal of Base Sepolia and Base on this machine: anvil started with the real chain id, a USDC-like
token at the address the app expects for that network (the test USDC's runtime code set there with
``anvil_setCode``, its name and symbol written into storage), and PayGo's contracts deployed by the app's own
``paygo-desktop contracts deploy --network N``, from a vendor's wallet in its own data directory.

Only the node is local: everything the app does is what it would do on the real network (its built-in
network entry, with the RPC URL pointed at the node)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode

from paygo_desktop.chain.artifacts import load_artifact
from paygo_desktop.chain.canonical import VAULT, VAULT_MIN_WITHDRAW_DELAY
from paygo_desktop.cli import main
from paygo_desktop.networks import BUILTIN_NETWORKS, Network
from paygo_desktop.sandbox.node import rpc
from tests.chain.conftest import Env, make_account
from tests.chain.test_deploy_command import make_wallet

ERC20_NAME_SLOT, ERC20_SYMBOL_SLOT = 3, 4  # OpenZeppelin ERC20 (5.x): _name and _symbol
LABELS = ("payer", "payer2", "provider", "provider2", "stranger")


def network_entry(key: str, rpc_url: str) -> Network:
    """The app's own built-in network entry, its RPC URL pointed at the rehearsal node."""
    network = next(n for n in BUILTIN_NETWORKS if n.key == key)
    return replace(network, rpc_url=rpc_url)


def _short_string_slot(text: str) -> str:
    """A Solidity string of at most 31 bytes as stored in its slot: the bytes, then length × 2."""
    raw = text.encode()
    return "0x" + (raw.ljust(31, b"\0") + bytes([2 * len(raw)])).hex()


def install_usdc(url: str, address: str) -> None:
    """A mintable 6-decimal token named USD Coin (USDC) at ``address``: the test USDC's runtime code."""
    install_token(url, address, "USD Coin", "USDC", 6)


def install_token(url: str, address: str, name: str, symbol: str, decimals: int) -> None:
    """A mintable token at ``address`` with this name, symbol and decimals: the test USDC's runtime code for
    6 decimals, else a TestToken's (its decimals are in its code: one is deployed, its code copied)."""
    if decimals == 6:
        code = load_artifact("TestUSDC").deployed_bytecode
    else:
        art = load_artifact("TestToken")
        sender = rpc(url, "eth_accounts")[0]
        data = art.bytecode + abi_encode(["string", "string", "uint8"], [name, symbol, decimals]).hex()
        tx = rpc(url, "eth_sendTransaction", [{"from": sender, "data": data, "gas": hex(3_000_000)}])
        deployed = rpc(url, "eth_getTransactionReceipt", [tx])["contractAddress"]
        code = rpc(url, "eth_getCode", [deployed, "latest"])
    rpc(url, "anvil_setCode", [address, code])
    for slot, text in ((ERC20_NAME_SLOT, name), (ERC20_SYMBOL_SLOT, symbol)):
        rpc(url, "anvil_setStorageAt", [address, hex(slot), _short_string_slot(text)])


def install_tokens(url: str, network: Network) -> None:
    """Every token the app lists on ``network``, at its real address."""
    from paygo_desktop.token_list import tokens_for

    for token in tokens_for(network.chain_id):
        install_token(url, token.address, token.name, token.symbol, token.decimals)


@dataclass
class Chain:
    """What ``.rpc`` needs (``make_wallet`` funds the vendor's account through it)."""

    url: str

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return rpc(self.url, method, params)


def deploy_with_command(url: str, network_key: str, tmp_path: Path) -> dict[str, Any]:
    """``paygo-desktop contracts deploy --network KEY --rpc-url URL`` from a vendor's own data directory."""
    vendor = tmp_path / f"vendor-{network_key}"
    vendor.mkdir()
    data, _ = make_wallet(vendor, Chain(url))
    argv = ["--data-dir", str(data.root), "contracts", "deploy", "--network", network_key, "--rpc-url", url]
    argv += ["--password-file", str(vendor / "pw"), "--yes"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, f"contracts deploy exited with {code}"
    return dict(json.loads(out.getvalue()))


def rehearsal_env(url: str, runner: asyncio.Runner, network: Network) -> Env:
    """The test accounts of tests/chain on the rehearsal chain, with ETH and the network's USDC; the vault
    is PayGo's canonical one (deployed by the command)."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from paygo_desktop.chain.vault import VaultClient

    w3 = AsyncWeb3(AsyncHTTPProvider(url))
    accounts = {label: make_account(label) for label in LABELS}
    for account in accounts.values():
        rpc(url, "anvil_setBalance", [account.address, hex(10**24)])
    env = Env(
        url=url,
        runner=runner,
        w3=w3,
        vault=VaultClient(w3, VAULT.address),
        usdc=str(network.tokens[0].address),
        deployer=rpc(url, "eth_accounts")[0],
        chain_id=network.chain_id,
        min_delay=VAULT_MIN_WITHDRAW_DELAY,
        **accounts,
    )
    for account in accounts.values():
        env.mint_usdc(account.address, 10**12)
    return env


def config_file(config: Any, path: Path) -> Path:
    """A running provider's configuration (``ProviderConfig``) written as the JSON file a vendor keeps."""
    data = config.model_dump(mode="json", exclude_none=True, exclude={"zcash"})
    data["private_key"] = config.private_key.get_secret_value()
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def register_with_command(config: Path, data_dir: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    """``paygo-desktop provider register --config F --yes``: exit code, its JSON answer, its stderr."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["--data-dir", str(data_dir), "provider", "register", "--config", str(config), *extra, "--yes"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, (json.loads(out.getvalue()) if code == 0 else {}), err.getvalue()
