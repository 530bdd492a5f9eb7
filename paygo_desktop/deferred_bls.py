"""Keeps py_ecc's BLS12-381 and secp256k1 modules from running until something really uses them.

eth-account (which signs every voucher) imports eth-keyfile, and eth-keyfile imports three py_ecc modules
at import time for its EIP-2335 BLS keystores: ``py_ecc.bls`` (the class it calls ``bls``),
``py_ecc.bls12_381`` (for the constant ``curve_order``) and ``py_ecc.secp256k1`` (for the constant ``N``).
Importing them makes py_ecc compute pairing tables at module level: about 0.5 s of CPU in every process
that signs anything (the app's first unlock, each CLI command, the provider's start, every test's
subprocess), for BLS keys this app never has.

``install()`` puts a stand-in for each of the three in ``sys.modules`` before eth-keyfile is imported. A
stand-in carries the two constants (their values are fixed by the curves' definitions and checked against
py_ecc by tests/core/test_deferred_bls.py) and hands eth-keyfile a ``DeferredName`` for the BLS class,
which imports the real module when a method of it is first called (so a BLS keystore would still work,
only slower the first time); any other name asked of a stand-in imports the real module there and then.
The real modules replace the stand-ins in ``sys.modules`` as soon as one is loaded, and a
submodule (``py_ecc.bls.ciphersuites``) imports from the real files as before. Nothing is installed if
py_ecc was imported already.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

BLS12_381_CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

DEFERRED_NAMES = {"py_ecc.bls": "G2ProofOfPossession"}  # what eth-keyfile binds at import and calls later
STAND_INS: dict[str, dict[str, Any]] = {
    "py_ecc.bls": {},
    "py_ecc.bls12_381": {"curve_order": BLS12_381_CURVE_ORDER},
    "py_ecc.secp256k1": {"N": SECP256K1_N},
}


class DeferredModule(types.ModuleType):
    """Stands in for a py_ecc module until one of its names is used."""

    def __init__(self, name: str, constants: dict[str, Any], path: list[str]) -> None:
        super().__init__(name, f"stand-in for {name} until it is used (paygo_desktop.deferred_bls)")
        self.__dict__.update(constants)
        self.__path__ = path  # where its submodules are, so that importing one reads the real file

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if DEFERRED_NAMES.get(self.__name__) == name:
            return DeferredName(self.__name__, name)
        return getattr(real_module(self.__name__), name)  # anything else: the real thing, now


class DeferredName:
    """A name imported from a stand-in: the real object, imported when first touched."""

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name

    def resolve(self) -> Any:
        return getattr(real_module(self._module), self._name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self._module}.{self._name}, not imported yet>"


def real_module(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if only its stand-in is there."""
    current = sys.modules.get(name)
    if current is not None and not isinstance(current, DeferredModule):
        return current
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def install() -> bool:
    """Put the stand-ins in place; False (nothing done) if py_ecc or eth-keyfile is already imported."""
    if any(name in sys.modules for name in ("py_ecc", "eth_keyfile", *STAND_INS)):
        return False
    package = importlib.util.find_spec("py_ecc")  # found, not imported: importing it costs 70 ms
    if package is None or not package.submodule_search_locations:
        return False
    for name, constants in STAND_INS.items():
        child = name.rpartition(".")[2]
        path = [os.path.join(place, child) for place in package.submodule_search_locations]
        sys.modules[name] = DeferredModule(name, constants, path)
    return True
