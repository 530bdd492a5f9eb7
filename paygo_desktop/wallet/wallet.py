"""The wallet: accounts' keys in keystore files, the recovery phrase in a secret box, one password for all.

Public account data (address, label, kind, keystore file name) goes to the store through
``AccountRepository``; secrets only ever go to files in ``wallet_dir``, encrypted, mode 0600::

    wallet_dir/keystores/<checksum-address>.json   one v3 keystore per account
    wallet_dir/mnemonic.enc                        the recovery phrase (absent for import-only wallets)
    wallet_dir/wallet-id                           a random id, the keychain's user name
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paygo_desktop.fileio import atomic_write_text
from paygo_desktop.store.accounts import AccountRecord, AccountRepository
from paygo_desktop.wallet import keystore_files, secret_box
from paygo_desktop.wallet.errors import (
    DuplicateAccount,
    KeystoreFileError,
    WalletError,
    WalletLocked,
    WrongPassword,
)
from paygo_desktop.wallet.kdf_params import PRODUCTION, KdfParams
from paygo_desktop.wallet.mnemonic import private_key_from_seed, seed_from_mnemonic, validate_mnemonic
from paygo_desktop.wallet.password_policy import MIN_PASSWORD_LENGTH, WeakPassword
from paygo_desktop.wallet.private_keys import address_of, parse_private_key

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

log = logging.getLogger(__name__)

KEYSTORE_DIR_NAME = "keystores"
MNEMONIC_FILE_NAME = "mnemonic.enc"
WALLET_ID_FILE_NAME = "wallet-id"
MAX_LABEL_LENGTH = 100


class Wallet:
    """The user's keys, locked or unlocked.

    Every method that touches a password runs scrypt (~0.8 s at production cost) and blocks: the GUI
    must call them off its event loop, e.g. ``await asyncio.to_thread(wallet.unlock, password)``. An
    internal lock makes calls from several threads safe; they run one at a time.

    While unlocked the wallet holds the private keys, the recovery phrase's BIP-39 seed and the password
    (MetaMask's vault does the same), so new HD accounts can be encrypted without asking again.
    ``lock()`` drops every one of those references. Python cannot wipe memory, so this is hygiene, not a
    guarantee; a ``LocalAccount`` a caller kept from ``local_account`` stays alive until it lets it go.
    """

    def __init__(
        self, wallet_dir: Path, accounts: AccountRepository, *, kdf: KdfParams | None = None
    ) -> None:
        self.wallet_dir = Path(wallet_dir)
        self._accounts = accounts
        self.kdf = kdf if kdf is not None else PRODUCTION
        self._lock = threading.RLock()
        self._keys: dict[str, bytes] | None = None  # checksum address -> key; None while locked
        self._seed: bytes | None = None
        self._password: str | None = None
        self._local_accounts: dict[str, LocalAccount] = {}
        self._unavailable: dict[str, WalletError] = {}

    # -- where things are ---------------------------------------------------------------------------
    @property
    def keystore_dir(self) -> Path:
        return self.wallet_dir / KEYSTORE_DIR_NAME

    @property
    def mnemonic_file(self) -> Path:
        return self.wallet_dir / MNEMONIC_FILE_NAME

    def keystore_path(self, record: AccountRecord) -> Path:
        path = (self.wallet_dir / record.keystore_file).resolve()
        if self.wallet_dir.resolve() not in path.parents:
            raise KeystoreFileError(record.keystore_file, "is outside the wallet directory")
        return path

    @property
    def wallet_id(self) -> str:
        """A random id for this wallet, made on first use (the keychain's user name)."""
        with self._lock:
            path = self.wallet_dir / WALLET_ID_FILE_NAME
            with contextlib.suppress(FileNotFoundError):
                existing = path.read_text("utf-8").strip()
                if existing:
                    return existing
            new_id = uuid.uuid4().hex
            self._ensure_dirs()
            atomic_write_text(path, new_id + "\n")
            return new_id

    # -- state --------------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return bool(self._accounts.list())

    @property
    def has_mnemonic(self) -> bool:
        return self.mnemonic_file.exists()

    @property
    def is_locked(self) -> bool:
        return self._keys is None

    def accounts(self) -> list[AccountRecord]:
        return self._accounts.list()

    def unavailable_accounts(self) -> dict[str, WalletError]:
        """Accounts whose key could not be loaded at the last unlock (e.g. a damaged keystore), and why."""
        with self._lock:
            return dict(self._unavailable)

    # -- creating and importing ---------------------------------------------------------------------
    def create_from_mnemonic(self, mnemonic: str, password: str, label: str = "Account 1") -> AccountRecord:
        """Store the recovery phrase and add its account 0. A wallet has at most one phrase."""
        with self._lock:
            phrase = validate_mnemonic(mnemonic)
            if self.has_mnemonic:
                if self._accounts.list():
                    raise WalletError("This wallet already has a recovery phrase.")
                self._set_aside_unfinished_phrase()
            seed = seed_from_mnemonic(phrase)
            key = private_key_from_seed(seed, 0)
            address = address_of(key)
            if self._accounts.get(address) is not None:
                raise DuplicateAccount(address)
            self._check_password_for_new_account(password)
            self._ensure_dirs()
            secret_box.write_box(self.mnemonic_file, phrase, password, self.kdf)
            try:
                record = self._store_account(key, address, password, label, kind="hd", hd_index=0)
            except BaseException:
                self.mnemonic_file.unlink(missing_ok=True)
                raise
            if self._keys is not None:
                self._seed = seed
            log.info("wallet created from a recovery phrase; account %s", address)
            return record

    def import_private_key(self, key_hex: str, password: str, label: str) -> AccountRecord:
        with self._lock:
            key = parse_private_key(key_hex)
            address = address_of(key)
            if self._accounts.get(address) is not None:
                raise DuplicateAccount(address)
            self._check_password_for_new_account(password)
            record = self._store_account(key, address, password, label, kind="private_key")
            log.info("imported a private key; account %s", address)
            return record

    def import_keystore(
        self,
        json_text: str,
        keystore_password: str,
        password: str,
        label: str,
        source_name: str | None = None,
    ) -> AccountRecord:
        """Decrypt a keystore with its own password and keep its key under the wallet password."""
        source = source_name or "the keystore"
        with self._lock:
            keystore = keystore_files.parse_keystore(json_text, source)
            claimed = keystore_files.keystore_address(keystore)
            existing = self._accounts.get(claimed) if claimed is not None else None
            if existing is not None:
                raise DuplicateAccount(existing.address)
            self._check_password_for_new_account(password)
            key = keystore_files.decrypt_keystore(keystore, keystore_password, source)
            address = address_of(key)
            if claimed is not None and claimed != address.lower():
                raise KeystoreFileError(
                    source, f"claims the address {claimed} but holds the key of {address}"
                )
            if self._accounts.get(address) is not None:
                raise DuplicateAccount(address)
            record = self._store_account(key, address, password, label, kind="keystore")
            log.info("imported keystore %s; account %s", source, address)
            return record

    def add_hd_account(self, label: str) -> AccountRecord:
        """The recovery phrase's next account. Needs the wallet unlocked and a recovery phrase."""
        with self._lock:
            if self._keys is None or self._password is None:
                raise WalletLocked()
            if self._seed is None:
                raise WalletError("This wallet has no recovery phrase to derive accounts from.")
            index = self._accounts.next_hd_index()
            while True:
                key = private_key_from_seed(self._seed, index)
                address = address_of(key)
                if self._accounts.get(address) is None:
                    break
                index += 1  # that key was imported on its own earlier; take the next one
            record = self._store_account(key, address, self._password, label, kind="hd", hd_index=index)
            log.info("added account %s (index %d)", address, index)
            return record

    def rename(self, address: str, label: str) -> None:
        with self._lock:
            label = _clean_label(label)
            try:
                self._accounts.rename(address, label)
            except KeyError:
                raise WalletError(f"There is no account {address} in this wallet.") from None

    # -- passwords, export --------------------------------------------------------------------------
    def check_password(self, password: str) -> bool:
        with self._lock:
            try:
                self._verify_password(password)
            except WrongPassword:
                return False
            return True

    def reveal_mnemonic(self, password: str) -> str:
        """The recovery phrase; asks for the password even when unlocked."""
        with self._lock:
            if not self.has_mnemonic:
                raise WalletError("This wallet has no recovery phrase (its accounts were imported).")
            return secret_box.read_box(self.mnemonic_file, password)

    def export_keystore(self, address: str, password: str) -> str:
        """The account's v3 keystore JSON (scrypt) under the wallet password; geth and cast open it."""
        with self._lock:
            record = self._record(address)
            path = self.keystore_path(record)
            keystore = keystore_files.read_keystore_file(path)
            try:
                key = keystore_files.decrypt_keystore(keystore, password, str(path))
            except WrongPassword:
                raise WrongPassword() from None
            if address_of(key) != record.address:
                raise KeystoreFileError(path, f"does not hold the key of {record.address}")
            return keystore_files.keystore_to_json(keystore)

    # -- locking ------------------------------------------------------------------------------------
    def unlock(self, password: str) -> None:
        """Decrypt every account's key. A wrong password raises ``WrongPassword`` and changes nothing.

        An account whose keystore is damaged does not stop the others: it is listed in
        ``unavailable_accounts()`` and ``local_account`` raises its error.
        """
        with self._lock:
            records = self._accounts.list()
            if not records and not self.has_mnemonic:
                raise WalletError("There is no wallet yet: create or import one first.")
            seed: bytes | None = None
            verified = False
            if self.has_mnemonic:
                seed = seed_from_mnemonic(secret_box.read_box(self.mnemonic_file, password))
                verified = True
            keys: dict[str, bytes] = {}
            unavailable: dict[str, WalletError] = {}
            for record in records:
                try:
                    if record.kind == "hd" and seed is not None and record.hd_index is not None:
                        key = private_key_from_seed(seed, record.hd_index)
                        if address_of(key) != record.address:
                            raise WalletError(
                                f"Account {record.address} is not account {record.hd_index} of the "
                                "recovery phrase."
                            )
                    else:
                        key = self._decrypt_account(record, password, password_verified=verified)
                        verified = True
                    keys[record.address] = key
                except WrongPassword:
                    raise
                except WalletError as exc:
                    log.warning("account %s cannot be unlocked: %s", record.address, exc)
                    unavailable[record.address] = exc
            if not verified:
                raise next(iter(unavailable.values()))
            self._keys, self._seed, self._password = keys, seed, password
            self._unavailable = unavailable
            self._local_accounts = {}
            log.info("wallet unlocked (%d accounts, %d unavailable)", len(keys), len(unavailable))

    def lock(self) -> None:
        """Forget every key, the seed, the password and the LocalAccount objects made from them."""
        with self._lock:
            if self._keys is not None:
                self._keys.clear()
            self._local_accounts.clear()
            self._keys = None
            self._seed = None
            self._password = None
            self._unavailable = {}
            log.info("wallet locked")

    # -- signing ------------------------------------------------------------------------------------
    def local_account(self, address: str) -> LocalAccount:
        """eth-account's signer for ``address``; ``WalletLocked`` while locked."""
        from eth_account import Account

        with self._lock:
            if self._keys is None:
                raise WalletLocked()
            record = self._record(address)
            if record.address in self._unavailable:
                raise self._unavailable[record.address]
            account = self._local_accounts.get(record.address)
            if account is None:
                account = Account.from_key(self._keys[record.address])
                self._local_accounts[record.address] = account
            return account

    def sign_typed_data(self, address: str, full_message: dict[str, Any]) -> bytes:
        """An EIP-712 signature (65 bytes: r, s, v) of a full typed-data message."""
        return bytes(self.local_account(address).sign_typed_data(full_message=full_message).signature)

    def sign_message(self, address: str, text: str) -> bytes:
        """An EIP-191 personal-message signature (65 bytes), as Sign-In with Ethereum uses."""
        from eth_account.messages import encode_defunct

        return bytes(self.local_account(address).sign_message(encode_defunct(text=text)).signature)

    # -- internals ----------------------------------------------------------------------------------
    def _set_aside_unfinished_phrase(self) -> None:
        """A phrase file with no account beside it is a creation cut short (killed after the phrase was
        written, before its account): the wallet is not there yet, and the wizard runs again. The file is
        kept under another name, encrypted as it was, never deleted: it holds a phrase."""
        for n in itertools.count(1):
            aside = self.mnemonic_file.with_name(f"{self.mnemonic_file.name}.unfinished-{n}")
            if not aside.exists():
                self.mnemonic_file.rename(aside)
                log.warning(
                    "a recovery phrase without an account (a creation cut short) kept as %s", aside.name
                )
                return

    def _ensure_dirs(self) -> None:
        for directory in (self.wallet_dir, self.keystore_dir):
            directory.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                directory.chmod(0o700)

    def _record(self, address: str) -> AccountRecord:
        record = self._accounts.get(address)
        if record is None:
            raise WalletError(f"There is no account {address} in this wallet.")
        return record

    def _check_password_for_new_account(self, password: str) -> None:
        """The wallet's password if it has accounts already; otherwise a new one that meets the rules."""
        if self._accounts.list():
            self._verify_password(password)
            return
        if self.has_mnemonic:
            self._set_aside_unfinished_phrase()
        if len(password) < MIN_PASSWORD_LENGTH:
            raise WeakPassword(f"Use at least {MIN_PASSWORD_LENGTH} characters.")

    def _verify_password(self, password: str) -> None:
        """Raise ``WrongPassword`` unless ``password`` is the wallet's (one scrypt run)."""
        if self._keys is not None and self._password is not None:
            import hmac

            if hmac.compare_digest(password.encode("utf-8"), self._password.encode("utf-8")):
                return
            raise WrongPassword("That is not this wallet's password.")
        if self.has_mnemonic:
            try:
                secret_box.read_box(self.mnemonic_file, password)
            except WrongPassword:
                raise WrongPassword("That is not this wallet's password.") from None
            return
        problems: list[WalletError] = []
        for record in self._accounts.list():
            try:
                self._decrypt_account(record, password, password_verified=False)
                return
            except WrongPassword:
                raise WrongPassword("That is not this wallet's password.") from None
            except WalletError as exc:
                problems.append(exc)
        if problems:
            raise problems[0]
        raise WalletError("There is no wallet yet: create or import one first.")

    def _decrypt_account(self, record: AccountRecord, password: str, *, password_verified: bool) -> bytes:
        path = self.keystore_path(record)
        keystore = keystore_files.read_keystore_file(path)
        try:
            key = keystore_files.decrypt_keystore(keystore, password, str(path))
        except WrongPassword:
            if password_verified:  # the wallet password is right, so this file was altered
                raise KeystoreFileError(path, "does not open with the wallet password (altered?)") from None
            raise
        if address_of(key) != record.address:
            raise KeystoreFileError(path, f"does not hold the key of {record.address}")
        return key

    def _store_account(
        self,
        key: bytes,
        address: str,
        password: str,
        label: str,
        *,
        kind: str,
        hd_index: int | None = None,
    ) -> AccountRecord:
        """Write the keystore, then the public record; undo the file if the record fails."""
        label = _clean_label(label)
        was_empty = not self._accounts.list()
        self._ensure_dirs()
        relative = f"{KEYSTORE_DIR_NAME}/{address}.json"
        path = self.wallet_dir / relative
        keystore_files.write_keystore_file(path, keystore_files.encrypt_keystore(key, password, self.kdf))
        try:
            record = self._accounts.add(
                AccountRecord(
                    address=address, label=label, kind=kind, keystore_file=relative, hd_index=hd_index
                )
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if was_empty and self._keys is None:
            self._keys, self._password, self._unavailable = {}, password, {}
        if self._keys is not None:
            self._keys[address] = key
        return record


def _clean_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not cleaned:
        raise WalletError("Give the account a name.")
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise WalletError(f"An account name has at most {MAX_LABEL_LENGTH} characters.")
    return cleaned
