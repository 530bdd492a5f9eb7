"""The first-run wizard's state machine, without Qt: real wallet files, real SQLite, cheap scrypt."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from paygo_desktop.networks import BASE_SEPOLIA, SANDBOX
from paygo_desktop.onboarding import Choice, OnboardingWizard, Step
from paygo_desktop.settings import Settings
from paygo_desktop.store import Store
from paygo_desktop.store.accounts import AccountRepository
from paygo_desktop.store.networks import NetworkRepository
from paygo_desktop.wallet import KdfParams, Wallet, WalletError
from paygo_desktop.wallet.keychain import PasswordKeychain

CHEAP_KDF = KdfParams(n=2**12)
TEST_MNEMONIC = "test test test test test test test test test test test junk"
TEST_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PASSWORD = "a good password"
KEYSTORES = Path(__file__).parent / "fixtures" / "keystores"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "paygo.sqlite3")
    yield s
    s.close()


@pytest.fixture
def wallet(tmp_path: Path, store: Store) -> Wallet:
    return Wallet(tmp_path / "wallet", AccountRepository(store), kdf=CHEAP_KDF)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(tmp_path / "settings.json")


def wizard(**kwargs: object) -> OnboardingWizard:
    return OnboardingWizard(rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def to_network(w: OnboardingWizard) -> None:
    assert w.set_password(PASSWORD, PASSWORD)
    assert w.step is Step.NETWORK


def confirm(w: OnboardingWizard, words: tuple[str, ...]) -> bool:
    return w.confirm_words({p: words[p - 1] for p in w.view().positions})


def test_create_path(wallet: Wallet, settings: Settings, tmp_path: Path) -> None:
    w = wizard()
    view = w.view()
    assert view.step is Step.WELCOME and not view.can_go_back
    w.choose(Choice.CREATE)
    view = w.view()
    assert view.step is Step.SHOW_MNEMONIC and len(view.words) == 12
    w.set_word_count(24)
    words = w.view().words
    assert len(words) == 24
    w.words_written_down()
    view = w.view()
    assert view.step is Step.CONFIRM_WORDS and len(view.positions) == 3 and view.words == ()
    first = view.positions[0]
    assert not w.confirm_words({**{p: words[p - 1] for p in view.positions}, first: "wrong"})
    assert w.step is Step.CONFIRM_WORDS and (w.error or "").startswith(f"Word #{first} does not match")
    a, b, c = sorted(view.positions)
    assert not w.confirm_words({p: "wrong" for p in view.positions})
    assert (w.error or "").startswith(f"Words #{a}, #{b} and #{c} do not match")
    assert confirm(w, words) and w.step is Step.PASSWORD and w.error is None
    assert not w.set_password("short", "short") and "8 characters" in (w.error or "")
    assert not w.set_password(PASSWORD, PASSWORD + "x") and "differ" in (w.error or "")
    to_network(w)
    assert w.view().network_key == SANDBOX.key
    assert [k for k, _ in w.view().network_options] == ["sandbox", "base-sepolia", "base", "custom"]
    assert w.choose_network("base-sepolia")
    assert w.network_to_verify is None
    result = w.finish(wallet, settings)
    assert w.step is Step.DONE and not w.back() and not w.has_secrets
    assert result.network == BASE_SEPOLIA and not result.remembered_password
    assert wallet.reveal_mnemonic(PASSWORD) == " ".join(words)
    assert not wallet.is_locked and wallet.accounts()[0].address == result.account.address
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["network"] == "base-sepolia" and saved["active_account"] == result.account.address


def test_import_mnemonic_path(wallet: Wallet, settings: Settings) -> None:
    w = wizard()
    w.choose("import_mnemonic")
    assert not w.enter_mnemonic("test test test") and "has 3" in (w.error or "")
    assert w.enter_mnemonic("  Test TEST test test test test test test test test test junk ")
    to_network(w)
    assert w.choose_network("sandbox")
    result = w.finish(wallet, settings)
    assert result.account.address == TEST_ADDRESS_0 and result.account.kind == "hd"
    assert settings.network == "sandbox"


def test_import_private_key_path(wallet: Wallet, settings: Settings) -> None:
    w = wizard()
    w.choose(Choice.IMPORT_PRIVATE_KEY)
    assert not w.enter_private_key("0xnothex") and w.step is Step.ENTER_PRIVATE_KEY
    assert w.enter_private_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    to_network(w)
    w.choose_network("base")
    result = w.finish(wallet, settings)
    assert result.account.address == TEST_ADDRESS_0 and result.account.kind == "private_key"
    assert not wallet.has_mnemonic


def test_import_keystore_path(wallet: Wallet, settings: Settings) -> None:
    text = (KEYSTORES / "geth_light_scrypt_aaa.json").read_text()
    w = wizard()
    w.choose(Choice.IMPORT_KEYSTORE)
    assert not w.enter_keystore(text, "wrong", source_name="aaa.json")
    assert "aaa.json" in (w.error or "") and w.step is Step.ENTER_KEYSTORE
    assert not w.enter_keystore("{}", "foobar", source_name="empty.json")
    assert "not a keystore" in (w.error or "")
    assert w.enter_keystore(text, "foobar", source_name="aaa.json")
    to_network(w)
    w.choose_network("sandbox")
    result = w.finish(wallet, settings)
    assert result.account.kind == "keystore"
    assert result.account.address.lower() == "0xf466859ead1932d743d622cb74fc058882e8648a"


def test_custom_network(wallet: Wallet, settings: Settings, store: Store) -> None:
    w = wizard()
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    to_network(w)
    assert not w.choose_network("custom", name="Mine", rpc_url="ftp://x", chain_id="5")
    assert "http" in (w.error or "")
    assert not w.choose_network("custom", name="Mine", rpc_url="http://127.0.0.1:9545", chain_id="five")
    assert not w.choose_network("custom", name="", rpc_url="http://127.0.0.1:9545", chain_id=5)
    assert w.choose_network("custom", name="Mine", rpc_url="http://127.0.0.1:9545", chain_id=" 1337 ")
    network = w.network_to_verify
    assert network is not None and network.chain_id == 1337 and w.view().network_key == "custom"
    repo = NetworkRepository(store)
    w.finish(wallet, settings, networks=repo)
    assert settings.network == network.key and repo.get(network.key) == network


def test_back_from_every_step_and_secrets_dropped_at_welcome() -> None:
    w = wizard()
    assert not w.back()  # nothing before WELCOME
    w.choose(Choice.CREATE)
    words = w.view().words
    w.words_written_down()
    positions = w.view().positions
    assert w.back() and w.step is Step.SHOW_MNEMONIC and w.view().words == words  # same phrase to re-read
    w.words_written_down()
    assert w.view().positions == positions
    confirm(w, words)
    to_network(w)
    assert w.back() and w.step is Step.PASSWORD
    assert w.back() and w.step is Step.CONFIRM_WORDS
    assert w.back() and w.step is Step.SHOW_MNEMONIC
    assert w.back() and w.step is Step.WELCOME and w.choice is None
    assert not w.has_secrets
    w.choose(Choice.CREATE)
    assert w.view().words != words  # a fresh phrase
    for choice, first_step in [
        (Choice.IMPORT_MNEMONIC, Step.ENTER_MNEMONIC),
        (Choice.IMPORT_PRIVATE_KEY, Step.ENTER_PRIVATE_KEY),
        (Choice.IMPORT_KEYSTORE, Step.ENTER_KEYSTORE),
    ]:
        w = wizard()
        w.choose(choice)
        assert w.step is first_step and w.back() and w.step is Step.WELCOME


def test_back_from_password_of_an_import_returns_to_its_entry_step() -> None:
    w = wizard()
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    assert w.back() and w.step is Step.ENTER_MNEMONIC
    assert w.back() and w.step is Step.WELCOME and not w.has_secrets


def test_methods_outside_their_step_are_programming_errors(wallet: Wallet, settings: Settings) -> None:
    w = wizard()
    with pytest.raises(RuntimeError):
        w.set_password(PASSWORD, PASSWORD)
    with pytest.raises(RuntimeError):
        w.finish(wallet, settings)
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    to_network(w)
    with pytest.raises(RuntimeError, match="choose a network"):
        w.finish(wallet, settings)


def test_remember_password_in_keychain(wallet: Wallet, settings: Settings, memory_keyring: object) -> None:
    w = wizard(keychain_available=True)
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    assert w.set_password(PASSWORD, PASSWORD, remember=True)
    assert w.view().remember_password
    w.choose_network("sandbox")
    result = w.finish(wallet, settings)
    assert result.remembered_password and settings.remember_password
    assert PasswordKeychain().recall(wallet.wallet_id) == PASSWORD


def test_remember_without_keychain_is_ignored(wallet: Wallet, settings: Settings) -> None:
    w = wizard(keychain_available=False)
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    w.set_password(PASSWORD, PASSWORD, remember=True)
    assert not w.view().remember_password
    w.choose_network("sandbox")
    assert not w.finish(wallet, settings).remembered_password


def test_a_failed_finish_stays_on_network_with_the_error(wallet: Wallet, settings: Settings) -> None:
    wallet.import_private_key("0x" + "11" * 32, "another password", "Existing")
    w = wizard()
    w.choose(Choice.IMPORT_MNEMONIC)
    w.enter_mnemonic(TEST_MNEMONIC)
    to_network(w)
    w.choose_network("sandbox")
    with pytest.raises(WalletError):
        w.finish(wallet, settings)
    assert w.step is Step.NETWORK and w.error and w.has_secrets
