"""Importing eth-account through the app does not run py_ecc's BLS12-381 code (0.5 s of CPU a process),
and what eth-keyfile takes from py_ecc still answers as the real modules do (paygo_desktop.deferred_bls).
Each check runs in a fresh interpreter: this test process has imported eth-account long ago."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_signing_with_eth_account_runs_no_bls_code() -> None:
    seen = run(
        """
        import json, sys
        import paygo_desktop
        from eth_account import Account
        from eth_account.messages import encode_defunct
        acct = Account.from_key("0x" + "11" * 32)
        signed = acct.sign_message(encode_defunct(text="voucher"))
        keystore = Account.encrypt(acct.key, "pw", kdf="scrypt", iterations=2**10)
        back = Account.decrypt(keystore, "pw")
        from paygo_desktop.deferred_bls import DeferredModule
        ran = sorted(m for m, module in sys.modules.items()
                     if m.startswith("py_ecc") and not isinstance(module, DeferredModule))
        recovered = Account.recover_message(encode_defunct(text="voucher"), signature=signed.signature)
        print(json.dumps({"ran": ran, "recovered": recovered, "address": acct.address,
                          "roundtrip": back == acct.key}))
        """
    )
    assert seen["ran"] == [], f"py_ecc modules ran: {seen['ran']}"
    assert seen["recovered"] == seen["address"] and seen["roundtrip"]


def test_the_stand_ins_answer_as_the_real_modules_do() -> None:
    real = run(
        """
        import json
        from py_ecc.bls import G2ProofOfPossession
        from py_ecc.bls12_381 import curve_order
        from py_ecc.secp256k1 import N
        print(json.dumps({"order": curve_order, "n": N, "pk": G2ProofOfPossession.SkToPk(12345).hex()}))
        """
    )
    deferred = run(
        """
        import json, sys
        import paygo_desktop
        import eth_keyfile.keyfile as keyfile
        from paygo_desktop.deferred_bls import DeferredModule
        stood_in = isinstance(sys.modules["py_ecc.bls"], DeferredModule)
        pk = keyfile.bls.SkToPk(12345).hex()  # the BLS class, imported for real on first use
        import py_ecc.bls12_381 as curve
        g1 = curve.G1  # any other name: the real module's
        print(json.dumps({"order": keyfile.curve_order, "n": keyfile.N, "pk": pk, "stood_in": stood_in,
                          "g1_is_real": type(g1).__name__ == "tuple"}))
        """
    )
    assert deferred["stood_in"] and deferred["g1_is_real"]
    assert (deferred["order"], deferred["n"], deferred["pk"]) == (real["order"], real["n"], real["pk"])
