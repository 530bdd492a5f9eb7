"""The first-run wizard as a Qt-free state machine; the GUI draws ``view()`` and calls one method per button.

Paths through the steps::

    WELCOME ─ create ──────────── SHOW_MNEMONIC → CONFIRM_WORDS ─┐
            ─ import_mnemonic ─── ENTER_MNEMONIC ────────────────┤
            ─ import_private_key  ENTER_PRIVATE_KEY ─────────────┼→ PASSWORD → NETWORK ─finish()→ DONE
            ─ import_keystore ─── ENTER_KEYSTORE ────────────────┘

Each input method validates, returns True and moves on, or returns False and leaves the step with
``error`` set. ``back()`` works from every step but DONE. Going back to WELCOME, and finishing, drop every
secret the machine held (phrase, key, keystore and passwords).

Blocking calls (run them with ``asyncio.to_thread``): ``enter_keystore`` (decrypts the file to check its
password) and ``finish`` (creates the wallet). A custom network's chain id is checked by the caller between
``choose_network`` and ``finish``: ``await networks.verify_custom_network(wizard.network_to_verify)``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paygo_desktop.networks import BUILTIN_NETWORKS, SANDBOX, Network, NetworkError, custom_network
from paygo_desktop.settings import Settings
from paygo_desktop.wallet.errors import WalletError
from paygo_desktop.wallet.keychain import PasswordKeychain
from paygo_desktop.wallet.mnemonic import (
    NEW_WORD_COUNTS,
    generate_mnemonic,
    pick_confirmation_positions,
    validate_mnemonic,
    wrong_confirmation_answers,
)
from paygo_desktop.wallet.password_policy import check_new_password
from paygo_desktop.wallet.private_keys import parse_private_key

if TYPE_CHECKING:  # only named here: the wizard is drawn before the store (SQLAlchemy) has loaded
    from paygo_desktop.store.accounts import AccountRecord
    from paygo_desktop.store.networks import NetworkRepository
    from paygo_desktop.wallet.wallet import Wallet

FIRST_ACCOUNT_LABEL = "Account 1"
CUSTOM_NETWORK_KEY = "custom"


class Step(enum.Enum):
    WELCOME = "welcome"
    SHOW_MNEMONIC = "show_mnemonic"
    CONFIRM_WORDS = "confirm_words"
    ENTER_MNEMONIC = "enter_mnemonic"
    ENTER_PRIVATE_KEY = "enter_private_key"
    ENTER_KEYSTORE = "enter_keystore"
    PASSWORD = "password"
    NETWORK = "network"
    DONE = "done"


class Choice(enum.Enum):
    CREATE = "create"
    IMPORT_MNEMONIC = "import_mnemonic"
    IMPORT_PRIVATE_KEY = "import_private_key"
    IMPORT_KEYSTORE = "import_keystore"


_FIRST_STEP = {
    Choice.CREATE: Step.SHOW_MNEMONIC,
    Choice.IMPORT_MNEMONIC: Step.ENTER_MNEMONIC,
    Choice.IMPORT_PRIVATE_KEY: Step.ENTER_PRIVATE_KEY,
    Choice.IMPORT_KEYSTORE: Step.ENTER_KEYSTORE,
}
NETWORK_OPTIONS = (*((n.key, n.name) for n in BUILTIN_NETWORKS), (CUSTOM_NETWORK_KEY, "Custom network"))
_SECRET_STEP = {**_FIRST_STEP, Choice.CREATE: Step.CONFIRM_WORDS}  # the step just before PASSWORD


@dataclass(frozen=True)
class StepView:
    """What the GUI needs to draw the current step."""

    step: Step
    choice: Choice | None
    error: str | None
    can_go_back: bool
    words: tuple[str, ...] = ()  # SHOW_MNEMONIC only
    word_count: int = 12
    word_count_options: tuple[int, ...] = NEW_WORD_COUNTS
    positions: tuple[int, ...] = ()  # CONFIRM_WORDS: 1-based word numbers to ask for
    can_remember_password: bool = False
    remember_password: bool = False
    network_options: tuple[tuple[str, str], ...] = ()  # NETWORK: (key, name), "custom" last
    network_key: str = SANDBOX.key


@dataclass(frozen=True)
class OnboardingResult:
    account: AccountRecord
    network: Network
    remembered_password: bool
    warnings: tuple[str, ...] = ()


class OnboardingWizard:
    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        new_mnemonic: Callable[[int], str] = generate_mnemonic,
        keychain_available: bool = False,
    ) -> None:
        self._rng = rng
        self._new_mnemonic = new_mnemonic
        self.keychain_available = keychain_available
        self.step = Step.WELCOME
        self.choice: Choice | None = None
        self.error: str | None = None
        self._word_count = 12
        self._positions: tuple[int, ...] = ()
        self._remember = False
        self._network: Network = SANDBOX
        self._network_chosen = False
        self._mnemonic: str | None = None
        self._private_key: str | None = None  # hex, validated
        self._keystore_json: str | None = None
        self._keystore_password: str | None = None
        self._keystore_source: str | None = None
        self._password: str | None = None

    # -- what to draw -------------------------------------------------------------------------------
    def view(self) -> StepView:
        return StepView(
            step=self.step,
            choice=self.choice,
            error=self.error,
            can_go_back=self.step not in (Step.WELCOME, Step.DONE),
            words=tuple(self._mnemonic.split()) if self.step is Step.SHOW_MNEMONIC and self._mnemonic else (),
            word_count=self._word_count,
            positions=self._positions if self.step is Step.CONFIRM_WORDS else (),
            can_remember_password=self.keychain_available,
            remember_password=self._remember,
            network_options=NETWORK_OPTIONS,
            network_key=CUSTOM_NETWORK_KEY if not self._network.is_builtin else self._network.key,
        )

    @property
    def has_secrets(self) -> bool:
        return any(
            (self._mnemonic, self._private_key, self._keystore_json, self._keystore_password, self._password)
        )

    @property
    def network_to_verify(self) -> Network | None:
        """The custom network chosen, whose chain id the caller must check before ``finish``."""
        return self._network if self._network_chosen and not self._network.is_builtin else None

    # -- WELCOME ------------------------------------------------------------------------------------
    def choose(self, choice: Choice | str) -> None:
        self._expect(Step.WELCOME)
        self.choice = Choice(choice)
        if self.choice is Choice.CREATE:
            self._mnemonic = self._new_mnemonic(self._word_count)
            self._positions = ()
        self._go(_FIRST_STEP[self.choice])

    # -- create: SHOW_MNEMONIC, CONFIRM_WORDS -------------------------------------------------------
    def set_word_count(self, word_count: int) -> None:
        """Make a new phrase of 12 or 24 words (the one shown is replaced)."""
        self._expect(Step.SHOW_MNEMONIC)
        if word_count not in NEW_WORD_COUNTS:
            raise ValueError(f"word count must be one of {NEW_WORD_COUNTS}")
        if word_count != self._word_count:
            self._word_count = word_count
            self._mnemonic = self._new_mnemonic(word_count)
            self._positions = ()

    def words_written_down(self) -> None:
        self._expect(Step.SHOW_MNEMONIC)
        if not self._positions:
            self._positions = tuple(pick_confirmation_positions(self._word_count, rng=self._rng))
        self._go(Step.CONFIRM_WORDS)

    def confirm_words(self, answers: Mapping[int, str]) -> bool:
        """``answers`` maps each asked position (1-based) to the word the user typed."""
        self._expect(Step.CONFIRM_WORDS)
        assert self._mnemonic is not None
        wrong = wrong_confirmation_answers(self._mnemonic, self._positions, answers)
        if wrong:
            if len(wrong) == 1:
                problem = f"Word #{wrong[0]} does not match"
            else:
                listed = ", ".join(f"#{p}" for p in wrong[:-1]) + f" and #{wrong[-1]}"
                problem = f"Words {listed} do not match"
            return self._fail(f"{problem} your recovery phrase. Check what you wrote down.")
        return self._go(Step.PASSWORD)

    # -- imports ------------------------------------------------------------------------------------
    def enter_mnemonic(self, text: str) -> bool:
        self._expect(Step.ENTER_MNEMONIC)
        try:
            self._mnemonic = validate_mnemonic(text)
        except WalletError as exc:
            return self._fail(str(exc))
        return self._go(Step.PASSWORD)

    def enter_private_key(self, text: str) -> bool:
        self._expect(Step.ENTER_PRIVATE_KEY)
        try:
            self._private_key = parse_private_key(text).hex()
        except WalletError as exc:
            return self._fail(str(exc))
        return self._go(Step.PASSWORD)

    def enter_keystore(self, json_text: str, keystore_password: str, source_name: str | None = None) -> bool:
        """Check the file opens with its password, and go on. Blocking (scrypt); a GUI runs
        ``check_keystore`` in a thread and gives its answer to ``keystore_checked`` on its own."""
        problem = self.check_keystore(json_text, keystore_password, source_name)
        return self.keystore_checked(json_text, keystore_password, source_name, problem)

    @staticmethod
    def check_keystore(json_text: str, keystore_password: str, source_name: str | None = None) -> str | None:
        """Why the file does not open with its password, or None if it does. Blocking (scrypt): safe to run
        in a thread, it changes nothing."""
        from paygo_desktop.wallet.keystore_files import decrypt_keystore, parse_keystore

        source = source_name or "the keystore"
        try:
            decrypt_keystore(parse_keystore(json_text, source), keystore_password, source)
        except WalletError as exc:
            return str(exc)
        return None

    def keystore_checked(
        self, json_text: str, keystore_password: str, source_name: str | None, problem: str | None
    ) -> bool:
        """``check_keystore``'s answer for this file and password, applied: on to the password, or the
        problem said."""
        self._expect(Step.ENTER_KEYSTORE)
        if problem is not None:
            return self._fail(problem)
        self._keystore_json, self._keystore_password, self._keystore_source = (
            json_text,
            keystore_password,
            source_name,
        )
        return self._go(Step.PASSWORD)

    # -- PASSWORD, NETWORK --------------------------------------------------------------------------
    def set_password(self, password: str, confirmation: str, *, remember: bool = False) -> bool:
        self._expect(Step.PASSWORD)
        try:
            check_new_password(password, confirmation)
        except WalletError as exc:
            return self._fail(str(exc))
        self._password = password
        self._remember = remember and self.keychain_available
        return self._go(Step.NETWORK)

    def choose_network(
        self, key: str, *, name: str = "", rpc_url: str = "", chain_id: str | int = ""
    ) -> bool:
        """A built-in network by key, or ``"custom"`` with a name, RPC address and chain id (form only)."""
        self._expect(Step.NETWORK)
        if key == CUSTOM_NETWORK_KEY:
            try:
                number = int(str(chain_id).strip())
            except ValueError:
                return self._fail("The chain id must be a whole number.")
            try:
                self._network = custom_network(name, rpc_url, number)
            except NetworkError as exc:
                return self._fail(str(exc))
        else:
            network = next((n for n in BUILTIN_NETWORKS if n.key == key), None)
            if network is None:
                raise ValueError(f"unknown network {key!r}")
            self._network = network
        self._network_chosen = True
        self.error = None
        return True

    def finish(
        self,
        wallet: Wallet,
        settings: Settings,
        *,
        networks: NetworkRepository | None = None,
        keychain: PasswordKeychain | None = None,
    ) -> OnboardingResult:
        """Create the wallet, save the network (and a custom one into ``networks``), remember the password.

        Blocking: run it in a thread. On a ``WalletError`` the step stays NETWORK with ``error`` set and
        the error is raised again; nothing is half-created (the wallet undoes its own partial writes).
        """
        self._expect(Step.NETWORK)
        password = self._password
        if not self._network_chosen or password is None or self.choice is None:
            raise RuntimeError("choose a network (and a password) before finishing")
        try:
            account = self._create(wallet, password)
        except WalletError as exc:
            self._fail(str(exc))
            raise
        warnings: list[str] = []
        if not self._network.is_builtin and networks is not None:
            networks.save_custom(self._network)
        remembered = False
        if self._remember:
            try:
                (keychain or PasswordKeychain()).remember(wallet.wallet_id, password)
                remembered = True
            except WalletError as exc:
                warnings.append(f"The password was not remembered: {exc}")
        settings.network = self._network.key
        settings.active_account = account.address
        settings.remember_password = remembered
        settings.save()
        self._drop_secrets()
        self._go(Step.DONE)
        return OnboardingResult(account, self._network, remembered, tuple(warnings))

    def _create(self, wallet: Wallet, password: str) -> AccountRecord:
        if self.choice in (Choice.CREATE, Choice.IMPORT_MNEMONIC):
            assert self._mnemonic is not None
            return wallet.create_from_mnemonic(self._mnemonic, password, FIRST_ACCOUNT_LABEL)
        if self.choice is Choice.IMPORT_PRIVATE_KEY:
            assert self._private_key is not None
            return wallet.import_private_key(self._private_key, password, FIRST_ACCOUNT_LABEL)
        assert self._keystore_json is not None and self._keystore_password is not None
        return wallet.import_keystore(
            self._keystore_json, self._keystore_password, password, FIRST_ACCOUNT_LABEL, self._keystore_source
        )

    # -- moving -------------------------------------------------------------------------------------
    def back(self) -> bool:
        """One step back; False (and nothing changes) at WELCOME and DONE."""
        if self.step in (Step.WELCOME, Step.DONE):
            return False
        assert self.choice is not None
        if self.step is _FIRST_STEP[self.choice]:
            self._drop_secrets()
            self.choice = None
            self._positions = ()
            self._go(Step.WELCOME)
        elif self.step is Step.CONFIRM_WORDS:
            self._go(Step.SHOW_MNEMONIC)
        elif self.step is Step.PASSWORD:
            self._password = None
            self._go(_SECRET_STEP[self.choice])
        elif self.step is Step.NETWORK:
            self._network_chosen = False
            self._go(Step.PASSWORD)
        return True

    def clear_error(self) -> None:
        """The user changed what the error was about."""
        self.error = None

    def _expect(self, step: Step) -> None:
        if self.step is not step:
            raise RuntimeError(f"the wizard is at {self.step.name}, not {step.name}")

    def _go(self, step: Step) -> bool:
        self.step = step
        self.error = None
        return True

    def _fail(self, message: str) -> bool:
        self.error = message
        return False

    def _drop_secrets(self) -> None:
        self._mnemonic = None
        self._private_key = None
        self._keystore_json = None
        self._keystore_password = None
        self._keystore_source = None
        self._password = None
        self._remember = False
