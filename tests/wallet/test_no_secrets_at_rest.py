"""After creating a wallet, no secret appears in plain text in the database, the settings or the log."""

from __future__ import annotations

import logging
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

from wallet_test_support import CHEAP_KDF, OTHER_KEY, PASSWORD

from paygo_desktop.logs import setup_logging
from paygo_desktop.paths import DataDir
from paygo_desktop.settings import Settings
from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.wallet import Wallet
from paygo_desktop.wallet.mnemonic import derive_private_key, generate_mnemonic


def test_no_secret_in_database_settings_or_log(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data").ensure()
    log_file = setup_logging(data.log_dir, debug=True)
    try:
        store = Store.open(data.database_file)
        settings = Settings.load(data.settings_file)
        wallet = Wallet(data.wallet_dir, AccountRepository(store), kdf=CHEAP_KDF)
        phrase = generate_mnemonic(12)
        record = wallet.create_from_mnemonic(phrase, PASSWORD)
        wallet.add_hd_account("Two")
        wallet.import_private_key(OTHER_KEY, PASSWORD, "Imported")
        settings.active_account = record.address
        settings.save()
        wallet.lock()
        wallet.unlock(PASSWORD)
        wallet.sign_message(record.address, "hello")
        store.close()
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_paygo", False):
                handler.flush()
                handler.close()
                logging.getLogger().removeHandler(handler)

    assert "wallet unlocked" in log_file.read_text()  # the log was written to
    keys = [derive_private_key(phrase, 0), derive_private_key(phrase, 1), bytes.fromhex(OTHER_KEY[2:])]
    words = phrase.split()
    needles = [k.hex().encode() for k in keys] + [k.hex().upper().encode() for k in keys] + keys
    needles += [phrase.encode(), PASSWORD.encode()]
    needles += [f"{a} {b}".encode() for a, b in pairwise(words)]
    files = [p for p in data.root.rglob("*") if p.is_file()]
    checked = {p.name for p in files}
    assert {"paygo.sqlite3", "settings.json", log_file.name, "mnemonic.enc"} <= checked
    for path in files:  # the database (and its WAL), settings, log, and the encrypted wallet files
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"a secret is in {path.name}"
    assert record.address.encode() in data.database_file.read_bytes() or any(
        record.address.encode() in p.read_bytes() for p in files if p.name.startswith("paygo.sqlite3")
    )


def test_importing_the_package_does_not_load_eth_account_or_web3() -> None:
    code = (
        "import sys, paygo_desktop.wallet; "
        "heavy = [m for m in sys.modules "
        "if m.split('.')[0] in ('eth_account', 'web3', 'eth_keys', 'keyring')]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
