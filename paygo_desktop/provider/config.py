"""Provider configuration, read from a TOML or JSON file.

Example (TOML)::

    name = "Demo provider"
    private_key_env = "PAYGO_PROVIDER_KEY"     # or private_key = "0x…", or keystore + keystore_password_env
    rpc_url = "http://127.0.0.1:8545"
    chain_id = 31337
    vault = "0x…"
    database = "provider.sqlite3"              # a SQLite file, relative to the config file, or a
                                               # postgresql://user@host/db URL (several workers)
    public_base_url = "http://127.0.0.1:8080"
    claim_interval = 300
    contract_signer_claim_interval = 30        # contract-signed (EIP-1271) vouchers are claimed this often
    max_unclaimed_contract_signed = 120        # ... and may run this many seconds of service ahead of claims
    event_poll_interval = 5                    # how often the vault's events are read (withdrawal requests)
    withdraw_delay_margin = 60                 # seconds a claim may take to be mined after a poll saw the
                                               # request: channels need withdrawDelay >= poll + margin
    settle_tolerance_seconds = 3               # final vouchers may pay this much less than we served, in
    settle_tolerance_window = 600              # all of a channel's sessions ending within this many seconds
    header_timeout = 10                        # seconds a client has to send a request's line and headers
    body_timeout = 30                          # ... and then its body
    max_connections_per_ip = 100               # open connections from one client address (0: no limit)
    close_validity_seconds = 900               # a signed Close is valid this long; no session meanwhile
    head_poll_interval = 0.5                   # how often the chain's head is read: a channel state is
                                               # reused within one block, at most 2x this long
    overload_delay = 1                         # requests waiting longer than this: new sessions get 503
    overload_hold = 10                         # ... until this long after the last such moment
    worker_silence_limit = 10                  # a worker silent this long is presumed dead (expiry sweep)
    start_node_calls_per_client = 30           # chain node calls one address's session starts may cause a
                                               # minute (0: no limit, e.g. behind a reverse proxy)
    start_latest_interval = 5                  # per channel: one latest read, one EIP-1271 check for starts
    catalog_seed = "demo_catalog.json"         # optional; default: the bundled demo catalog
    max_delivery_bytes = 16777216              # the largest file a job's delivery may be
    max_open_job_requests = 10                 # job requests one wallet may have unfunded at a time
    job_request_ttl = 86400                    # an unfunded job request is dropped this many seconds on
    auto_release_interval = 60                 # how often delivered jobs whose review window has passed
                                               # (chain time) are released to the vendor (0: never)
    release_receipt_wait = 60                  # seconds a job's release is waited for in a block (after
                                               # that it is on its way: it is not sent again meanwhile)
    release_dropped_after = 300                # a release the node does not know, its nonce unused, is
                                               # taken as dropped (and sent anew) this many seconds on
    max_fee_per_gas_gwei = 5                   # the most the provider's transactions pay per unit of gas
                                               # (default: 5 on Base, 10 on Base Sepolia, else 100)
    upstream_hosts = ["127.0.0.1"]             # hosts the Vendor page may point a service's upstream at

    [[assets]]
    symbol = "USDC"
    address = "0x…"
    decimals = 6

    [services.market-data-feed]                # the gateway (provider.gateway): a catalog service's id,
    upstream = "ws://127.0.0.1:9001/feed"      # the service it delivers (never reachable around the gateway
    delivery = "websocket"                     # through it), and how: http | websocket | media

    [zcash]                                    # optional; ``mode`` must be given (no default)
    mode = "zallet"                            # "zallet" (a real wallet) or "ledger" (sandbox/tests only)
    network = "test"                           # main | test | regtest (ledger mode refuses main)
    min_confirmations = 1
    # zallet mode only:
    rpc_url = "http://127.0.0.1:28232"
    rpc_user = "paygo"
    rpc_password_env = "PAYGO_ZALLET_PASSWORD"
    account = "0"                              # account UUID (Zallet) or ZIP-32 index
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from paygo_desktop.errors import UserFacingError
from paygo_desktop.networks import fee_ceiling_for_chain, format_gwei, parse_gwei
from paygo_desktop.protocol import proxying
from paygo_desktop.protocol.models import Address, AssetInfo, Name

DEMO_CATALOG = Path(__file__).with_name("demo_catalog.json")


class ConfigError(UserFacingError):
    """The provider configuration file is missing, unreadable or invalid."""


MIN_AUTO_RELEASE_INTERVAL = 0.1  # auto_release_interval: 0 (off) or at least this (no busy loop)

LEDGER_MODE_REFUSED = (
    '[zcash] needs mode = "zallet" (a real Zallet wallet, with rpc_url) for real use. The pretend wallet, '
    'mode = "ledger", lets anyone "pay" through its open pay and mine routes: it runs only where a config '
    "asks for it by name (the sandbox and tests do)."
)


class ZcashConfig(BaseModel):
    """The ``[zcash]`` section: spending permissions paid in ZEC (see provider.zcash_routes).

    ``mode`` has no default: the ledger (a pretend wallet with open pay/mine routes) runs only where a
    config names it, and ``zcash = true`` alone is refused with ``LEDGER_MODE_REFUSED``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    mode: Literal["ledger", "zallet"] | None = None
    network: Literal["main", "test", "regtest"] = "test"
    min_confirmations: Annotated[int, Field(ge=1, le=1000)] = 1
    default_duration_days: Annotated[int, Field(ge=1, le=365)] = 30
    max_amount_zat: Annotated[int, Field(ge=1, le=21_000_000 * 100_000_000)] = 100 * 100_000_000
    ledger_seed: Annotated[str, Field(min_length=1, max_length=200)] = "paygo-sandbox-ledger"
    rpc_url: str | None = None
    rpc_user: str | None = None
    rpc_password: SecretStr | None = None
    rpc_password_env: str | None = None
    account: Annotated[str, Field(min_length=1, max_length=64)] = "0"
    rpc_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @model_validator(mode="after")
    def _mode_settings(self) -> ZcashConfig:
        if self.enabled and self.mode is None:
            raise ValueError(LEDGER_MODE_REFUSED)
        if self.mode == "ledger" and self.network == "main":
            raise ValueError(
                "the local ledger only derives test/regtest addresses; use mode = zallet on main"
            )
        if self.mode == "zallet":
            parts = urlsplit(self.rpc_url or "")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("zallet mode needs rpc_url, an http(s) URL")
        return self

    def rpc_secret(self) -> str:
        if self.rpc_password is not None:
            return self.rpc_password.get_secret_value()
        if self.rpc_password_env:
            value = os.environ.get(self.rpc_password_env)
            if not value:
                raise ConfigError(f"environment variable {self.rpc_password_env} is not set")
            return value
        return ""


class GatewayService(BaseModel):
    """One ``[services.<id>]`` table: the upstream the gateway (provider.gateway) puts behind a catalog
    service, for the payers of that service's live sessions only."""

    model_config = ConfigDict(extra="forbid")

    upstream: Annotated[str, Field(min_length=1, max_length=2048)]
    delivery: Literal["http", "websocket", "media"]
    # a media service's file or playlist, below the upstream, that the app opens (e.g. "clip.mp4")
    entry: Annotated[str, Field(max_length=512, pattern=r"^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")] = ""
    # a proxied request's body (streamed upstream) may be at most this long
    max_request_bytes: Annotated[int, Field(ge=0, le=1024**3)] = 10 * 1024 * 1024
    # seconds the upstream may stay silent while answering a request (0: no limit; the session's end
    # still cuts it)
    read_timeout: Annotated[float, Field(ge=0, le=3600)] = 60.0

    @model_validator(mode="after")
    def _upstream_url(self) -> GatewayService:
        parts = urlsplit(self.upstream)
        schemes = ("ws", "wss") if self.delivery == "websocket" else ("http", "https")
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"a {self.delivery} service's upstream must be a {' or '.join(schemes)} URL")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("an upstream URL has no query, fragment or credentials")
        if self.entry and (self.entry.startswith("/") or proxying.path_problem("/" + self.entry)):
            raise ValueError("an entry is a relative path below the upstream, without dot or empty segments")
        return self


def _gwei(value: Any) -> Any:
    """``max_fee_per_gas_gwei`` as gwei, exactly: a whole number, a string ("0.5", "5 gwei") or a TOML/JSON
    decimal (its shortest text, read as a Decimal: a float never carries the amount), checked by
    ``networks.parse_gwei`` (above 0, at most 100,000 gwei, at most 9 decimals)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('a number of gwei, e.g. 5 or "0.5"')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError('a number of gwei, e.g. 5 or "0.5"')
        value = format(Decimal(repr(value)), "f")
    elif isinstance(value, (int, Decimal)):
        value = format(Decimal(value), "f")
    if not isinstance(value, str):
        raise ValueError('a number of gwei, e.g. 5 or "0.5"')
    if "e" in value.lower() and len(value) <= 40:  # "1E-9": how the JSON round trip writes a small one
        with contextlib.suppress(ArithmeticError):
            exact = Decimal(value.strip())
            if exact.is_finite() and -30 < exact.adjusted() < 30:  # written out, a few dozen digits
                value = format(exact, "f")
    try:
        wei = parse_gwei(value)
    except UserFacingError as exc:
        raise ValueError(str(exc)) from None
    return Decimal(format_gwei(wei))


def _zcash_section(value: Any) -> Any:
    """``zcash = true/false`` (older configs) or a ``[zcash]`` table; ``true`` names no mode, so it is
    refused (it used to mean the ledger)."""
    if isinstance(value, bool):
        return {"enabled": value}
    return value


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    private_key: SecretStr | None = None
    private_key_env: str | None = None
    keystore: Path | None = None
    keystore_password_env: str | None = None
    rpc_url: str
    chain_id: Annotated[int, Field(ge=1)]
    vault: Address
    assets: Annotated[list[AssetInfo], Field(min_length=1)]
    # a SQLite file path or a postgresql:// URL (provider.store.database_url)
    database: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, Path) else v)]
    public_base_url: str
    claim_interval: Annotated[float, Field(gt=0)] = 300.0
    # Vouchers signed by a contract (EIP-1271) are claimed this often: no eth_call proves what a contract
    # will answer the vault on chain, so a signer that approves every check and refuses the claim gets at
    # most this much service before its claim reverts and its channel is refused
    # (provider.contract_signed_claims).
    contract_signer_claim_interval: Annotated[float, Field(gt=0)] = 30.0
    # A contract-signed channel may hold vouchers for at most this many seconds of service (at the rate of
    # the session asking) above what the vault has paid out for it: past that its next voucher, or a new
    # session, is refused (409 unclaimed_limit) until a claim lands. Seconds, not base units: it must
    # exceed what an honest wallet runs up between two claims (contract_signer_claim_interval, the claim's
    # mining, a tick ahead) whatever a service costs, and an amount would have to be set per asset and
    # price. What it lets run unpaid is this many seconds at the vendor's own price, per channel.
    max_unclaimed_contract_signed: Annotated[int, Field(ge=1, le=30 * 86400)] = 120
    event_poll_interval: Annotated[float, Field(gt=0)] = 5.0
    expiry_check_interval: Annotated[float, Field(gt=0)] = 1.0
    # How long a claim may take to be mined once the event poll saw a withdrawal request, with a margin:
    # a channel's withdrawDelay must cover event_poll_interval + this (``min_withdraw_delay``).
    withdraw_delay_margin: Annotated[float, Field(ge=0, le=30 * 86400)] = 60.0
    # A payer's final vouchers may pay for this many seconds fewer than the provider served, all of a
    # channel's sessions that end within ``settle_tolerance_window`` seconds together
    # (session_ending._settle).
    settle_tolerance_seconds: Annotated[int, Field(ge=0, le=60)] = 3
    settle_tolerance_window: Annotated[int, Field(ge=0, le=30 * 86400)] = 600
    # Slow clients (provider.connection_guard): time to send a request's headers, then its body; open
    # connections per client address (0: no limit, e.g. behind a reverse proxy that limits them itself).
    header_timeout: Annotated[float, Field(gt=0, le=600)] = 10.0
    body_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    max_connections_per_ip: Annotated[int, Field(ge=0, le=100_000)] = 100
    keep_alive_timeout: Annotated[int, Field(ge=1, le=600)] = 5
    # A Close this provider signs (POST /channels/{id}/close) is valid on chain this long; until then the
    # channel takes no new session, so the Close never undercuts a voucher accepted after it (core.close).
    close_validity_seconds: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 900
    # Chain reads (provider.chain_view): a channel's state is read once per head block; the head is polled
    # this often, and a state is reused only while a poll confirmed its block within twice this.
    head_poll_interval: Annotated[float, Field(ge=0.05, le=2.0)] = 0.5
    # Overload (provider.load): when requests wait longer than overload_delay, new sessions are refused
    # (503 busy, Retry-After) until overload_hold seconds after the last such moment; a worker that has
    # not reported for worker_silence_limit seconds is presumed dead by the expiry sweep.
    overload_delay: Annotated[float, Field(gt=0, le=60)] = 1.0
    overload_hold: Annotated[float, Field(ge=1, le=600)] = 10.0
    worker_silence_limit: Annotated[float, Field(ge=2, le=600)] = 10.0
    # Session starts (provider.start_guard): node calls (a channel state not read at the head yet, a latest
    # read, an EIP-1271 check) one client address's starts may cause a minute, in a burst of as many (0: no
    # limit, e.g. behind a reverse proxy that does not pass the client's address on); and per channel, one
    # latest read and one EIP-1271 check for starts this many seconds apart at most.
    start_node_calls_per_client: Annotated[int, Field(ge=0, le=100_000)] = 30
    start_latest_interval: Annotated[float, Field(gt=0, le=600)] = 5.0
    catalog_seed: Path | None = None
    zcash: Annotated[ZcashConfig, BeforeValidator(_zcash_section)] = ZcashConfig(enabled=False)
    max_body_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 64 * 1024
    # The gateway (provider.gateway): catalog service id -> its upstream; how often each worker reads the
    # state of the sessions it has open connections for, to cut those that ended.
    services: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")], GatewayService] = {}
    gateway_watch_interval: Annotated[float, Field(gt=0, le=60)] = 0.5
    # the hosts an upstream set through the vendor's service routes may name (provider.service_upstreams);
    # empty: upstreams come from [services.<id>] only
    upstream_hosts: list[Annotated[str, Field(pattern=r"^[a-z0-9.:\[\]-]{1,253}$")]] = []
    # Fixed-price jobs (provider/jobs.py, provider/job_deliveries.py): PayGoJobs' address (default: its
    # canonical one), where delivered files are kept (default: "<database name>-deliveries" beside a SQLite
    # database; with PostgreSQL only when given, a directory every worker shares), and their largest size.
    jobs_contract: Address | None = None
    deliveries: Path | None = None
    max_delivery_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024 * 1024)] = 16 * 1024 * 1024
    # Job requests not funded: at most this many per client wallet at a time (429 past it), each dropped
    # once it is this many seconds old and still not funded on chain (provider/jobs.py, JobDesk.request).
    max_open_job_requests: Annotated[int, Field(ge=1, le=1000)] = 10
    job_request_ttl: Annotated[int, Field(ge=60, le=30 * 86400)] = 86400
    # Every this many seconds the provider (its leader worker) sends ``release`` for each delivered job
    # whose client's review window has passed on chain without an approval, so the vendor is paid without
    # asking (provider/job_release.py); 0 turns it off (the vendor then releases from the Vendor page).
    auto_release_interval: Annotated[float, Field(ge=0, le=86400)] = 60.0
    # How long a release (the rounds' or the vendor's) is waited for in a block before the answer says it is
    # on its way (provider/jobs.py, JobDesk.release).
    release_receipt_wait: Annotated[float, Field(gt=0, le=600)] = 60.0
    # A release on its way that the node no longer knows, its nonce not used by any transaction, is taken
    # as dropped (a new one may be sent) only this many seconds after it was sent: a node behind a load
    # balancer may not see a transaction another backend holds (provider/job_release_tx.py).
    release_dropped_after: Annotated[int, Field(ge=1, le=86400)] = 300
    # The most any transaction from the provider's key (its claims, its jobs' releases and deliveries) pays
    # per unit of gas (maxFeePerGas), in gwei, whatever its node quotes (provider/fee_ceiling.py): a node
    # that misreports fees cannot make it spend its ETH on gas. None: the app's ceiling for the built-in
    # network on ``chain_id`` (Base 5, Base Sepolia 10, a local chain 100), else 100 (``max_fee_per_gas``).
    max_fee_per_gas_gwei: Annotated[Decimal | None, BeforeValidator(_gwei)] = None

    @model_validator(mode="after")
    def _one_key_source(self) -> ProviderConfig:
        sources = [self.private_key is not None, self.private_key_env is not None, self.keystore is not None]
        if sum(sources) != 1:
            raise ValueError("give exactly one of private_key, private_key_env, keystore")
        parts = urlsplit(self.public_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("public_base_url must be an http(s) URL")
        return self

    @field_validator("auto_release_interval")
    @classmethod
    def _auto_release_interval(cls, value: float) -> float:
        if 0 < value < MIN_AUTO_RELEASE_INTERVAL:
            raise ValueError(f"0 (off) or at least {MIN_AUTO_RELEASE_INTERVAL:g} seconds")
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        from paygo_desktop.provider.store import DatabaseError, database_url

        try:
            database_url(value)
        except DatabaseError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def min_withdraw_delay(self) -> int:
        """The shortest channel withdrawal delay this provider serves: a withdrawal request is seen within
        one event poll, and its claim must be mined before the payer can finalize the withdrawal."""
        return math.ceil(self.event_poll_interval + self.withdraw_delay_margin)

    @property
    def max_fee_per_gas(self) -> int:
        """Wei per unit of gas: ``max_fee_per_gas_gwei``, or the default ceiling of ``chain_id``."""
        if self.max_fee_per_gas_gwei is None:
            return fee_ceiling_for_chain(self.chain_id)
        return int(self.max_fee_per_gas_gwei.scaleb(9))  # whole wei: at most 9 decimals (``_gwei``)

    @property
    def deliveries_dir(self) -> Path | None:
        """Where delivered files are kept: ``deliveries``, or beside a SQLite database; None for a
        PostgreSQL database without ``deliveries`` (its workers may be on several hosts: links only)."""
        if self.deliveries is not None:
            return self.deliveries
        if "://" in self.database:
            return None
        database = Path(self.database)
        return database.with_name(database.stem + "-deliveries")

    @property
    def auth_domain(self) -> str:
        """The EIP-4361 domain clients must sign for: host[:port] of the public base URL."""
        return urlsplit(self.public_base_url).netloc

    def account(self) -> LocalAccount:
        try:
            if self.private_key is not None:
                return Account.from_key(self.private_key.get_secret_value())
            if self.private_key_env is not None:
                value = os.environ.get(self.private_key_env)
                if not value:
                    raise ConfigError(f"environment variable {self.private_key_env} is not set")
                return Account.from_key(value)
            assert self.keystore is not None
            password = os.environ.get(self.keystore_password_env or "", "")
            keyfile = json.loads(self.keystore.read_text())
            return Account.from_key(Account.decrypt(keyfile, password))
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"cannot load the provider key: {type(exc).__name__}") from None

    def asset_by_symbol(self, symbol: str) -> AssetInfo | None:
        return next((a for a in self.assets if a.symbol == symbol), None)

    def asset_by_address(self, address: str) -> AssetInfo | None:
        return next((a for a in self.assets if a.address.lower() == address.lower()), None)


def load_config(path: Path) -> ProviderConfig:
    """Read a ``.toml`` or ``.json`` config; relative paths in it are relative to the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data: dict[str, Any] = (
            json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
        ) from None
    base = path.resolve().parent
    for key in ("database", "keystore", "catalog_seed", "deliveries"):
        value = data.get(key)
        if isinstance(value, str) and "://" not in value and not Path(value).is_absolute():
            data[key] = str(base / value)
    try:
        return ProviderConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
