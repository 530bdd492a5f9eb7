from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from wallet_test_support import CHEAP_KDF, FIXTURES, OTHER_ADDRESS, OTHER_KEY

from paygo_desktop.wallet.errors import KeystoreFileError, WrongPassword
from paygo_desktop.wallet.keystore_files import (
    decrypt_keystore,
    encrypt_keystore,
    keystore_address,
    parse_keystore,
    read_keystore_file,
    write_keystore_file,
)
from paygo_desktop.wallet.private_keys import address_of

KEY = bytes.fromhex(OTHER_KEY[2:])


def test_round_trip_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "ks" / "a.json"
    write_keystore_file(path, encrypt_keystore(KEY, "pw-123456", CHEAP_KDF))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keystore = read_keystore_file(path)
    assert keystore["crypto"]["kdf"] == "scrypt"
    assert keystore["crypto"]["kdfparams"]["n"] == CHEAP_KDF.n
    assert keystore_address(keystore) == OTHER_ADDRESS.lower()
    assert decrypt_keystore(keystore, "pw-123456", str(path)) == KEY
    with pytest.raises(WrongPassword):
        decrypt_keystore(keystore, "wrong", str(path))


def test_web3_secret_storage_spec_vector_decrypts() -> None:
    """The scrypt test vector of the Web3 Secret Storage Definition (see fixtures/keystores/SOURCES.md)."""
    path = FIXTURES / "web3_secret_storage_scrypt.json"
    keystore = read_keystore_file(path)
    assert keystore_address(keystore) is None  # the spec vector has no address field
    key = decrypt_keystore(keystore, "testpassword", str(path))
    assert key.hex() == "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"


def test_geth_keystore_decrypts() -> None:
    path = FIXTURES / "geth_light_scrypt_aaa.json"
    keystore = read_keystore_file(path)
    key = decrypt_keystore(keystore, "foobar", str(path))
    assert address_of(key).lower() == "0xf466859ead1932d743d622cb74fc058882e8648a"
    assert keystore_address(keystore) == "0xf466859ead1932d743d622cb74fc058882e8648a"


def test_capitalised_crypto_key_of_old_geth_is_accepted() -> None:
    data = json.loads((FIXTURES / "geth_light_scrypt_aaa.json").read_text())
    data["Crypto"] = data.pop("crypto")
    keystore = parse_keystore(json.dumps(data), "old.json")
    assert decrypt_keystore(keystore, "foobar", "old.json")


def _good_text() -> str:
    return (FIXTURES / "geth_light_scrypt_aaa.json").read_text()


def _with_kdf(kdf: str) -> str:
    data = json.loads(_good_text())
    data["crypto"]["kdf"] = kdf
    return json.dumps(data)


def _without_mac() -> str:
    data = json.loads(_good_text())
    del data["crypto"]["mac"]
    return json.dumps(data)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (_good_text()[:200].encode(), "truncated"),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "not a keystore"),
        (b"{this is not json}", "corrupt"),
        (b'{"hello": "world"}', "not a keystore"),
        (b"[1, 2, 3]", "not a keystore"),
        (_with_kdf("argon2id").encode(), "unsupported kdf"),
        (_without_mac().encode(), "corrupt"),
        (json.dumps({**json.loads(_good_text()), "version": 4}).encode(), "version 4"),
    ],
)
def test_unusable_files_name_the_file_and_the_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreFileError) as info:
        read_keystore_file(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert path.read_bytes() == content  # reading never touches the file


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeystoreFileError, match="is missing"):
        read_keystore_file(tmp_path / "nope.json")


def test_a_tampered_ciphertext_is_not_decrypted() -> None:
    data = json.loads(_good_text())
    text = data["crypto"]["ciphertext"]
    data["crypto"]["ciphertext"] = ("0" if text[0] != "0" else "1") + text[1:]
    with pytest.raises(WrongPassword):  # the MAC check cannot tell tampering from a wrong password
        decrypt_keystore(parse_keystore(json.dumps(data), "x"), "foobar", "x")


def test_scrypt_memory_bomb_is_refused() -> None:
    data = json.loads(_good_text())
    data["crypto"]["kdfparams"]["n"] = 2**30
    with pytest.raises(KeystoreFileError, match="memory"):
        parse_keystore(json.dumps(data), "bomb.json")
