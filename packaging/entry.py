"""The frozen app's entry point: PyInstaller builds the ``paygo-desktop`` executable from this script.

The app starts parts of itself as child processes with ``sys.executable -m paygo_desktop ...`` (the sandbox
from the GUI, the sandbox's provider) and ``sys.executable -m paygo_desktop.sandbox.embedded_node`` (the
sandbox's EVM node when anvil is absent). In a frozen app ``sys.executable`` is this bundle's executable,
not a Python interpreter, so this entry point answers ``-m MODULE`` for the modules of this package the way
Python would; every other command line goes to ``paygo_desktop.cli``, as the installed ``paygo-desktop``
script does.

On Linux the bootloader puts the bundle's library folder first on LD_LIBRARY_PATH. The dynamic loader has
read it by the time this script runs, so it is given back its original value here: programs the app starts
that are not part of the bundle (anvil, the browser behind "open in explorer") must load their own
libraries, not the bundle's. Children that are this executable get the bundle's path again from the
bootloader.
"""

from __future__ import annotations

import os
import runpy
import sys

OWN_PACKAGE = "paygo_desktop"


def restore_library_path() -> None:
    if not sys.platform.startswith(("linux", "freebsd")):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


def give_windowed_app_stdio() -> None:
    """A windowed Windows build has no console: print() must not fail where there is nowhere to print."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115  (for the process's life)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def main() -> int:
    restore_library_path()
    give_windowed_app_stdio()
    argv = sys.argv
    if len(argv) >= 2 and argv[1] == "-m":
        module = argv[2] if len(argv) >= 3 else ""
        if module != OWN_PACKAGE and not module.startswith(OWN_PACKAGE + "."):
            refused = module or "nothing"
            print(f"paygo-desktop: -m runs only this app's own modules, not {refused}", file=sys.stderr)
            return 2
        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from paygo_desktop.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
