"""What every HTTP client of the app shares: the certificate store, and httpcore's one missing module.

Building a certificate store reads and parses the CA bundle: 15–25 ms of CPU, a visible stall if it
happens on the event loop, and pointless to repeat for every client or every poll. Build it once, off the
event loop (``await asyncio.to_thread(tls_context)``) or in a module a worker thread imports.

httpcore asks for ``sniffio`` (to tell asyncio from trio) on every request; it is not installed, and a
failed import is not remembered, so every request searched the whole ``sys.path`` for it again (0.2 ms,
on the event loop). Building the context records that it is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import ssl
import sys


@functools.cache
def tls_context() -> ssl.SSLContext:
    import httpx

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # "import sniffio" now fails at once
    return httpx.create_ssl_context()
