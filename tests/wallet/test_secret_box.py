from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from wallet_test_support import CHEAP_KDF, TEST_MNEMONIC

from paygo_desktop.wallet.errors import WalletError, WrongPassword
from paygo_desktop.wallet.secret_box import open_box, read_box, seal, write_box


def test_round_trip_and_file_format(tmp_path: Path) -> None:
    path = tmp_path / "mnemonic.enc"
    write_box(path, TEST_MNEMONIC, "pw-123456", CHEAP_KDF)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["kdf"] == "scrypt"
    assert (data["n"], data["r"], data["p"]) == (CHEAP_KDF.n, 8, 1)
    assert "junk" not in path.read_text()
    assert read_box(path, "pw-123456") == TEST_MNEMONIC


def test_salt_and_nonce_are_fresh_each_time() -> None:
    a, b = json.loads(seal("x", "pw", CHEAP_KDF)), json.loads(seal("x", "pw", CHEAP_KDF))
    assert a["salt"] != b["salt"] and a["nonce"] != b["nonce"] and a["ciphertext"] != b["ciphertext"]


def test_wrong_password() -> None:
    with pytest.raises(WrongPassword):
        open_box(seal("secret", "right-pw", CHEAP_KDF), "wrong-pw", "box")


def test_editing_the_header_breaks_decryption() -> None:
    data = json.loads(seal("secret", "right-pw", CHEAP_KDF))
    data["p"] = 2
    with pytest.raises(WrongPassword):
        open_box(json.dumps(data), "right-pw", "box")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: "not json",
        lambda d: json.dumps({**d, "format": "other"}),
        lambda d: json.dumps({**d, "salt": "!!"}),
        lambda d: json.dumps({k: v for k, v in d.items() if k != "ciphertext"}),
        lambda d: json.dumps({**d, "n": 1000}),
    ],
)
def test_damaged_box_names_the_file(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mnemonic.enc"
    path.write_text(mutate(json.loads(seal("secret", "pw-123456", CHEAP_KDF))))
    with pytest.raises(WalletError) as info:
        read_box(path, "pw-123456")
    assert not isinstance(info.value, WrongPassword)
    assert str(path) in str(info.value)


def test_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mnemonic.enc"
    path.write_text(json.dumps({**json.loads(seal("s", "pw", CHEAP_KDF)), "version": 2}))
    with pytest.raises(WalletError, match="newer version"):
        read_box(path, "pw")
