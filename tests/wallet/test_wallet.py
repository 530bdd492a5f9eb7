from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
from wallet_test_support import (
    CHEAP_KDF,
    FIXTURES,
    OTHER_ADDRESS,
    OTHER_KEY,
    PASSWORD,
    TEST_ADDRESS_0,
    TEST_ADDRESS_1,
    TEST_MNEMONIC,
    snapshot,
)

from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.wallet import (
    PRODUCTION,
    DuplicateAccount,
    InvalidMnemonic,
    InvalidPrivateKey,
    KdfParams,
    KeystoreFileError,
    Wallet,
    WalletError,
    WalletLocked,
    WrongPassword,
)
from paygo_desktop.wallet.keystore_files import encrypt_keystore, keystore_to_json
from paygo_desktop.wallet.password_policy import WeakPassword

GETH_ADDRESS = "0xf466859ead1932d743d622cb74fc058882e8648a"


def test_a_new_wallet_is_empty_and_locked(wallet: Wallet) -> None:
    assert not wallet.exists and not wallet.has_mnemonic and wallet.is_locked
    assert wallet.accounts() == []
    with pytest.raises(WalletError, match="no wallet yet"):
        wallet.unlock(PASSWORD)


def test_create_from_mnemonic(wallet: Wallet, wallet_dir: Path) -> None:
    record = wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
    assert (record.address, record.kind, record.hd_index, record.label) == (
        TEST_ADDRESS_0,
        "hd",
        0,
        "Account 1",
    )
    assert record.keystore_file == f"keystores/{TEST_ADDRESS_0}.json"
    assert wallet.exists and wallet.has_mnemonic and not wallet.is_locked
    assert (wallet_dir / "keystores" / f"{TEST_ADDRESS_0}.json").is_file()
    assert (wallet_dir / "mnemonic.enc").is_file()
    assert wallet.local_account(TEST_ADDRESS_0).address == TEST_ADDRESS_0
    for path in wallet_dir.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_weak_first_password_and_bad_phrase_are_refused(wallet: Wallet, wallet_dir: Path) -> None:
    with pytest.raises(WeakPassword):
        wallet.create_from_mnemonic(TEST_MNEMONIC, "short")
    with pytest.raises(InvalidMnemonic):
        wallet.create_from_mnemonic("test " * 12, PASSWORD)
    assert not wallet.exists and not wallet.has_mnemonic


def test_one_phrase_per_wallet(hd_wallet: Wallet) -> None:
    with pytest.raises(WalletError, match="already has a recovery phrase"):
        hd_wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)


def test_lock_unlock_and_hd_accounts(hd_wallet: Wallet) -> None:
    second = hd_wallet.add_hd_account("Savings")
    assert (second.address, second.hd_index, second.label) == (TEST_ADDRESS_1, 1, "Savings")
    hd_wallet.lock()
    assert hd_wallet.is_locked
    for address in (TEST_ADDRESS_0, TEST_ADDRESS_1):
        with pytest.raises(WalletLocked):
            hd_wallet.local_account(address)
    with pytest.raises(WalletLocked):
        hd_wallet.add_hd_account("x")
    with pytest.raises(WalletLocked):
        hd_wallet.sign_message(TEST_ADDRESS_0, "hi")
    hd_wallet.unlock(PASSWORD)
    assert hd_wallet.local_account(TEST_ADDRESS_1.lower()).address == TEST_ADDRESS_1


def test_lock_drops_every_reference_to_key_material(hd_wallet: Wallet) -> None:
    hd_wallet.local_account(TEST_ADDRESS_0)
    hd_wallet.lock()
    state = vars(hd_wallet)
    assert state["_keys"] is None and state["_seed"] is None and state["_password"] is None
    assert state["_local_accounts"] == {}


def test_wrong_password_changes_nothing(hd_wallet: Wallet, wallet_dir: Path) -> None:
    hd_wallet.import_private_key(OTHER_KEY, PASSWORD, "Other")
    hd_wallet.lock()
    before, records = snapshot(wallet_dir), hd_wallet.accounts()
    with pytest.raises(WrongPassword):
        hd_wallet.unlock("not the password")
    assert hd_wallet.is_locked
    assert not hd_wallet.check_password("not the password")
    with pytest.raises(WrongPassword):
        hd_wallet.reveal_mnemonic("not the password")
    with pytest.raises(WrongPassword):
        hd_wallet.export_keystore(TEST_ADDRESS_0, "not the password")
    with pytest.raises(WrongPassword):
        hd_wallet.import_private_key("0x" + "11" * 32, "not the password", "x")
    geth = (FIXTURES / "geth_light_scrypt_aaa.json").read_text()
    with pytest.raises(WrongPassword):
        hd_wallet.import_keystore(geth, "foobar", "not the password", "x")
    with pytest.raises(WrongPassword):
        hd_wallet.import_keystore(geth, "not foobar", PASSWORD, "x")
    assert snapshot(wallet_dir) == before
    assert hd_wallet.accounts() == records
    # unlocked, a wrong password is refused the same way and the wallet stays unlocked
    hd_wallet.unlock(PASSWORD)
    with pytest.raises(WrongPassword):
        hd_wallet.unlock("not the password")
    assert not hd_wallet.is_locked
    with pytest.raises(WrongPassword):
        hd_wallet.import_private_key("0x" + "11" * 32, "not the password", "x")
    assert snapshot(wallet_dir) == before


def test_check_password_and_reveal(hd_wallet: Wallet) -> None:
    hd_wallet.lock()
    assert hd_wallet.check_password(PASSWORD)
    assert hd_wallet.is_locked  # checking does not unlock
    assert hd_wallet.reveal_mnemonic(PASSWORD) == TEST_MNEMONIC


def test_import_private_key(wallet: Wallet) -> None:
    with pytest.raises(InvalidPrivateKey):
        wallet.import_private_key("0x1234", PASSWORD, "x")
    with pytest.raises(InvalidPrivateKey):
        wallet.import_private_key("0x" + "00" * 32, PASSWORD, "x")
    record = wallet.import_private_key(OTHER_KEY[2:].upper(), PASSWORD, "  My   key ")
    assert (record.address, record.kind, record.label) == (OTHER_ADDRESS, "private_key", "My key")
    assert not wallet.has_mnemonic and not wallet.is_locked
    with pytest.raises(DuplicateAccount):
        wallet.import_private_key(OTHER_KEY, PASSWORD, "again")
    with pytest.raises(WalletError, match="no recovery phrase"):
        wallet.add_hd_account("x")
    with pytest.raises(WalletError, match="no recovery phrase"):
        wallet.reveal_mnemonic(PASSWORD)
    wallet.lock()
    wallet.unlock(PASSWORD)  # an import-only wallet checks the password against a keystore
    assert wallet.local_account(OTHER_ADDRESS).key.hex() == OTHER_KEY[2:]


def test_a_phrase_can_join_an_import_only_wallet_with_the_same_password(wallet: Wallet) -> None:
    wallet.import_private_key(OTHER_KEY, PASSWORD, "Imported")
    wallet.lock()
    with pytest.raises(WrongPassword):
        wallet.create_from_mnemonic(TEST_MNEMONIC, "another password")
    wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
    assert wallet.is_locked  # a locked wallet stays locked
    wallet.unlock(PASSWORD)
    assert {a.address for a in wallet.accounts()} == {OTHER_ADDRESS, TEST_ADDRESS_0}
    assert wallet.add_hd_account("Two").address == TEST_ADDRESS_1


def test_hd_index_skips_a_key_imported_on_its_own(wallet: Wallet) -> None:
    from paygo_desktop.wallet.mnemonic import derive_private_key

    wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
    wallet.import_private_key(derive_private_key(TEST_MNEMONIC, 1).hex(), PASSWORD, "Imported #1")
    record = wallet.add_hd_account("Next")
    assert record.hd_index == 2


def test_import_keystore_re_encrypts_under_the_wallet_password(hd_wallet: Wallet, wallet_dir: Path) -> None:
    geth = (FIXTURES / "geth_light_scrypt_aaa.json").read_text()
    record = hd_wallet.import_keystore(geth, "foobar", PASSWORD, "From geth", source_name="aaa")
    assert record.address.lower() == GETH_ADDRESS and record.kind == "keystore"
    stored = json.loads((wallet_dir / record.keystore_file).read_text())
    assert stored["crypto"]["kdfparams"]["n"] == CHEAP_KDF.n  # re-encrypted, not copied
    hd_wallet.lock()
    hd_wallet.unlock(PASSWORD)
    assert hd_wallet.local_account(record.address).address == record.address
    with pytest.raises(DuplicateAccount):
        hd_wallet.import_keystore(geth, "foobar", PASSWORD, "again")


def test_import_spec_vector_without_address(hd_wallet: Wallet) -> None:
    spec = (FIXTURES / "web3_secret_storage_scrypt.json").read_text()
    record = hd_wallet.import_keystore(spec, "testpassword", PASSWORD, "Spec")
    assert hd_wallet.local_account(record.address).key.hex() == (
        "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
    )


def test_import_keystore_errors_name_the_source(hd_wallet: Wallet) -> None:
    with pytest.raises(KeystoreFileError, match=r"mine\.json is truncated"):
        hd_wallet.import_keystore('{"crypto": {', "pw", PASSWORD, "x", source_name="mine.json")
    with pytest.raises(WrongPassword, match=r"does not open mine\.json"):
        hd_wallet.import_keystore(
            (FIXTURES / "geth_light_scrypt_aaa.json").read_text(),
            "nope",
            PASSWORD,
            "x",
            source_name="mine.json",
        )
    lying = json.loads(keystore_to_json(encrypt_keystore(bytes.fromhex(OTHER_KEY[2:]), "pw", CHEAP_KDF)))
    lying["address"] = "00" * 20
    with pytest.raises(KeystoreFileError, match="claims the address"):
        hd_wallet.import_keystore(json.dumps(lying), "pw", PASSWORD, "x", source_name="lie.json")


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "\x00\x01 garbage",  # corrupt
        lambda text: '{"name": "not a keystore"}',  # foreign JSON
        lambda text: text.replace('"scrypt"', '"argon2id"'),  # unsupported kdf
    ],
    ids=["truncated", "corrupt", "foreign", "unsupported-kdf"],
)
def test_a_damaged_keystore_does_not_stop_the_others(hd_wallet: Wallet, wallet_dir: Path, damage) -> None:  # type: ignore[no-untyped-def]
    damaged = hd_wallet.import_private_key(OTHER_KEY, PASSWORD, "Other")
    geth = hd_wallet.import_keystore(
        (FIXTURES / "geth_light_scrypt_aaa.json").read_text(), "foobar", PASSWORD, "G"
    )
    hd_wallet.lock()
    path = wallet_dir / damaged.keystore_file
    path.write_text(damage(path.read_text()))
    hd_wallet.unlock(PASSWORD)
    problems = hd_wallet.unavailable_accounts()
    assert list(problems) == [OTHER_ADDRESS]
    assert isinstance(problems[OTHER_ADDRESS], KeystoreFileError)
    assert str(path.resolve()) in str(problems[OTHER_ADDRESS])
    with pytest.raises(KeystoreFileError):
        hd_wallet.local_account(OTHER_ADDRESS)
    assert hd_wallet.local_account(TEST_ADDRESS_0).address == TEST_ADDRESS_0
    assert hd_wallet.local_account(geth.address).address == geth.address


def test_import_only_wallet_unlocks_past_a_damaged_first_keystore(wallet: Wallet, wallet_dir: Path) -> None:
    first = wallet.import_private_key(OTHER_KEY, PASSWORD, "First")
    wallet.import_private_key("0x" + "22" * 32, PASSWORD, "Second")
    wallet.lock()
    (wallet_dir / first.keystore_file).write_text("{")
    with pytest.raises(WrongPassword):
        wallet.unlock("wrong password")
    wallet.unlock(PASSWORD)
    assert list(wallet.unavailable_accounts()) == [first.address]
    (wallet_dir / wallet.accounts()[1].keystore_file).write_text("{")
    wallet.lock()
    with pytest.raises(KeystoreFileError):  # nothing left to check the password against
        wallet.unlock(PASSWORD)


def test_export_keystore_opens_with_eth_keyfile(hd_wallet: Wallet) -> None:
    import eth_keyfile

    exported = hd_wallet.export_keystore(TEST_ADDRESS_0, PASSWORD)
    data = json.loads(exported)
    assert data["version"] == 3 and data["crypto"]["kdf"] == "scrypt"
    assert data["crypto"]["cipher"] == "aes-128-ctr"
    key = eth_keyfile.decode_keyfile_json(data, PASSWORD.encode())
    assert key == bytes(hd_wallet.local_account(TEST_ADDRESS_0).key)


def test_rename(hd_wallet: Wallet) -> None:
    hd_wallet.rename(TEST_ADDRESS_0.lower(), "Main")
    assert hd_wallet.accounts()[0].label == "Main"
    with pytest.raises(WalletError):
        hd_wallet.rename(TEST_ADDRESS_0, "   ")
    with pytest.raises(WalletError, match="no account"):
        hd_wallet.rename(OTHER_ADDRESS, "x")


def test_sign_message_and_typed_data(hd_wallet: Wallet) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct, encode_typed_data

    signature = hd_wallet.sign_message(TEST_ADDRESS_0, "Sign in to PayGo")
    assert len(signature) == 65
    assert (
        Account.recover_message(encode_defunct(text="Sign in to PayGo"), signature=signature)
        == TEST_ADDRESS_0
    )
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "Voucher": [{"name": "amount", "type": "uint256"}, {"name": "payee", "type": "address"}],
        },
        "primaryType": "Voucher",
        "domain": {"name": "PayGo", "chainId": 31337},
        "message": {"amount": 1500000, "payee": TEST_ADDRESS_1},
    }
    signature = hd_wallet.sign_typed_data(TEST_ADDRESS_0, typed)
    assert (
        Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == TEST_ADDRESS_0
    )


def test_wallet_id_is_stable(wallet: Wallet, accounts: AccountRepository, wallet_dir: Path) -> None:
    first = wallet.wallet_id
    assert first == Wallet(wallet_dir, accounts).wallet_id
    assert stat.S_IMODE((wallet_dir / "wallet-id").stat().st_mode) == 0o600


def test_calls_from_threads_are_serialised(hd_wallet: Wallet) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                hd_wallet.lock()
                hd_wallet.unlock(PASSWORD)
                hd_wallet.check_password(PASSWORD)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_production_kdf_is_the_default_and_matches_eth_account(
    wallet_dir: Path, accounts: AccountRepository
) -> None:
    from eth_keyfile import keyfile

    assert Wallet(wallet_dir, accounts).kdf == PRODUCTION == KdfParams(n=2**18, r=8, p=1)
    assert PRODUCTION.n == keyfile.get_default_work_factor_for_kdf("scrypt")
    assert (PRODUCTION.r, PRODUCTION.p) == (keyfile.SCRYPT_R, keyfile.SCRYPT_P)
    with pytest.raises(ValueError):
        KdfParams(n=1000)
    with pytest.raises(ValueError):
        KdfParams(n=2**12, r=1, p=8)


@pytest.mark.slow
def test_production_parameters_end_to_end(wallet_dir: Path, accounts: AccountRepository) -> None:
    """The only test at full scrypt cost: what the app writes and reads when nothing is passed."""
    wallet = Wallet(wallet_dir, accounts)
    wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
    keystore = json.loads((wallet_dir / "keystores" / f"{TEST_ADDRESS_0}.json").read_text())
    assert keystore["crypto"]["kdfparams"] | {"salt": None} == {
        "dklen": 32,
        "n": 2**18,
        "r": 8,
        "p": 1,
        "salt": None,
    }
    box = json.loads((wallet_dir / "mnemonic.enc").read_text())
    assert (box["n"], box["r"], box["p"]) == (2**18, 8, 1)
    wallet.lock()
    wallet.unlock(PASSWORD)
    assert wallet.sign_message(TEST_ADDRESS_0, "hello")


KILLED_CREATION = """
import os, signal, sys
sys.path.insert(0, sys.argv[3])
from wallet_test_support import CHEAP_KDF, PASSWORD, TEST_MNEMONIC
from paygo_desktop.store import Store
from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.wallet import Wallet

wallet = Wallet(sys.argv[2], AccountRepository(Store.open(sys.argv[1])), kdf=CHEAP_KDF)
# killed the moment the phrase is written, before its account is stored
wallet._store_account = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
wallet.create_from_mnemonic(TEST_MNEMONIC, PASSWORD)
"""


@pytest.mark.parametrize("then", ["create", "import"])
def test_a_creation_killed_between_the_phrase_and_its_account_can_be_done_again(
    tmp_path: Path, then: str
) -> None:
    """kill -9 after mnemonic.enc was written, before the account: the app shows the wizard again (no
    wallet yet), and creating or restoring the wallet there works, with any password; the cut-short phrase
    file is kept aside, encrypted, not deleted."""
    import subprocess
    import sys

    database, wallet_dir = tmp_path / "paygo.sqlite3", tmp_path / "wallet"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_CREATION, str(database), str(wallet_dir), str(Path(__file__).parent)],
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert (wallet_dir / "mnemonic.enc").is_file()

    store = Store.open(database)
    wallet = Wallet(wallet_dir, AccountRepository(store), kdf=CHEAP_KDF)
    assert not wallet.exists  # the wizard runs again
    if then == "create":
        record = wallet.create_from_mnemonic(TEST_MNEMONIC, "another password 456")
    else:  # or the wizard's other way: a private key, under a new password
        record = wallet.import_private_key(OTHER_KEY, "another password 456", "Imported")
    assert record.address == (TEST_ADDRESS_0 if then == "create" else OTHER_ADDRESS) and wallet.exists
    wallet.lock()
    wallet.unlock("another password 456")
    assert wallet.local_account(record.address).address == record.address
    assert [p.name for p in wallet_dir.glob("mnemonic.enc.unfinished-*")] == ["mnemonic.enc.unfinished-1"]
    if then == "create":
        with pytest.raises(WalletError, match="already has a recovery phrase"):  # a finished one stays
            wallet.create_from_mnemonic(TEST_MNEMONIC, "another password 456")
    store.close()
