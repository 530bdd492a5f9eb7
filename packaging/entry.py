"""The frozen app's entry point: PyInstaller builds the ``paygo-desktop`` executable from this script.

The app starts parts of itself as child processes with ``sys.executable -m paygo_desktop ...`` (the sandbox
from the GUI, the sandbox's provider) and ``sys.executable -m paygo_desktop.sandbox.embedded_node`` (the
sandbox's EVM node when anvil is absent). In a frozen app ``sys.executable`` is this bundle's executable,
not a Python interpreter, so this entry point answers ``-m MODULE`` for the modules of this package the way
Python would; every other command line goes to ``paygo_desktop.cli``, as the installed ``paygo-desktop``
script does.
"""

from __future__ import annotations

import runpy
import sys

OWN_PACKAGE = "paygo_desktop"


def main() -> int:
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
